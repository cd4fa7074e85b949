"""A worker killed mid-job, and ten uploads at once."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from tests.e2e.client import StackClient
from tests.e2e.data import enlarged_pos, shipped


def _dask_worker_processes(stack) -> list[psutil.Process]:
    """The processes that run tasks: `dask worker` (watchmedo restarts it) and, with a nanny, its children."""
    found = []
    for proc in psutil.Process(stack.process.pid).children(recursive=True):
        try:
            cmd = proc.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if cmd and cmd[0] != "/bin/sh" and "watchmedo" not in " ".join(cmd) and "worker" in cmd and \
                any(c.endswith("/dask") for c in cmd):
            found.append(proc)
            found += proc.children(recursive=True)
    return found


def test_a_worker_killed_mid_job_is_retried_or_fails_clearly(stack, client: StackClient) -> None:
    if not stack.local:
        pytest.skip("kills worker processes of the local stack; on a cluster, tests/cluster deletes a worker pod")
    job_id = client.submit({"pos": enlarged_pos(8)}, {"project_name": "killed", "search_dsstox": "no"})
    deadline = time.monotonic() + 60
    while client.status(job_id)["status"] != "processing":
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.05)
    victims = _dask_worker_processes(stack)
    assert victims, "found no Dask worker process to kill"
    for proc in victims:
        proc.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    status, _ = client.wait(job_id, timeout=150)
    waited = time.monotonic() - killed_at
    assert status["status"] in ("completed", "failed"), f"still {status['status']} {waited:.0f} s after the kill"
    if status["status"] == "failed":
        assert status["error"]["message"] and status["error"]["step"], status
    else:
        assert status.get("attempts", 2) >= 2, status
    print(f"\nworker killed: job {status['status']} {waited:.1f} s later")


def test_ten_concurrent_uploads_all_complete(stack) -> None:
    files = shipped("pos", "run_sequence_pos")

    def one(i: int) -> str:
        return StackClient(stack.base_url).submit(files, {"project_name": f"concurrent {i}", "search_dsstox": "no"})

    with ThreadPoolExecutor(10) as pool:
        job_ids = list(pool.map(one, range(10)))
    assert len(set(job_ids)) == 10
    client = StackClient(stack.base_url)
    finals = [client.wait(job_id, timeout=300, interval=0.5)[0] for job_id in job_ids]
    assert [f["status"] for f in finals] == ["completed"] * 10, [f.get("error") for f in finals]

"""A worker killed mid-job, a job abandoned by its worker, and ten uploads at once."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from nta_pipeline.jobstore import JobStore
from nta_pipeline.params import Parameters
from tests.e2e.client import StackClient
from tests.e2e.conftest import LOCAL_LEASE_S
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


def _kill_workers_mid_job(stack, client: StackClient) -> tuple[str, float] | None:
    """Submit a big job, SIGKILL the workers while it runs; (job id, kill time) or None if it finished first."""
    job_id = client.submit({"pos": enlarged_pos(12)}, {"project_name": "killed", "search_dsstox": "no"})
    client.wait_running(job_id)
    victims = _dask_worker_processes(stack)
    assert victims, "found no Dask worker process to kill"
    for proc in victims:
        proc.send_signal(signal.SIGKILL)
    killed_at = time.time()
    after = client.status(job_id)
    return None if after["status"] == "completed" else (job_id, killed_at)


def test_a_worker_killed_mid_job_is_retried_or_fails_clearly(stack, client: StackClient) -> None:
    if not stack.local:
        pytest.skip("kills worker processes of the local stack; tests/images kills the worker container, tests/cluster "
                    "deletes a worker pod")
    for _ in range(3):  # a loaded machine may let the job finish between the poll and the kill: try again
        killed = _kill_workers_mid_job(stack, client)
        if killed:
            break
    else:
        pytest.fail("the job finished before the worker could be killed, three times")
    job_id, killed_at = killed
    status, _ = client.wait(job_id, timeout=150)
    waited = time.time() - killed_at
    assert status["status"] in ("completed", "failed"), f"still {status['status']} {waited:.0f} s after the kill"
    if status["status"] == "failed":
        assert status["error"]["message"] and status["error"]["step"], status
    else:
        assert status["attempts"] >= 2, status
    print(f"\nworker killed: job {status['status']} after attempt {status['attempts']}, {waited:.1f} s later")


def test_a_job_abandoned_by_its_worker_fails_without_anyone_reading_it(stack, client: StackClient) -> None:
    # The scheduler's reaper (nta_pipeline.reaper) does it; watched through the REST API, which never expires jobs.
    if not stack.local:
        pytest.skip("plays a worker against the local stack's database")
    store = JobStore.from_url(stack.mongo_url)
    job_id = store.create_job("abandoned", Parameters().as_dict(), {})
    assert store.claim(job_id) is not None
    store.jobs.update_one({"_id": job_id}, {"$set": {"heartbeat": time.time() - LOCAL_LEASE_S - 1}})
    deadline = time.monotonic() + 60
    while (doc := client.http.get(client.url(f"/nta/rest/jobs/{job_id}"), timeout=30).json())["status"] != "failed":
        assert doc["status"] == "processing", doc
        assert time.monotonic() < deadline, "the abandoned job was still processing after 60 s"
        time.sleep(0.5)
    assert doc["error"]["step"] == "Starting" and "stopped responding" in doc["error"]["message"], doc


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

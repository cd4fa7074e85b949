"""The whole e2e suite (tests/e2e) against the prod-target container stack, through the nginx container: the
images users deploy, wired by the configuration contract, with the reference seed loaded (start_container_stack
does that, as the local stack does).

The suite runs as its own pytest process with --base-url, exactly as a developer runs it against any stack; its
worker-kill and abandoned-job tests skip there (they play with the processes and database of stacks the suite
started itself). The worker kill is done here instead, on the worker container, after the suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial

import pytest

from nta_dev.images.build import REPO
from nta_dev.stack.containers import ContainerStack, start_container_stack, worker_count
from tests.e2e.client import StackClient
from tests.e2e.data import enlarged_pos

SUITE_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def prod_stack(built) -> Iterator[ContainerStack]:
    running = start_container_stack("prod")
    try:
        yield running
    finally:
        running.stop()


def test_the_e2e_suite_passes_against_the_prod_containers(prod_stack: ContainerStack) -> None:
    cmd = [sys.executable, "-m", "pytest", "tests/e2e", "-q", "--base-url", prod_stack.base_url,
           "-p", "no:cacheprovider"]  # fmt: skip
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=REPO, env=os.environ.copy(), capture_output=True, text=True,
                              timeout=SUITE_TIMEOUT_S)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"the e2e suite ran past {SUITE_TIMEOUT_S} s against {prod_stack.base_url}:\n{out[-4000:]}")
    print(f"\ne2e suite against the prod containers: {time.monotonic() - started:.0f} s\n{done.stdout[-400:]}")
    if done.returncode != 0:
        logs = "\n".join(f"--- {s} ---\n{prod_stack.logs(s, 30)}" for s in ("django", "worker", "flask"))
        tail = (done.stdout + done.stderr)[-6000:]
        pytest.fail(f"`{' '.join(cmd)}` exited with {done.returncode}:\n{tail}\ncontainer logs:\n{logs}",
                    pytrace=False)  # fmt: skip
    assert " passed" in done.stdout.splitlines()[-1]  # it ran tests, and none failed


def _running(client: StackClient, job_id: str) -> bool:
    status = client.status(job_id)
    assert status["status"] in ("queued", "processing"), status
    return status["status"] == "processing" and status["progress"] >= 0.01


def _until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(0.2)


def test_a_worker_container_killed_mid_job_is_retried(prod_stack: ContainerStack) -> None:
    # What a node failure does to a worker pod: SIGKILL to the container, then its Deployment starts a new one.
    client = StackClient(prod_stack.base_url)
    worker = prod_stack.containers["worker"]
    for _ in range(3):  # a loaded machine may let the job finish between the poll and the kill: try again
        job_id = client.submit({"pos": enlarged_pos(12)}, {"project_name": "killed container", "search_dsstox": "no"})
        _until(partial(_running, client, job_id), "the job started")
        worker.kill()
        killed_at = time.monotonic()
        if client.status(job_id)["status"] != "completed":
            break
        worker.start()
        _until(lambda: worker_count(prod_stack.base_url) == 1, "the worker came back")
    else:
        pytest.fail("the job finished before the worker container could be killed, three times")
    # The scheduler drops the dead worker (its connection closed) before the restarted one, of the same name, joins.
    _until(lambda: worker_count(prod_stack.base_url) == 0, "the scheduler noticed the dead worker", timeout=30)
    worker.start()
    status, _ = client.wait(job_id, timeout=180, interval=0.5)
    waited = time.monotonic() - killed_at
    print(f"\nworker container killed: job {status['status']} after attempt {status.get('attempts')}, {waited:.1f} s")
    assert status["status"] == "completed", f"{status}\n{prod_stack.logs('worker', 30)}"
    assert status["attempts"] == 2, status

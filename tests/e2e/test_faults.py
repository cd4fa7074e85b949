"""Faults on the local stack, nothing lost: MongoDB frozen for 10 s mid-job (the job completes, liveness stays up,
readiness goes down), and a queued job the scheduler does not know (as after a scheduler restart) is submitted
again by the scheduler's reaper and completes.

honcho stops the whole stack when one of its processes exits, so MongoDB is frozen (SIGSTOP/SIGCONT) rather than
stopped, and its open connections are reset (`ss -K`, as root): operations in flight fail at once and new ones time
out, as when the MongoDB pod is gone. Without the reset a frozen server only delays operations in flight, which
needs no retry. tests/runner/test_faults.py stops and restarts one (connections refused), restarts a real Dask
scheduler with jobs queued, and takes the search API away mid-job."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest

from nta_pipeline.jobstore import JobStore
from nta_pipeline.params import Parameters
from tests.e2e.client import StackClient
from tests.e2e.conftest import LOCAL_LEASE_S
from tests.e2e.data import enlarged_pos, shipped
from tests.fixtures.require import unavailable

OUTAGE_S = 10.0  # shorter than the stack's lease (LOCAL_LEASE_S), as the guarantee says
HANG_GUARD_S = 240.0


def _mongo_process(stack) -> psutil.Process:
    port = stack.mongo_url.rsplit(":", 1)[1]
    for proc in psutil.Process(stack.process.pid).children(recursive=True):
        try:
            cmd = proc.cmdline()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if cmd and cmd[0] != "/bin/sh" and any("nx-27017" in c for c in cmd) and port in cmd:
            return proc
    raise AssertionError("found no nx-27017 process in the local stack")


def _stack_log(stack) -> Path:
    # The local stack's output file (its stdout), where the worker logs the retries it made.
    for f in psutil.Process(stack.process.pid).open_files():
        if f.path.endswith(".log") and "local-stack" in f.path:
            return Path(f.path)
    raise AssertionError("cannot find the local stack's log file")


def _reset_connections(port: str) -> None:
    """Abort every TCP connection to the port (clients see ECONNABORTED), like a MongoDB pod that went away."""
    done = subprocess.run(["ss", "-K", "-t", "dst", "127.0.0.1", "dport", "=", port], capture_output=True, text=True,
                          timeout=30, check=False)  # fmt: skip
    assert done.returncode == 0, f"ss -K failed: {done.stderr}"


def _as_utc(value: object) -> datetime:
    # The stand-in returns dates written by $set as ISO strings.
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(parsed, datetime), value
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _get(client: StackClient, path: str) -> int:
    return client.http.get(client.url(path), timeout=30).status_code


def test_mongodb_frozen_10s_mid_job_the_job_completes_and_liveness_stays_up(stack, client: StackClient) -> None:
    if not stack.local:
        pytest.skip("freezes the local stack's MongoDB; on a cluster: delete the MongoDB pod (tests/cluster)")
    if os.geteuid() != 0 or not shutil.which("ss"):
        unavailable("resetting MongoDB's connections needs root and ss (iproute2); a bare freeze proves no retry")
    assert OUTAGE_S < LOCAL_LEASE_S
    mongo = _mongo_process(stack)
    log = _stack_log(stack)
    # Again when the job finished before the freeze, or the outage fell between two of its writes (nothing to retry).
    for _ in range(3):
        job_id = client.submit({"pos": enlarged_pos(12)}, {"project_name": "mongo outage", "search_dsstox": "no"})
        client.wait_running(job_id)
        mongo.send_signal(signal.SIGSTOP)
        frozen_at = datetime.now(UTC)
        try:
            _reset_connections(stack.mongo_url.rsplit(":", 1)[1])
            # While MongoDB is away: liveness answers (no restart), readiness does not (out of the Service).
            live = {path: _get(client, path) for path in ("/nta/healthz?probe=live", "/nta/rest/healthz?probe=live")}
            ready = {path: _get(client, path) for path in ("/nta/healthz", "/nta/rest/healthz")}
            time.sleep(max(0.0, OUTAGE_S - (datetime.now(UTC) - frozen_at).total_seconds()))
        finally:
            mongo.send_signal(signal.SIGCONT)
        assert live == {"/nta/healthz?probe=live": 200, "/nta/rest/healthz?probe=live": 200}, live
        assert ready == {"/nta/healthz": 503, "/nta/rest/healthz": 503}, ready
        status, _ = client.wait(job_id, timeout=HANG_GUARD_S, interval=0.5)
        assert status["status"] == "completed", status.get("error")
        doc = JobStore.from_url(stack.mongo_url).jobs.find_one({"_id": job_id}, {"finished_at": 1, "attempts": 1})
        retried = f"job {job_id}: update: MongoDB unreachable" in log.read_text(errors="replace")
        if _as_utc(doc["finished_at"]) > frozen_at and retried:
            break  # it ran across the outage, and its writes met it
    else:
        pytest.fail("three times, the job finished before the freeze or made no write during it")
    assert doc["attempts"] == 1, doc  # ran through: neither failed by the reaper nor retried on another claim
    # The summary, not the workbook: the stand-in cannot send this 12-fold workbook's chunks (one batch > 48 MB).
    summary = client.file(job_id, "summary")
    assert summary.status_code == 200 and summary.json()["final_features"] > 0


def test_a_queued_job_the_scheduler_does_not_know_is_submitted_again(stack, client: StackClient) -> None:
    # As after a scheduler restart: the job is queued in MongoDB, its task is gone. The scheduler's reaper submits it
    # again once it has waited a lease (the inputs are in GridFS).
    if not stack.local:
        pytest.skip("writes a job straight into the local stack's database; on a cluster: restart the scheduler pod")
    store = JobStore.from_url(stack.mongo_url)
    params = Parameters(project_name="lost in the queue", search_dsstox="no").as_dict()
    job_id = store.create_job("lost in the queue", params, shipped("pos", "run_sequence_pos"))
    status, _ = client.wait(job_id, timeout=HANG_GUARD_S, interval=0.5)  # never submitted by anyone but the reaper
    assert status["status"] == "completed", f"{status['status']} after {HANG_GUARD_S:.0f} s: {status.get('error')}"
    assert store.jobs.find_one({"_id": job_id}, {"submissions": 1})["submissions"] == 2

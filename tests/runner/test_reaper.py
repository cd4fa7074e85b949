"""The scheduler's job reaper: a real Dask scheduler started with `--preload nta_pipeline.reaper` fails a job whose
worker went silent without anyone reading it, and leaves a job whose worker still beats alone."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest
from distributed import Scheduler

from nta_pipeline.jobstore import JobStore
from nta_pipeline.params import Parameters
from nta_pipeline.reaper import JobReaper, sweep_interval

LEASE_S = 1


def _raw(store: JobStore, job_id: str) -> dict:
    # Straight from the collection: JobStore.get would expire the job itself and prove nothing about the reaper.
    return store.jobs.find_one({"_id": job_id})


async def _with_scheduler(seconds: float) -> dict:
    async with Scheduler(preload=["nta_pipeline.reaper"], dashboard_address=None, port=0, host="127.0.0.1") as s:
        plugins = sorted(s.plugins)
        await asyncio.sleep(seconds)
    return {"plugins": plugins}


def test_the_scheduler_fails_a_silent_job_and_spares_a_beating_one(
    store: JobStore, mongo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NTA_MONGO_URL", mongo_url)
    monkeypatch.setenv("NTA_DB_NAME", store.db.name)
    monkeypatch.setenv("NTA_JOB_LEASE_SECONDS", str(LEASE_S))
    params = Parameters().as_dict()
    silent = store.create_job("silent", params, {})
    beating = store.create_job("beating", params, {})
    store.claim(silent)  # a worker took it and died: no heartbeat from now on
    alive = store.claim(beating)
    assert alive is not None
    stop = threading.Event()

    def beat() -> None:  # the worker of the other job keeps its lease, as JobStore.heartbeating does
        while not stop.wait(0.2):
            store.heartbeat(alive)

    beater = threading.Thread(target=beat)
    beater.start()
    try:
        seen = asyncio.run(_with_scheduler(LEASE_S + 2 * sweep_interval(LEASE_S) + 0.5))
    finally:
        stop.set()
        beater.join()
    assert "nta-job-reaper" in seen["plugins"]
    failed = _raw(store, silent)
    assert failed["status"] == "failed", failed
    assert "stopped responding" in failed["error"]["message"] and failed["error"]["step"] == "Starting"
    assert _raw(store, beating)["status"] == "processing"


def test_without_a_mongo_url_the_scheduler_runs_and_says_the_reaper_is_off(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("NTA_MONGO_URL", raising=False)
    with caplog.at_level(logging.WARNING, logger="nta_pipeline.reaper"):
        seen = asyncio.run(_with_scheduler(0))
    assert "nta-job-reaper" not in seen["plugins"]
    assert "job reaper OFF: NTA_MONGO_URL is not set" in caplog.text


def test_an_unreachable_database_is_logged_once_and_the_sweep_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    reaper = JobReaper(JobStore.from_url("mongodb://127.0.0.1:9", timeout_ms=200), interval=1)
    with caplog.at_level(logging.WARNING, logger="nta_pipeline.reaper"):
        started = time.monotonic()
        assert asyncio.run(reaper.sweep()) == 0
        assert asyncio.run(reaper.sweep()) == 0
    assert caplog.text.count("cannot reach MongoDB") == 1
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(("lease", "interval"), [(60, 15), (20, 5), (2, 1), (1000, 15)])
def test_sweep_interval_is_a_quarter_lease_within_1_to_15_s(lease: float, interval: float) -> None:
    assert sweep_interval(lease) == interval

"""Scheduler preload: fail the jobs whose worker went silent, even when nobody reads them.

`dask scheduler --preload nta_pipeline.reaper` adds a scheduler plugin that calls JobStore.expire_stale every
quarter lease (1 to 15 s). Django's reads and every job start do the same, but a job watched only through the REST
API, or on a stack with no further jobs, would otherwise stay "processing" after its worker died for good.
The same plugin runs retention (NTA_JOB_RETENTION_HOURS): JobStore.ensure_indexes once, then JobStore.sweep_expired
every RETENTION_SWEEP_SECONDS, deleting expired jobs with their GridFS files.

A scheduler that restarts forgets the tasks it held: their jobs would stay "queued" for ever. Each pass also asks
JobStore.requeue_lost for queued jobs older than a lease with no task in this scheduler and submits them again (the
inputs are in GridFS), through a client of this scheduler; after MAX_SUBMISSIONS the job is failed, naming why.

Settings come from the configuration contract (NTA_MONGO_URL, NTA_DB_NAME, NTA_JOB_LEASE_SECONDS,
NTA_JOB_RETENTION_HOURS), as on workers.
https://distributed.dask.org/en/stable/plugins.html#scheduler-plugins
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from distributed.diagnostics.plugin import SchedulerPlugin

from .errors import NtaError
from .jobstore import JobStore

log = logging.getLogger("nta_pipeline.reaper")
# Expired jobs are deleted at most this late; the TTL index (jobstore.TTL_GRACE_SECONDS) only backs this up.
RETENTION_SWEEP_SECONDS = 300.0


def sweep_interval(lease_seconds: float) -> float:
    """How often to look: a lost job is failed at most a quarter lease after its lease ran out."""
    return min(max(lease_seconds / 4, 1.0), 15.0)


class JobReaper(SchedulerPlugin):
    name = "nta-job-reaper"

    def __init__(self, store: JobStore, interval: float, retention_interval: float = RETENTION_SWEEP_SECONDS):
        self.store = store
        self.scheduler: Any = None
        self._client: Any = None  # a distributed.Client of this scheduler, made at the first resubmission
        self.interval = interval
        self.retention_interval = retention_interval
        self._task: asyncio.Task | None = None
        self._failing = False  # log a database outage once, not every sweep
        self._indexed = False  # ensure_indexes succeeded once
        self._next_retention = 0.0  # monotonic time of the next retention sweep: the first pass does one

    async def start(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self._task = asyncio.create_task(self._run())
        log.info("job reaper: every %g s, jobs silent for %g s are failed", self.interval, self.store.lease_seconds)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.sweep()
            await self.requeue()
            if time.monotonic() >= self._next_retention:
                self._next_retention = time.monotonic() + self.retention_interval
                await self.sweep_retention()

    async def sweep(self) -> int:
        """One pass (pymongo blocks: off the scheduler's event loop); returns how many jobs were failed."""
        try:
            expired = await asyncio.to_thread(self.store.expire_stale)
        except Exception as exc:  # the database may be restarting: keep the scheduler up, try again later
            if not self._failing:
                log.warning("job reaper: cannot reach MongoDB (%s: %s); retrying every %g s",
                            type(exc).__name__, exc, self.interval)  # fmt: skip
            self._failing = True
            return 0
        if self._failing:
            log.info("job reaper: MongoDB answers again")
        self._failing = False
        if expired:
            log.warning("job reaper: failed %d job(s) whose worker stopped responding", expired)
        return expired

    async def requeue(self) -> int:
        """Submit again the queued jobs this scheduler has no task for; returns how many were submitted."""
        if self.scheduler is None:
            return 0
        from .runner import task_key

        known = set(self.scheduler.tasks)  # read on the event loop, which is what changes it
        try:
            job_ids, failed = await asyncio.to_thread(self.store.requeue_lost, lambda j: task_key(j) in known)
        except Exception as exc:  # as in sweep(): the database may be away; the next pass looks again
            if not self._failing:
                log.warning("job reaper: cannot look for lost queued jobs (%s: %s)", type(exc).__name__, exc)
            return 0
        if failed:
            log.warning("job reaper: failed %d queued job(s) the scheduler lost too often", failed)
        if not job_ids:
            return 0
        try:
            await self._submit(job_ids)
        except Exception as exc:  # their queue clock was reset: the next pass after a lease tries again
            log.warning("job reaper: could not submit %d lost job(s) again (%s: %s)", len(job_ids),
                        type(exc).__name__, exc)  # fmt: skip
            return 0
        log.warning("job reaper: submitted %d queued job(s) again that this scheduler did not know (restarted?): %s",
                    len(job_ids), ", ".join(job_ids))  # fmt: skip
        return len(job_ids)

    async def _submit(self, job_ids: list[str]) -> None:
        from distributed import Client, fire_and_forget

        from .runner import run_job, task_key

        if self._client is None or self._client.status not in ("running", "connecting"):
            # A client like Django's, on the scheduler's own event loop: the tasks enter the graph as submitted ones.
            self._client = await Client(self.scheduler.address, asynchronous=True, set_as_default=False,
                                        name="nta-job-reaper")  # fmt: skip
        for job_id in job_ids:
            fire_and_forget(self._client.submit(run_job, job_id, key=task_key(job_id), pure=False))

    async def sweep_retention(self) -> tuple[int, int]:
        """Indexes (until created once), then delete expired jobs and their files; returns (jobs, files)."""
        try:
            if not self._indexed:
                await asyncio.to_thread(self.store.ensure_indexes)
                self._indexed = True
            jobs, files = await asyncio.to_thread(self.store.sweep_expired)
        except Exception as exc:  # as in sweep(): the next pass retries
            log.warning("retention sweep failed (%s: %s); retrying in %g s", type(exc).__name__, exc,
                        self.retention_interval)  # fmt: skip
            return 0, 0
        if jobs or files:
            log.info("retention: deleted %d expired job(s) and %d file(s)", jobs, files)
        return jobs, files


def dask_setup(scheduler: Any) -> None:
    """Dask's preload hook."""
    from .runner import RunnerSettings

    try:
        settings = RunnerSettings.from_env()
    except NtaError as exc:
        # The scheduler still schedules; say loudly that lost jobs are only caught when read.
        log.warning("job reaper OFF: %s", exc)
        return
    store = JobStore.from_url(settings.mongo_url, settings.db_name, lease_seconds=settings.lease_seconds)
    scheduler.add_plugin(JobReaper(store, sweep_interval(settings.lease_seconds)))
    hours = store.retention_hours
    log.info("job retention: %s", f"{hours:g} h (NTA_JOB_RETENTION_HOURS)" if hours > 0 else "off, jobs kept for ever")

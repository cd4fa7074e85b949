"""Job documents and their files in MongoDB: the one place that knows the job schema.

Django creates jobs and reads them, the Dask runner claims, updates and finishes them, Flask serves them as JSON.

Schema (collection ``jobs``; files in the GridFS bucket ``fs``)::

    _id           str, 32 hex characters
    project_name  str
    owner         who submitted it (the identity the auth proxy vouched for), or None with authentication off
    status        "queued" | "processing" | "completed" | "failed"
    step          name of the current (or failing) workflow step
    progress      0.0 .. 1.0
    created_at, started_at, finished_at, updated_at   UTC datetimes
    heartbeat     epoch seconds of the runner's last sign of life (a number: compares the same on every server);
                  while queued: when it was last handed to the scheduler
    submissions   how many times it was handed to a scheduler (absent: once); see requeue_lost
    attempts      how many times a worker claimed the job
    lease         token of the current (or finishing) claim: updates from an older claim (a worker presumed dead)
                  are ignored
    error         {"step", "message"} or None
    parameters    Parameters.as_dict()
    inputs        {role: {file_id, filename, size}}
    results       {name: {file_id, filename, content_type, size}}
    summary       the workflow's summary.json
    expires_at    UTC datetime after which the job and its files are deleted; None: kept (retention 0 when created)

GridFS files carry metadata ``job_id`` and, with retention on, ``expires_at_epoch`` (the job's expiry in epoch
seconds: the stand-in nx-27017 cannot store dates in GridFS metadata).

A worker that dies stops its heartbeat. Dask reschedules its task on another worker, which claims the job again
(attempt 2 of MAX_ATTEMPTS); a job whose heartbeat is older than the lease is marked failed by the scheduler's
reaper (reaper.py), or sooner by whoever reads it next.

Retention (NTA_JOB_RETENTION_HOURS, default 168, 0 keeps everything): the scheduler's reaper calls sweep_expired,
which deletes an expired job's GridFS files, then the job. A TTL index on ``expires_at`` is the backstop when no
scheduler sweeps; it fires TTL_GRACE_SECONDS late so that it never races the sweep, since a TTL deletion cannot
follow the job into GridFS (files whose job is gone are still found by their own ``expires_at_epoch``).

Faults: the driver's timeouts are explicit (DRIVER_OPTIONS). The worker's writes (claim, progress, heartbeats,
result files, the final status) are retried with backoff for up to a lease (`retrying`), so a MongoDB outage
shorter than the lease does not fail a running job, and a longer one has lost the job to the reaper anyway.
A queued job the scheduler forgot (it restarted before a worker took the job) is handed to it again by the
reaper (requeue_lost), at most MAX_SUBMISSIONS times, then failed naming why.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any, TypeVar

from bson import ObjectId
from gridfs import GridFSBucket
from gridfs.errors import NoFile
from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
from pymongo.database import Database
from pymongo.errors import ConnectionFailure

from .errors import NtaError

JOBS = "jobs"
MAX_ATTEMPTS = 2
INPUT_ROLES = ("pos", "neg", "tracers", "run_sequence_pos", "run_sequence_neg")
ACTIVE = ("queued", "processing")
RETENTION_ENV = "NTA_JOB_RETENTION_HOURS"
DEFAULT_RETENTION_HOURS = 168.0
# The TTL index deletes a job this long after its expiry: only when the sweep (every RETENTION_SWEEP_SECONDS in
# reaper.py) has not run, e.g. no scheduler for an hour.
TTL_GRACE_SECONDS = 3600
SWEEP_BATCH = 500  # jobs (and files) per sweep and step: one sweep stays short; the next one continues
MAX_SUBMISSIONS = 3  # times a queued job is handed to a scheduler (the first submit included) before it is failed
# pymongo's defaults wait 30 s to select a server and for ever on a socket: a dead MongoDB pod (no RST) would hang
# a heartbeat past the lease. Selection and connect timeouts come from from_url (the callers' patience); the socket
# timeout bounds one operation (a 255 KB GridFS chunk, a page of jobs), far above a healthy round trip.
SOCKET_TIMEOUT_MS = 20000
# retryWrites/retryReads retry once on a replica set; the standalone MongoDB of the stack gets no driver retry, so
# the worker's own writes go through JobStore.retrying too.
DRIVER_OPTIONS: dict[str, Any] = {"retryWrites": True, "retryReads": True, "socketTimeoutMS": SOCKET_TIMEOUT_MS}
RETRY_FIRST_DELAY_S, RETRY_MAX_DELAY_S = 0.25, 2.0

log = logging.getLogger("nta_pipeline.jobstore")
T = TypeVar("T")


class JobLost(RuntimeError):
    """The job was finished or re-claimed by someone else (e.g. expired while this worker was stalled)."""


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one job: every update it makes is conditional on still holding the lease."""

    job_id: str
    lease: str
    attempt: int


@dataclass(frozen=True)
class ResultFile:
    filename: str
    content_type: str
    data: bytes


def owned(query: dict[str, Any], owner: str | None) -> dict[str, Any]:
    """`query` narrowed to one owner's jobs; owner None (authentication off) leaves it unscoped."""
    return query if owner is None else {**query, "owner": owner}


def retention_hours_from_env(environ: Mapping[str, str] | None = None) -> float:
    """NTA_JOB_RETENTION_HOURS: hours a job and its files are kept, 0 for ever; a bad value raises NtaError."""
    raw = (os.environ if environ is None else environ).get(RETENTION_ENV, "").strip()
    if not raw:
        return DEFAULT_RETENTION_HOURS
    try:
        hours = float(raw)
    except ValueError:
        hours = float("nan")
    if not (math.isfinite(hours) and hours >= 0):
        raise NtaError(f"{RETENTION_ENV} must be a number of hours >= 0 (0 keeps jobs for ever), got {raw[:40]!r}")
    return hours


def file_expiry(expires_at: datetime | None) -> dict[str, float]:
    """GridFS metadata for a file that expires with its job (nothing when the job is kept)."""
    return {} if expires_at is None else {"expires_at_epoch": expires_at.replace(tzinfo=UTC).timestamp()}


def utcnow() -> datetime:
    # BSON dates are naive UTC; keep Python-side values comparable with what comes back.
    now = datetime.now(UTC)
    return now.replace(tzinfo=None, microsecond=now.microsecond // 1000 * 1000)


class JobStore:
    def __init__(self, db: Database, *, lease_seconds: float = 60.0, retention_hours: float | None = None):
        self.db = db
        self.jobs = db[JOBS]
        self.files = GridFSBucket(db)
        self.lease_seconds = lease_seconds
        # None: from NTA_JOB_RETENTION_HOURS, so every process that builds a store (Django too) stamps jobs alike.
        self.retention_hours = retention_hours_from_env() if retention_hours is None else retention_hours

    @classmethod
    def from_url(cls, mongo_url: str, db_name: str = "nta", *, lease_seconds: float = 60.0,
                 timeout_ms: int = 3000) -> JobStore:  # fmt: skip
        """A store on its own MongoClient; timeout_ms bounds server selection and connecting (each attempt: the
        worker's writes are retried on top, see `retrying`)."""
        client: MongoClient = MongoClient(mongo_url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
                                          tz_aware=False, **DRIVER_OPTIONS)  # fmt: skip
        return cls(client[db_name], lease_seconds=lease_seconds)

    def retrying(self, op: Callable[[], T], what: str, *, budget_s: float | None = None) -> T:
        """op(), retried with backoff while MongoDB is unreachable, for up to budget_s (default: the lease: a job
        silent for longer is failed by the reaper anyway); then the last error is raised."""
        deadline = time.monotonic() + (self.lease_seconds if budget_s is None else budget_s)
        delay, failures = RETRY_FIRST_DELAY_S, 0
        while True:
            try:
                result = op()
            except ConnectionFailure as exc:  # AutoReconnect, NetworkTimeout, ServerSelectionTimeoutError ...
                left = deadline - time.monotonic()
                if left <= 0:
                    log.error("%s: MongoDB still unreachable after %d attempts; giving up (%s)", what, failures + 1,
                              type(exc).__name__)  # fmt: skip
                    raise
                if failures == 0:
                    log.warning("%s: MongoDB unreachable (%s: %s); retrying for up to %.0f s", what,
                                type(exc).__name__, str(exc)[:200], left)  # fmt: skip
                failures += 1
                time.sleep(min(delay, left))
                delay = min(delay * 2, RETRY_MAX_DELAY_S)
                continue
            if failures:
                log.info("%s: MongoDB answered again after %d failed attempt(s)", what, failures)
            return result

    def ping(self, timeout_s: float = 2.0) -> None:
        """Raise unless the database answers within timeout_s."""
        self.db.command("ping", maxTimeMS=int(timeout_s * 1000))

    # -- creating and reading (web side) ------------------------------------------------------------------

    def create_job(self, project_name: str, parameters: dict[str, Any],
                   inputs: dict[str, tuple[str, bytes]], *, owner: str | None = None) -> str:  # fmt: skip
        """Store the input files in GridFS and a queued job document; returns the job id."""
        unknown = set(inputs) - set(INPUT_ROLES)
        if unknown:
            raise ValueError(f"unknown input role(s) {sorted(unknown)}; expected some of {INPUT_ROLES}")
        job_id = uuid.uuid4().hex
        expires_at = self.expiry_for(utcnow())
        stored: dict[str, dict[str, Any]] = {}
        try:
            for role, (filename, data) in inputs.items():
                metadata = {"job_id": job_id, "role": role, **file_expiry(expires_at)}
                file_id = self.files.upload_from_stream(filename, data, metadata=metadata)
                stored[role] = {"file_id": file_id, "filename": filename, "size": len(data)}
            now = utcnow()
            self.jobs.insert_one({
                "_id": job_id, "project_name": project_name, "status": "queued", "step": "Waiting for a worker",
                "progress": 0.0, "created_at": now, "started_at": None, "finished_at": None, "updated_at": now,
                "heartbeat": time.time(), "attempts": 0, "lease": None, "error": None, "parameters": parameters,
                "inputs": stored, "results": {}, "summary": {}, "owner": owner, "submissions": 1,
                "expires_at": expires_at,
            })  # fmt: skip
        except Exception:
            for entry in stored.values():  # no orphaned inputs for a job that was never created
                with contextlib.suppress(Exception):
                    self.files.delete(entry["file_id"])
            raise
        return job_id

    def get(self, job_id: str, *, owner: str | None = None) -> dict[str, Any] | None:
        """The job document (stale processing jobs are failed first), or None. With `owner`, another owner's
        job is None too (callers answer 404: its existence is not revealed)."""
        self.expire_stale(job_id)
        return self.jobs.find_one(owned({"_id": job_id}, owner))

    def list_jobs(self, limit: int = 100, *, owner: str | None = None) -> list[dict[str, Any]]:
        """Newest first, without parameters and summary; only `owner`'s jobs when given."""
        self.expire_stale()
        cursor = self.jobs.find(owned({}, owner), {"parameters": 0, "summary": 0}).sort("created_at", DESCENDING)
        return list(cursor.limit(limit))

    def open_result(self, job_id: str, name: str, *,
                    owner: str | None = None) -> tuple[dict[str, Any], IO[bytes]] | None:  # fmt: skip
        """(entry, readable stream) of one result file, or None when the job (of `owner`, when given) or the file
        does not exist."""
        doc = self.jobs.find_one(owned({"_id": job_id}, owner), {"results": 1})
        entry = ((doc or {}).get("results") or {}).get(name)
        if not isinstance(entry, dict):
            return None
        try:
            return entry, self.files.open_download_stream(entry["file_id"])
        except NoFile:
            return None

    def fail(self, job_id: str, step: str, message: str) -> None:
        """Mark a job failed from outside a claim (e.g. the web side could not submit it)."""
        now = utcnow()
        self.jobs.update_one({"_id": job_id, "status": {"$in": list(ACTIVE)}}, {"$set": {
            "status": "failed", "step": step, "error": {"step": step, "message": message},
            "finished_at": now, "updated_at": now}})  # fmt: skip

    def expire_stale(self, job_id: str | None = None) -> int:
        """Fail processing jobs whose heartbeat is older than the lease; returns how many."""
        stale = {"$lt": time.time() - self.lease_seconds}
        query: dict[str, Any] = {"status": "processing", "heartbeat": stale}
        if job_id is not None:
            query["_id"] = job_id
        expired = 0
        for doc in self.jobs.find(query, {"step": 1, "attempts": 1, "lease": 1}):
            step = doc.get("step") or "unknown step"
            message = (f"the worker running this job stopped responding during '{step}' (no heartbeat for "
                       f"{self.lease_seconds:g} s, attempt {doc.get('attempts', 1)} of {MAX_ATTEMPTS}); "
                       "submit the files again")  # fmt: skip
            # heartbeat again: a beat that landed since the find (e.g. the first after an outage) keeps the job.
            result = self.jobs.update_one({"_id": doc["_id"], "status": "processing", "lease": doc.get("lease"),
                                           "heartbeat": stale},
                                          {"$set": {"status": "failed", "error": {"step": step, "message": message},
                                                    "finished_at": utcnow(), "lease": None}})  # fmt: skip
            expired += result.modified_count
        return expired

    # -- running (worker side) --------------------------------------------------------------------------

    def claim(self, job_id: str) -> Claim | None:
        """Take the job for this worker. None when it is finished already, or has used up its attempts
        (then it is marked failed here). Retried while MongoDB is unreachable (see `retrying`)."""
        now = utcnow()
        lease = uuid.uuid4().hex
        tried = False

        def take() -> dict[str, Any] | None:
            nonlocal tried
            if tried:  # an earlier attempt may have landed with its reply lost: do not count the attempt twice
                mine = self.jobs.find_one({"_id": job_id, "lease": lease, "status": "processing"},
                                          {"attempts": 1, "started_at": 1})  # fmt: skip
                if mine is not None:
                    return mine
            tried = True
            return self.jobs.find_one_and_update(
                {"_id": job_id, "status": {"$in": list(ACTIVE)}},
                {"$set": {"status": "processing", "lease": lease, "updated_at": now, "heartbeat": time.time(),
                          "progress": 0.0, "step": "Starting"}, "$inc": {"attempts": 1}},
                projection={"attempts": 1, "started_at": 1}, return_document=ReturnDocument.AFTER,
            )  # fmt: skip

        doc = self.retrying(take, f"job {job_id}: claim")
        if doc is None:
            return None
        claim = Claim(job_id, lease, int(doc.get("attempts") or 1))
        if doc.get("started_at") is None:
            self._update(claim, {"started_at": now})
        if claim.attempt > MAX_ATTEMPTS:
            message = (f"the job's worker was lost {MAX_ATTEMPTS} times (killed or out of memory); not retrying "
                       "again. Try a smaller input or ask for larger workers")  # fmt: skip
            self.finish_failed(claim, "Starting", message)
            return None
        if claim.attempt > 1:
            self._update(claim, {"step": f"Retrying after a lost worker (attempt {claim.attempt} of {MAX_ATTEMPTS})"})
        return claim

    def _update(self, claim: Claim, fields: dict[str, Any], *, retry: bool = True) -> None:
        """Set fields on the job while this claim holds it. A terminal status keeps the lease on the document, so
        a retry after a lost reply recognises its own write instead of taking it for a lost job."""
        held = {"_id": claim.job_id, "lease": claim.lease, "status": "processing"}
        update = {"$set": {**fields, "updated_at": utcnow(), "heartbeat": time.time()}}
        tried = False

        def write() -> bool:
            nonlocal tried
            retried, tried = tried, True
            landed = self.jobs.update_one(held, update).matched_count > 0
            if not landed and retried and "status" in fields:
                landed = self.jobs.count_documents({"_id": claim.job_id, "lease": claim.lease,
                                                    "status": fields["status"]}, limit=1) > 0  # fmt: skip
            return landed

        landed = self.retrying(write, f"job {claim.job_id}: update") if retry else write()
        if not landed:
            raise JobLost(f"job {claim.job_id} is no longer held by this worker (expired or re-claimed)")

    def load_inputs(self, job_id: str) -> dict[str, tuple[str, bytes]]:
        def load() -> dict[str, tuple[str, bytes]]:
            doc = self.jobs.find_one({"_id": job_id}, {"inputs": 1}) or {}
            return {role: (entry["filename"], self.files.open_download_stream(entry["file_id"]).read())
                    for role, entry in (doc.get("inputs") or {}).items()}  # fmt: skip

        return self.retrying(load, f"job {job_id}: load inputs")

    def progress(self, claim: Claim, step: str, fraction: float) -> None:
        self._update(claim, {"step": step, "progress": float(min(max(fraction, 0.0), 1.0))})

    def heartbeat(self, claim: Claim) -> None:
        self._update(claim, {})

    def beat_interval(self) -> float:
        """Seconds between heartbeats: a tenth of the lease (at most 5 s), so the last beat before a MongoDB
        outage is recent and an outage of nearly a lease is survived."""
        return min(max(0.5, self.lease_seconds / 10), 5.0)

    @contextlib.contextmanager
    def heartbeating(self, claim: Claim) -> Iterator[None]:
        """Refresh the heartbeat in a background thread while the body runs (steps can be long)."""
        stop = threading.Event()
        interval = self.beat_interval()

        def beat() -> None:
            wait = interval
            while not stop.wait(wait):
                try:
                    self._update(claim, {}, retry=False)  # not `retrying`: stop must not wait for a backoff
                    wait = interval
                except JobLost:
                    return  # the main thread learns it at its next write
                except Exception:  # MongoDB unreachable: beat again soon (the lease counts from the last beat)
                    wait = min(interval, 0.5)

        thread = threading.Thread(target=beat, name=f"heartbeat-{claim.job_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _upload(self, job_id: str, filename: str, data: bytes, metadata: dict[str, Any]) -> ObjectId:
        """One GridFS file, retried while MongoDB is unreachable; a retry first deletes what an interrupted
        attempt left under the same id."""
        file_id = ObjectId()
        tried = False

        def upload() -> ObjectId:
            nonlocal tried
            if tried:
                with contextlib.suppress(NoFile):
                    self.files.delete(file_id)
            tried = True
            self.files.upload_from_stream_with_id(file_id, filename, data, metadata=metadata)
            return file_id

        return self.retrying(upload, f"job {job_id}: store {filename}")

    def complete(self, claim: Claim, results: dict[str, ResultFile], summary: dict[str, Any]) -> None:
        """Upload the result files and mark the job completed (all or nothing)."""
        entries: dict[str, dict[str, Any]] = {}
        try:
            doc = self.retrying(lambda: self.jobs.find_one({"_id": claim.job_id}, {"expires_at": 1}),
                                f"job {claim.job_id}: read expiry")  # fmt: skip
            expiry = file_expiry((doc or {}).get("expires_at"))
            for name, rf in results.items():
                metadata = {"job_id": claim.job_id, "name": name, "contentType": rf.content_type, **expiry}
                file_id = self._upload(claim.job_id, rf.filename, rf.data, metadata)
                entries[name] = {"file_id": file_id, "filename": rf.filename, "content_type": rf.content_type,
                                 "size": len(rf.data)}  # fmt: skip
            self._update(claim, {"status": "completed", "step": "Completed", "progress": 1.0, "results": entries,
                                 "summary": summary, "finished_at": utcnow()})  # fmt: skip
        except Exception:
            for entry in entries.values():
                with contextlib.suppress(Exception):
                    self.files.delete(entry["file_id"])
            raise

    def finish_failed(self, claim: Claim, step: str, message: str) -> None:
        self._update(claim, {"status": "failed", "step": step, "error": {"step": step, "message": message},
                             "finished_at": utcnow()})  # fmt: skip

    # -- queued jobs a scheduler lost (the scheduler's reaper calls this) -----------------------------------

    def requeue_lost(self, has_task: Callable[[str], bool], *, now: float | None = None) -> tuple[list[str], int]:
        """Queued jobs waiting longer than a lease that the scheduler has no task for (it restarted after they were
        submitted, or their task errored before a worker claimed them). Returns (ids to submit again, with their
        submission count raised and their queue clock reset; how many were failed after MAX_SUBMISSIONS)."""
        now = time.time() if now is None else now
        resubmit: list[str] = []
        failed = 0
        waiting = self.jobs.find({"status": "queued", "heartbeat": {"$lt": now - self.lease_seconds}},
                                 {"submissions": 1, "heartbeat": 1}).limit(SWEEP_BATCH)  # fmt: skip
        for doc in list(waiting):
            if has_task(doc["_id"]):
                continue  # waiting for a free worker: the scheduler has it
            submissions = int(doc.get("submissions") or 1)
            # The heartbeat it was read with: a job claimed or resubmitted meanwhile is left alone.
            unchanged = {"_id": doc["_id"], "status": "queued", "heartbeat": doc["heartbeat"]}
            if submissions >= MAX_SUBMISSIONS:
                step = "Waiting for a worker"
                message = (f"the Dask scheduler lost this job {submissions} times before a worker started it (the "
                           "scheduler restarted, or the job could not be started); not submitting it again. Submit "
                           "the files again, and check the scheduler and worker logs if this repeats")  # fmt: skip
                failed += self.jobs.update_one(unchanged, {"$set": {
                    "status": "failed", "step": step, "error": {"step": step, "message": message},
                    "finished_at": utcnow(), "updated_at": utcnow()}}).modified_count  # fmt: skip
            elif self.jobs.update_one(unchanged, {"$set": {"submissions": submissions + 1, "heartbeat": time.time(),
                                                           "updated_at": utcnow()}}).modified_count:  # fmt: skip
                resubmit.append(doc["_id"])
        return resubmit, failed

    # -- retention and indexes (the scheduler's reaper calls these) --------------------------------------------

    def expiry_for(self, created_at: datetime) -> datetime | None:
        """When a job created at `created_at` expires; None with retention 0 (kept for ever)."""
        return created_at + timedelta(hours=self.retention_hours) if self.retention_hours > 0 else None

    def ensure_indexes(self) -> None:
        """Indexes for the stack's queries and the TTL backstop; idempotent (existing indexes matched by fields).

        jobs: created_at (list_jobs, newest first), status + heartbeat (expire_stale), owner + created_at (a user's
        job list), expires_at (TTL, only while retention is on: dropped with retention 0, so nothing expires).
        fs.files: metadata.job_id and metadata.expires_at_epoch (the sweep).
        """
        wanted = [[("created_at", DESCENDING)], [("status", ASCENDING), ("heartbeat", ASCENDING)],
                  [("owner", ASCENDING), ("created_at", DESCENDING)]]  # fmt: skip
        # By fields, not name or direction: the stand-in renames indexes and stores every key ascending.
        indexes = self.jobs.index_information()
        existing = {tuple(k for k, _ in info["key"]): (name, info) for name, info in indexes.items()}
        for keys in wanted:
            if tuple(k for k, _ in keys) not in existing:
                self.jobs.create_index(keys)
        ttl = existing.get(("expires_at",))
        if self.retention_hours > 0:
            if ttl is not None and ttl[1].get("expireAfterSeconds") != TTL_GRACE_SECONDS:
                self.jobs.drop_index(ttl[0])
                ttl = None
            if ttl is None:
                self.jobs.create_index([("expires_at", ASCENDING)], expireAfterSeconds=TTL_GRACE_SECONDS)
        elif ttl is not None and "expireAfterSeconds" in ttl[1]:
            self.jobs.drop_index(ttl[0])
        files = self.db["fs.files"]
        for field in ("metadata.job_id", "metadata.expires_at_epoch"):
            files.create_index([(field, ASCENDING)])

    def sweep_expired(self, now: datetime | None = None) -> tuple[int, int]:
        """Delete expired jobs, each one's GridFS files first, and files whose own expiry passed (their job may be
        gone by the TTL index already). Returns (jobs, files) deleted. Nothing with retention 0."""
        if self.retention_hours <= 0:
            return 0, 0
        now = now or utcnow()
        jobs = files = 0
        # Jobs from before retention existed have no expires_at (not even None): they get one from created_at.
        for doc in list(self.jobs.find({"expires_at": {"$exists": False}}, {"created_at": 1}).limit(SWEEP_BATCH)):
            created = doc.get("created_at")
            # The stand-in returns dates written by $set as ISO strings.
            created = datetime.fromisoformat(created) if isinstance(created, str) else created
            expires_at = self.expiry_for(created or now)
            if expires_at is not None and expires_at <= now:  # past already: delete now, before a TTL could
                files += self._delete_job_files(doc["_id"])
                jobs += self.jobs.delete_one({"_id": doc["_id"], "expires_at": {"$exists": False}}).deleted_count
            else:
                self.jobs.update_one({"_id": doc["_id"], "expires_at": {"$exists": False}},
                                     {"$set": {"expires_at": expires_at}})  # fmt: skip
        for doc in list(self.jobs.find({"expires_at": {"$lte": now}}, {"_id": 1}).limit(SWEEP_BATCH)):
            files += self._delete_job_files(doc["_id"])
            jobs += self.jobs.delete_one({"_id": doc["_id"], "expires_at": {"$lte": now}}).deleted_count
        cutoff = now.replace(tzinfo=UTC).timestamp()
        for f in list(self.db["fs.files"].find({"metadata.expires_at_epoch": {"$lte": cutoff}}, {"_id": 1})
                      .limit(SWEEP_BATCH)):  # fmt: skip
            files += self._delete_file(f["_id"])
        return jobs, files

    def _delete_job_files(self, job_id: str) -> int:
        doc = self.jobs.find_one({"_id": job_id}, {"inputs": 1, "results": 1}) or {}
        ids = [e["file_id"] for part in ("inputs", "results") for e in (doc.get(part) or {}).values()
               if isinstance(e, dict) and "file_id" in e]  # fmt: skip
        ids += [f["_id"] for f in self.db["fs.files"].find({"metadata.job_id": job_id}, {"_id": 1})]
        return sum(self._delete_file(file_id) for file_id in dict.fromkeys(ids))

    def _delete_file(self, file_id: Any) -> int:
        try:
            self.files.delete(file_id)  # the files document and its chunks
        except NoFile:
            return 0
        return 1

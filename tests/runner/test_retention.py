"""Retention against the real MongoDB-protocol server (nx-27017 unless NTA_TEST_MONGO_URL): expired jobs and their
GridFS files are deleted by the sweep, fresh ones stay, retention 0 keeps everything, the indexes exist.

The stand-in supports TTL indexes, purging expired documents when the collection is next read (mongod does it every
60 s in the background); a TTL deletion never reaches GridFS, which is why files carry their own expiry."""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta

import pytest
from gridfs.errors import NoFile

from nta_pipeline.errors import NtaError
from nta_pipeline.jobstore import JobStore, ResultFile, retention_hours_from_env, utcnow
from nta_pipeline.params import Parameters
from nta_pipeline.reaper import JobReaper

EXTERNAL = bool(os.environ.get("NTA_TEST_MONGO_URL", "").strip())


def _completed_job(store: JobStore, name: str) -> tuple[str, list]:
    """A completed job with one input and one result file; returns (job id, file ids)."""
    job_id = store.create_job(name, Parameters().as_dict(), {"pos": ("pos.csv", b"m/z,rt\n" * 40_000)})
    claim = store.claim(job_id)
    assert claim is not None
    store.complete(claim, {"workbook": ResultFile("r.xlsx", "application/octet-stream", b"x" * 300_000)}, {})
    doc = store.jobs.find_one({"_id": job_id})
    return job_id, [doc["inputs"]["pos"]["file_id"], doc["results"]["workbook"]["file_id"]]


def _file_exists(store: JobStore, file_id: object) -> bool:
    try:
        store.files.open_download_stream(file_id).read()
    except NoFile:
        return False
    return True


def _chunks(store: JobStore, file_id: object) -> int:
    return len(list(store.db["fs.chunks"].find({"files_id": file_id}, {"n": 1})))


def test_retention_setting() -> None:
    assert retention_hours_from_env({}) == 168
    assert retention_hours_from_env({"NTA_JOB_RETENTION_HOURS": "0"}) == 0
    assert retention_hours_from_env({"NTA_JOB_RETENTION_HOURS": " 24 "}) == 24
    for bad in ("-1", "abc", "nan", "inf"):
        with pytest.raises(NtaError, match="NTA_JOB_RETENTION_HOURS"):
            retention_hours_from_env({"NTA_JOB_RETENTION_HOURS": bad})


def test_indexes_exist(store: JobStore) -> None:
    one_hour = JobStore(store.db, retention_hours=1)
    store.jobs.insert_one({"_id": "x"})  # the collection exists before any index
    one_hour.ensure_indexes()
    one_hour.ensure_indexes()  # idempotent
    info = store.jobs.index_information()
    by_fields = {tuple(k for k, _ in i["key"]): i for i in info.values()}
    assert {("created_at",), ("status", "heartbeat"), ("owner", "created_at"), ("expires_at",)} <= set(by_fields)
    assert by_fields[("expires_at",)]["expireAfterSeconds"] == 3600
    assert len(info) == 5, sorted(info)  # _id and the four above, nothing created twice


def test_sweep_deletes_an_expired_job_and_its_files_and_keeps_a_fresh_one(store: JobStore) -> None:
    # No TTL index here: the sweep alone does the work (as on a server that ignores TTL indexes).
    short, long = JobStore(store.db, retention_hours=1), JobStore(store.db, retention_hours=168)
    old, old_files = _completed_job(short, "old")
    fresh, fresh_files = _completed_job(long, "fresh")
    assert all(_chunks(store, f) > 0 for f in old_files)
    jobs, files = short.sweep_expired(now=utcnow() + timedelta(hours=2))
    assert (jobs, files) == (1, 2)
    assert store.jobs.find_one({"_id": old}) is None
    assert not any(_file_exists(store, f) for f in old_files)
    assert [_chunks(store, f) for f in old_files] == [0, 0]
    assert store.jobs.find_one({"_id": fresh})["status"] == "completed"
    assert all(_file_exists(store, f) for f in fresh_files)


def test_files_outlive_a_ttl_deleted_job_until_the_sweep(store: JobStore) -> None:
    short = JobStore(store.db, retention_hours=1)
    short.ensure_indexes()
    job_id, file_ids = _completed_job(short, "ttl")
    store.jobs.update_one({"_id": job_id}, {"$set": {"expires_at": utcnow() - timedelta(hours=2)}})
    if EXTERNAL:  # mongod's TTL monitor runs once a minute: stand in for it rather than wait
        store.jobs.delete_one({"_id": job_id})
    assert store.jobs.find_one({"_id": job_id}) is None, "the stand-in's TTL index should have removed the job"
    assert all(_file_exists(store, f) for f in file_ids), "a TTL deletion does not reach GridFS"
    # The files' own expiry (creation + 1 h) finds them without their job.
    assert short.sweep_expired(now=utcnow() + timedelta(hours=2)) == (0, 2)
    assert not any(_file_exists(store, f) for f in file_ids)


def test_retention_zero_keeps_everything(store: JobStore) -> None:
    JobStore(store.db, retention_hours=1).ensure_indexes()
    keep = JobStore(store.db, retention_hours=0)
    keep.ensure_indexes()  # drops the TTL index: nothing may expire server-side either
    by_fields = {tuple(k for k, _ in i["key"]): i for i in store.jobs.index_information().values()}
    assert ("expires_at",) not in by_fields
    job_id, file_ids = _completed_job(keep, "kept")
    doc = store.jobs.find_one({"_id": job_id})
    assert doc["expires_at"] is None
    assert "expires_at_epoch" not in store.db["fs.files"].find_one({"_id": file_ids[0]})["metadata"]
    assert keep.sweep_expired(now=utcnow() + timedelta(days=3650)) == (0, 0)
    assert store.jobs.find_one({"_id": job_id}) is not None
    assert all(_file_exists(store, f) for f in file_ids)


def test_jobs_from_before_retention_get_an_expiry(store: JobStore) -> None:
    short = JobStore(store.db, retention_hours=1)
    legacy_old, old_files = _completed_job(short, "legacy old")
    legacy_new, _ = _completed_job(short, "legacy new")
    created = utcnow() - timedelta(hours=3)
    store.jobs.update_one({"_id": legacy_old}, {"$unset": {"expires_at": ""}, "$set": {"created_at": created}})
    store.jobs.update_one({"_id": legacy_new}, {"$unset": {"expires_at": ""}})
    # Their files predate retention too: no expiry of their own.
    assert short.sweep_expired() == (1, 2)
    assert store.jobs.find_one({"_id": legacy_old}) is None
    assert not any(_file_exists(store, f) for f in old_files)
    doc = store.jobs.find_one({"_id": legacy_new})
    # The stand-in hands back dates written by $set as ISO strings (mongod: datetimes).
    expires_at = doc["expires_at"]
    expires_at = expires_at if isinstance(expires_at, datetime) else datetime.fromisoformat(expires_at)
    assert expires_at == doc["created_at"] + timedelta(hours=1)
    assert short.sweep_expired() == (0, 0), "not expired yet"
    assert short.sweep_expired(now=utcnow() + timedelta(hours=2)) == (1, 2)


def test_the_reaper_indexes_and_sweeps(store: JobStore) -> None:
    short = JobStore(store.db, retention_hours=1)
    job_id, file_ids = _completed_job(short, "reaped")
    store.jobs.update_one({"_id": job_id}, {"$set": {"expires_at": utcnow() - timedelta(minutes=1)}})
    assert asyncio.run(JobReaper(short, 1.0).sweep_retention()) == (1, 2)
    assert store.jobs.find_one({"_id": job_id}) is None
    assert not any(_file_exists(store, f) for f in file_ids)
    assert ("expires_at",) in {tuple(k for k, _ in i["key"]) for i in store.jobs.index_information().values()}

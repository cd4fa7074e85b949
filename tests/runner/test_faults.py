"""Faults, nothing lost: MongoDB stopped mid-job, the search API down mid-job, a scheduler that restarted with jobs
queued. Real nx-27017 servers (one per test where it is stopped), real Dask schedulers and workers."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymongo.errors import AutoReconnect, ConnectionFailure

from nta_pipeline.jobstore import MAX_SUBMISSIONS, JobStore, ResultFile
from nta_pipeline.params import Parameters
from nta_pipeline.reaper import sweep_interval
from nta_pipeline.runner import RunnerSettings, close_clients, run_job, submit, task_key
from nta_pipeline.search import ApiSearcher, SearchError
from tests.runner.faults import SearchStub, StoppableMongo

OUTAGE_S = 10.0  # MongoDB down mid-job; shorter than the lease below, as the guarantee says
LEASE_S = 30.0
HANG_GUARD_S = 240.0  # only against a hang: the tests never judge by time


def _pos(ms1_data: Path) -> dict[str, tuple[str, bytes]]:
    name = "pooled_blood_pos_MPP.csv"
    return {"pos": (name, (ms1_data / name).read_bytes())}


@pytest.fixture
def own_mongo(tmp_path: Path) -> Iterator[StoppableMongo]:
    mongo = StoppableMongo(tmp_path)
    mongo.start()
    yield mongo
    mongo.stop()


def _in_thread(fn, *args):  # noqa: ANN001, ANN202 - run_job with a hang guard
    out: dict = {}

    def target() -> None:
        try:
            out["value"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_GUARD_S)
    assert not thread.is_alive(), f"{fn.__name__} still running after {HANG_GUARD_S:.0f} s (hang guard)"
    if "error" in out:
        raise out["error"]
    return out["value"]


# -- MongoDB away ---------------------------------------------------------------------------------------------------


def test_mongodb_stopped_10s_mid_job_the_job_still_completes(own_mongo: StoppableMongo, ms1_data: Path) -> None:
    store = JobStore.from_url(own_mongo.url, "faults", lease_seconds=LEASE_S)
    job_id = store.create_job("outage", Parameters(search_dsstox="yes").as_dict(), _pos(ms1_data))
    restarts: list[threading.Timer] = []

    def outage(n: int) -> None:  # the search step is mid-job: inputs read, progress written, results not yet
        if n == 1:
            restarts.append(own_mongo.outage(OUTAGE_S))

    stub = SearchStub(on_request=outage).start()
    try:
        settings = RunnerSettings(mongo_url=own_mongo.url, db_name="faults", api_url=stub.url, lease_seconds=LEASE_S)
        status = _in_thread(run_job, job_id, settings)
    finally:
        stub.stop()
        for timer in restarts:
            timer.join()
    assert own_mongo.stops == 1 and own_mongo.starts == 2, "the outage did not happen"
    doc = store.jobs.find_one({"_id": job_id})
    assert status == "completed" and doc["status"] == "completed", doc.get("error")
    assert doc["attempts"] == 1 and "chemical_workbook" in doc["results"]
    _, stream = store.open_result(job_id, "workbook")
    assert stream.read(2) == b"PK"


def test_the_final_write_waits_for_mongodb_to_come_back(own_mongo: StoppableMongo) -> None:
    store = JobStore.from_url(own_mongo.url, "faults", lease_seconds=LEASE_S)
    job_id = store.create_job("final", {}, {})
    claim = store.claim(job_id)
    timer = own_mongo.outage(5)
    try:
        store.complete(claim, {"workbook": ResultFile("p.xlsx", "application/x", b"PK..")}, {"final_features": 1})
    finally:
        timer.join()
    doc = store.jobs.find_one({"_id": job_id})
    assert doc["status"] == "completed" and doc["summary"] == {"final_features": 1}
    entry, stream = store.open_result(job_id, "workbook")
    # One file: nothing left over from attempts made while MongoDB was down.
    assert stream.read() == b"PK.." and len(list(store.db["fs.files"].find({}, {"_id": 1}))) == 1


class _LostReplies:
    """The jobs collection, but update_one applies the write and then loses its reply once (AutoReconnect)."""

    def __init__(self, jobs):  # noqa: ANN001
        self._jobs, self.lost = jobs, 0

    def update_one(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
        result = self._jobs.update_one(*args, **kwargs)
        if not self.lost:
            self.lost += 1
            raise AutoReconnect("connection closed after the write (test)")
        return result

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._jobs, name)


@pytest.mark.parametrize("finish", ["complete", "fail"])
def test_a_final_write_whose_reply_was_lost_is_recognised_on_retry(store: JobStore, finish: str) -> None:
    job_id = store.create_job("reply", {}, {})
    claim = store.claim(job_id)
    store.jobs = _LostReplies(store.jobs)
    if finish == "complete":
        store.complete(claim, {}, {"final_features": 0})  # no JobLost: the landed write is this claim's own
    else:
        store.finish_failed(claim, "Cleaning features", "bad input")
    assert store.jobs.lost == 1
    assert store.jobs.find_one({"_id": job_id})["status"] == ("completed" if finish == "complete" else "failed")


def test_retries_are_bounded_by_the_lease(own_mongo: StoppableMongo) -> None:
    store = JobStore.from_url(own_mongo.url, "faults", lease_seconds=2, timeout_ms=300)
    job_id = store.create_job("long outage", {}, {})
    claim = store.claim(job_id)
    own_mongo.stop()
    with pytest.raises(ConnectionFailure):
        _in_thread(store.progress, claim, "Cleaning features", 0.5)


def test_a_beat_after_the_find_keeps_the_job(store: JobStore) -> None:
    """expire_stale re-checks the heartbeat when it writes: the first beat after an outage must win a race."""
    job_id = store.create_job("race", {}, {})
    claim = store.claim(job_id)
    store.jobs.update_one({"_id": job_id}, {"$set": {"heartbeat": time.time() - store.lease_seconds - 5}})
    find = store.jobs.find

    def find_then_beat(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        docs = list(find(*args, **kwargs))
        store.heartbeat(claim)  # lands between the reaper's read and its write
        return docs

    store.jobs = _Patched(store.jobs, find=find_then_beat)
    assert store.expire_stale() == 0
    assert store.jobs.find_one({"_id": job_id})["status"] == "processing"


class _Patched:
    def __init__(self, target, **overrides):  # noqa: ANN001, ANN003
        self._target, self._overrides = target, overrides

    def __getattr__(self, name: str):  # noqa: ANN204
        return self._overrides.get(name) or getattr(self._target, name)


# -- the search API away --------------------------------------------------------------------------------------------


def test_search_api_down_for_a_few_seconds_mid_job_the_job_completes(store: JobStore, mongo_url: str,
                                                                      ms1_data: Path) -> None:  # fmt: skip
    job_id = store.create_job("search down", Parameters(search_dsstox="yes").as_dict(), _pos(ms1_data))
    stub = SearchStub()  # not listening yet: connections are refused
    reached = threading.Event()

    def bring_up_late() -> None:
        # Up only 3 s after the job entered the search step, so its first requests are refused for sure.
        deadline = time.monotonic() + HANG_GUARD_S
        while time.monotonic() < deadline:
            doc = store.jobs.find_one({"_id": job_id}, {"step": 1, "status": 1}) or {}
            if doc.get("step") == "Searching dsstox database" or doc.get("status") in ("completed", "failed"):
                break
            time.sleep(0.05)
        reached.set()
        time.sleep(3)
        stub.start()

    starter = threading.Thread(target=bring_up_late, daemon=True)
    starter.start()
    settings = RunnerSettings(mongo_url=mongo_url, db_name=store.db.name, api_url=stub.url, lease_seconds=LEASE_S)
    try:
        status = _in_thread(run_job, job_id, settings)
    finally:
        starter.join(HANG_GUARD_S)
        stub.stop()
    doc = store.jobs.find_one({"_id": job_id})
    assert reached.is_set()
    assert status == "completed", doc["error"]
    assert stub.served >= 1 and "chemical_workbook" in doc["results"]
    assert doc["summary"]["chemical_candidates"] > 0


def test_search_api_answering_503_is_retried() -> None:
    stub = SearchStub(respond=lambda n: 503 if n <= 2 else 200).start()
    try:
        hits = ApiSearcher(stub.url, "job1", retries=3)("mass", [100.5, 200.25], 5.0)
    finally:
        stub.stop()
    assert stub.requests == 3 and list(hits["INPUT"]) == [100.5, 200.25]


def test_search_api_down_for_longer_fails_naming_the_search_step(store: JobStore, mongo_url: str,
                                                                 ms1_data: Path) -> None:  # fmt: skip
    stub = SearchStub(respond=lambda n: 503).start()
    job_id = store.create_job("p", Parameters(search_dsstox="yes").as_dict(), _pos(ms1_data))
    settings = RunnerSettings(mongo_url=mongo_url, db_name=store.db.name, api_url=stub.url, lease_seconds=LEASE_S,
                              search_retries=2)  # fmt: skip
    try:
        assert run_job(job_id, settings) == "failed"
    finally:
        stub.stop()
    error = store.jobs.find_one({"_id": job_id})["error"]
    assert stub.requests == 3
    assert error["step"] == "Searching dsstox database", error
    assert "chemical search API answered HTTP 503 (3 attempt(s)" in error["message"], error
    with pytest.raises(SearchError, match="unreachable"):
        ApiSearcher(stub.url, retries=0)("mass", [1.0], 5.0)  # stopped: refused


# -- a scheduler that restarted -------------------------------------------------------------------------------------


def _contract_env(monkeypatch: pytest.MonkeyPatch, mongo_url: str, store: JobStore, lease: float) -> None:
    monkeypatch.setenv("NTA_MONGO_URL", mongo_url)
    monkeypatch.setenv("NTA_DB_NAME", store.db.name)
    monkeypatch.setenv("NTA_JOB_LEASE_SECONDS", f"{lease:g}")
    monkeypatch.delenv("NTA_API_URL", raising=False)


def _wait_finished(store: JobStore, job_ids: list[str]) -> list[dict]:
    deadline = time.monotonic() + HANG_GUARD_S
    while True:
        docs = [store.jobs.find_one({"_id": j}) for j in job_ids]
        if all(d["status"] in ("completed", "failed") for d in docs) or time.monotonic() > deadline:
            return docs
        time.sleep(0.3)


def test_jobs_queued_when_the_scheduler_restarts_are_submitted_again_and_complete(
    store: JobStore, mongo_url: str, ms1_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import LocalCluster

    _contract_env(monkeypatch, mongo_url, store, lease=5)
    params = Parameters(search_dsstox="no").as_dict()
    job_ids = [store.create_job(f"queued {i}", params, _pos(ms1_data)) for i in range(2)]
    # The first scheduler has no worker: it holds the tasks, then goes away with them.
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as first:
        try:
            for job_id in job_ids:
                submit(job_id, first.scheduler_address)
            deadline = time.monotonic() + 30
            while not all(task_key(j) in first.scheduler.tasks for j in job_ids):
                assert time.monotonic() < deadline, "the first scheduler never received the tasks"
                time.sleep(0.05)
        finally:
            close_clients()
    assert [store.jobs.find_one({"_id": j})["status"] for j in job_ids] == ["queued", "queued"]
    # The new scheduler (with the reaper, as `dask scheduler --preload nta_pipeline.reaper`) and a worker.
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"preload": ["nta_pipeline.reaper"]}) as second:  # fmt: skip
        assert "nta-job-reaper" in second.scheduler.plugins
        docs = _wait_finished(store, job_ids)
    assert [d["status"] for d in docs] == ["completed", "completed"], [d.get("error") for d in docs]
    assert [d["submissions"] for d in docs] == [2, 2] and [d["attempts"] for d in docs] == [1, 1]


async def _scheduler_with_reaper(store: JobStore, known: str, seconds: float) -> set[str]:
    from distributed import Client, Scheduler, fire_and_forget

    async with Scheduler(preload=["nta_pipeline.reaper"], dashboard_address=None, port=0, host="127.0.0.1") as s:
        async with Client(s.address, asynchronous=True) as client:
            # No worker: the task waits in this scheduler, which knows it.
            fire_and_forget(client.submit(run_job, known, key=task_key(known), pure=False))
            await asyncio.sleep(seconds)
        return set(s.tasks)


def test_the_reaper_resubmits_only_lost_jobs_and_fails_one_lost_too_often(
    store: JobStore, mongo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = 2.0
    _contract_env(monkeypatch, mongo_url, store, lease=lease)
    params = Parameters().as_dict()
    known, lost, hopeless = (store.create_job(name, params, {}) for name in ("known", "lost", "hopeless"))
    long_ago = time.time() - 10 * lease
    store.jobs.update_many({"_id": {"$in": [known, lost, hopeless]}}, {"$set": {"heartbeat": long_ago}})
    store.jobs.update_one({"_id": hopeless}, {"$set": {"submissions": MAX_SUBMISSIONS}})
    tasks = asyncio.run(_scheduler_with_reaper(store, known, lease + 3 * sweep_interval(lease)))
    docs = {j: store.jobs.find_one({"_id": j}) for j in (known, lost, hopeless)}
    # Waiting for a worker in this scheduler: left alone.
    assert (docs[known]["status"], docs[known]["submissions"]) == ("queued", 1)
    # Not known to this scheduler: submitted again (once), and now it is.
    assert (docs[lost]["status"], docs[lost]["submissions"]) == ("queued", 2) and task_key(lost) in tasks
    # Lost MAX_SUBMISSIONS times: failed, saying why.
    assert docs[hopeless]["status"] == "failed" and task_key(hopeless) not in tasks
    error = docs[hopeless]["error"]
    assert error["step"] == "Waiting for a worker" and f"lost this job {MAX_SUBMISSIONS} times" in error["message"]

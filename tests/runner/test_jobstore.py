"""The job document's life cycle against a real MongoDB-protocol server: create, claim, lease, finish."""

from __future__ import annotations

import pytest

from nta_pipeline.jobstore import MAX_ATTEMPTS, JobLost, JobStore, ResultFile

INPUTS = {"pos": ("pos.csv", b"Mass,Retention_Time\n1,2\n"), "tracers": ("t.csv", b"x\n")}


def test_create_job_stores_inputs_and_a_queued_document(store: JobStore) -> None:
    job_id = store.create_job("Blood", {"mass_accuracy": 10.0}, INPUTS)
    doc = store.get(job_id)
    assert doc["status"] == "queued" and doc["progress"] == 0 and doc["attempts"] == 0
    assert doc["project_name"] == "Blood" and doc["parameters"] == {"mass_accuracy": 10.0}
    assert {r: e["filename"] for r, e in doc["inputs"].items()} == {"pos": "pos.csv", "tracers": "t.csv"}
    assert store.load_inputs(job_id) == INPUTS
    assert [j["_id"] for j in store.list_jobs()] == [job_id]


def test_unknown_input_role_is_rejected_and_leaves_no_file(store: JobStore) -> None:
    with pytest.raises(ValueError, match="unknown input role"):
        store.create_job("p", {}, {"pos": ("a.csv", b"1"), "evil": ("b.csv", b"2")})
    assert store.db["fs.files"].count_documents({}) == 0 and store.jobs.count_documents({}) == 0


def test_claim_progress_complete(store: JobStore) -> None:
    job_id = store.create_job("p", {}, INPUTS)
    claim = store.claim(job_id)
    assert claim is not None and claim.attempt == 1
    store.progress(claim, "Annotating adducts (pos)", 0.5)
    doc = store.get(job_id)
    assert (doc["status"], doc["step"], doc["progress"]) == ("processing", "Annotating adducts (pos)", 0.5)
    assert doc["started_at"] is not None
    store.complete(claim, {"workbook": ResultFile("p.xlsx", "application/x", b"PK..")}, {"final_features": 3})
    doc = store.get(job_id)
    assert doc["status"] == "completed" and doc["progress"] == 1 and doc["summary"] == {"final_features": 3}
    entry, stream = store.open_result(job_id, "workbook")
    assert entry["filename"] == "p.xlsx" and stream.read() == b"PK.."
    assert store.open_result(job_id, "nope") is None and store.open_result("nojob", "workbook") is None
    assert store.claim(job_id) is None  # a finished job is never run again (e.g. a duplicate Dask retry)


def test_a_lost_worker_gets_one_retry_then_the_job_fails(store: JobStore) -> None:
    job_id = store.create_job("p", {}, INPUTS)
    first = store.claim(job_id)
    second = store.claim(job_id)  # Dask re-ran the task after the first worker died
    assert second is not None and second.attempt == 2
    assert "Retrying" in store.get(job_id)["step"]
    with pytest.raises(JobLost):  # the first worker, if it was only stalled, cannot overwrite anything
        store.progress(first, "Reading input files", 0.1)
    assert store.claim(job_id) is None
    doc = store.get(job_id)
    assert doc["status"] == "failed" and f"lost {MAX_ATTEMPTS} times" in doc["error"]["message"]


def test_a_job_without_heartbeat_fails_when_read(store: JobStore) -> None:
    job_id = store.create_job("p", {}, INPUTS)
    claim = store.claim(job_id)
    store.progress(claim, "Calculating statistics (neg)", 0.4)
    store.jobs.update_one({"_id": job_id}, {"$inc": {"heartbeat": -31.0}})  # the worker went silent 31 s ago
    doc = store.get(job_id)
    assert doc["status"] == "failed"
    assert doc["error"]["step"] == "Calculating statistics (neg)"
    assert "stopped responding" in doc["error"]["message"] and "30 s" in doc["error"]["message"]
    with pytest.raises(JobLost):
        store.complete(claim, {}, {})


def test_heartbeat_keeps_a_long_step_alive(store: JobStore) -> None:
    fast = JobStore(store.db, lease_seconds=2.0)
    job_id = fast.create_job("p", {}, INPUTS)
    claim = fast.claim(job_id)
    import time

    with fast.heartbeating(claim):
        time.sleep(3.0)  # longer than the lease: only the heartbeat thread keeps it alive
        assert fast.get(job_id)["status"] == "processing"
    time.sleep(2.5)
    assert fast.get(job_id)["status"] == "failed"


def test_fail_from_the_web_side(store: JobStore) -> None:
    job_id = store.create_job("p", {}, INPUTS)
    store.fail(job_id, "Submitting job", "the Dask scheduler did not answer")
    doc = store.get(job_id)
    assert doc["status"] == "failed" and doc["error"] == {"step": "Submitting job",
                                                          "message": "the Dask scheduler did not answer"}

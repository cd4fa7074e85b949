"""GET <prefix>/rest/jobs/<job_id>[/results[/<name>]] over job documents and GridFS files."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from bson import ObjectId
from gridfs import GridFSBucket

from nta_api.jobs import json_safe

CSV_BYTES = b"Feature ID,Mass\n1,194.080376\n"
XLSX_BYTES = os.urandom(300_000)  # several GridFS chunks
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module", autouse=True)
def jobs(db) -> dict[str, ObjectId]:
    bucket = GridFSBucket(db)
    csv_id = bucket.upload_from_stream(
        "chemical_results.csv", CSV_BYTES, metadata={"contentType": "text/csv"}
    )
    xlsx_id = bucket.upload_from_stream("results.xlsx", XLSX_BYTES)
    created = datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    db.jobs.insert_many([
        {"_id": "done_1", "project_name": "pooled blood", "status": "completed", "step": "Completed",
         "progress": 1.0, "created_at": created, "started_at": created, "finished_at": created,
         "updated_at": created, "attempts": 1, "error": None, "parameters": {"search_mode": "mass", "ppm": 5},
         "results": {
             "chemical_results": {"file_id": csv_id, "filename": "chemical_results.csv",
                                  "content_type": "text/csv"},
             "workbook": {"file_id": xlsx_id, "filename": "pooled blood results.xlsx",
                          "content_type": XLSX_TYPE},
             "lost": {"file_id": ObjectId(), "filename": "lost.csv", "content_type": "text/csv"},
         },
         "summary": {"features": 2631},  # no NaN: nx-27017 stores documents as JSON (see json_safe test)
         "inputs": {"raw": "x" * 1000}},  # a large field that must not be returned
        {"_id": "failed-2", "project_name": "p", "status": "failed", "step": "Reading input", "progress": 0.1,
         "created_at": created, "attempts": 3, "error": {"step": "Reading input", "message": "bad CSV"},
         "parameters": {}, "results": {}, "summary": {}},
    ])  # fmt: skip
    return {"csv": csv_id, "xlsx": xlsx_id}


def test_unknown_job_is_404_json(client) -> None:
    for path in ("/nta/rest/jobs/nope", "/nta/rest/jobs/nope/results", "/nta/rest/jobs/nope/results/x"):
        resp = client.get(path)
        assert resp.status_code == 404 and resp.get_json() == {"error": "job nope not found"}


def test_invalid_job_id_is_400(client) -> None:
    resp = client.get("/nta/rest/jobs/" + "a" * 65)
    assert resp.status_code == 400 and "invalid job id" in resp.get_json()["error"]


def test_completed_job_status(client, jobs) -> None:
    out = client.get("/nta/rest/jobs/done_1").get_json()
    assert out["job_id"] == "done_1" and out["status"] == "completed" and out["progress"] == 1.0
    assert out["created_at"] == "2024-05-01T12:00:00.123Z"
    assert out["error"] is None and out["parameters"] == {"search_mode": "mass", "ppm": 5}
    assert out["summary"] == {"features": 2631}
    assert "inputs" not in out and "_id" not in out
    entry = out["results"]["chemical_results"]
    assert entry["file_id"] == str(jobs["csv"])
    assert entry["url"] == "/nta/rest/jobs/done_1/results/chemical_results"


def test_failed_job_status(client) -> None:
    out = client.get("/nta/rest/jobs/failed-2").get_json()
    assert out["status"] == "failed" and out["error"] == {"step": "Reading input", "message": "bad CSV"}
    assert out["results"] == {} and "finished_at" not in out


def test_result_listing(client) -> None:
    out = client.get("/nta/rest/jobs/done_1/results").get_json()
    listing = {r["name"]: r for r in out["results"]}
    assert listing["chemical_results"] == {
        "name": "chemical_results", "filename": "chemical_results.csv", "content_type": "text/csv",
        "size": len(CSV_BYTES), "url": "/nta/rest/jobs/done_1/results/chemical_results"}  # fmt: skip
    assert listing["workbook"]["size"] == len(XLSX_BYTES)
    assert listing["lost"]["size"] is None
    assert client.get("/nta/rest/jobs/failed-2/results").get_json() == {"job_id": "failed-2", "results": []}


def test_result_download(client) -> None:
    resp = client.get("/nta/rest/jobs/done_1/results/chemical_results")
    assert resp.status_code == 200 and resp.data == CSV_BYTES
    assert resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"] == "attachment; filename=chemical_results.csv"
    resp = client.get("/nta/rest/jobs/done_1/results/workbook")
    assert resp.status_code == 200 and resp.data == XLSX_BYTES
    assert resp.headers["Content-Length"] == str(len(XLSX_BYTES))
    assert resp.mimetype == XLSX_TYPE
    assert 'filename="pooled blood results.xlsx"' in resp.headers["Content-Disposition"]


def test_unknown_or_missing_result_is_404_json(client) -> None:
    resp = client.get("/nta/rest/jobs/done_1/results/nope")
    assert resp.status_code == 404 and "has no result 'nope'" in resp.get_json()["error"]
    resp = client.get("/nta/rest/jobs/done_1/results/lost")
    assert resp.status_code == 404 and "missing from GridFS" in resp.get_json()["error"]


def test_json_safe() -> None:
    oid = ObjectId()
    naive = datetime(2024, 1, 2, 3, 4, 5)
    assert json_safe({"a": [oid, naive, float("nan"), float("inf"), b"blob", 1.5], "b": {"c": None}}) == {
        "a": [str(oid), "2024-01-02T03:04:05.000Z", None, None, 1.5],
        "b": {"c": None},
    }


def test_job_list_newest_first_with_total_count(client) -> None:
    out = client.get("/nta/rest/jobs/").get_json()
    ids = [j["job_id"] for j in out["jobs"]]
    assert out["count"] == len(ids) >= 2
    created = [j["created_at"] for j in out["jobs"]]
    assert created == sorted(created, reverse=True)
    assert "parameters" not in out["jobs"][0]
    assert len(client.get("/nta/rest/jobs/?limit=1").get_json()["jobs"]) == 1
    assert client.get("/nta/rest/jobs/?limit=x").status_code == 400

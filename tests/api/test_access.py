"""NTA_AUTH=header on the REST job endpoints: the auth proxy's header names the user, another user's job is a 404
identical to a missing one, no header is a 401; the search endpoints stay open (the Dask workers call them
directly); with auth off the header means nothing."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from gridfs import GridFSBucket

from nta_api.app import create_app
from nta_api.reference import load_reference_csv
from nta_api.settings import ConfigError, Settings, load_settings
from nta_pipeline.identity import AuthConfig

HEADER = "X-Auth-Request-User"
ALICE, BOB = "alice@example.org", "bob@example.org"
REFERENCE = "DTXSID,PREFERRED_NAME,CASRN,MOLECULAR_FORMULA,MONOISOTOPIC_MASS\nDTXSID1,Water,7732-18-5,H2O,18.010565\n"


@pytest.fixture(scope="module", autouse=True)
def jobs(db) -> dict[str, str]:
    bucket = GridFSBucket(db)
    created = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    ids = {}
    for i, owner in enumerate((ALICE, BOB, None)):  # None: a job from before authentication was turned on
        job_id = f"job-{i}"
        file_id = bucket.upload_from_stream(f"{job_id}.csv", f"secret of {owner}".encode())
        db.jobs.insert_one({"_id": job_id, "owner": owner, "project_name": f"project of {owner}",
                            "status": "completed", "created_at": created + timedelta(minutes=i),
                            "results": {"table": {"file_id": file_id, "filename": f"{job_id}.csv",
                                                  "content_type": "text/csv"}}})  # fmt: skip
        ids[owner or "nobody"] = job_id
    load_reference_csv(db, io.StringIO(REFERENCE), replace=True)
    return ids


@pytest.fixture(scope="module")
def secured(mongo_url: str, db_name: str, mongo_client):
    settings = Settings(mongo_url=mongo_url, db_name=db_name, auth=AuthConfig(mode="header", header=HEADER),
                        reference_check_seconds=0.0)  # fmt: skip
    return create_app(settings, client=mongo_client).test_client()


def _paths(job_id: str) -> list[str]:
    return [f"/nta/rest/jobs/{job_id}", f"/nta/rest/jobs/{job_id}/results", f"/nta/rest/jobs/{job_id}/results/table"]


def test_anonymous_gets_401_on_every_job_endpoint(secured, jobs) -> None:
    for path in ("/nta/rest/jobs/", *_paths(jobs[ALICE])):
        for headers in ({}, {HEADER: ""}, {HEADER: "  "}, {HEADER: "a\x01b"}, {HEADER: "x" * 257}):
            response = secured.get(path, headers=headers)
            assert response.status_code == 401, (path, headers)
            assert "not signed in" in response.get_json()["error"]
            assert b"secret" not in response.data


def test_list_is_scoped_to_the_user(secured, jobs) -> None:
    body = secured.get("/nta/rest/jobs/", headers={HEADER: ALICE}).get_json()
    assert [j["job_id"] for j in body["jobs"]] == [jobs[ALICE]] and body["count"] == 1
    body = secured.get("/nta/rest/jobs/", headers={HEADER: BOB}).get_json()
    assert [j["job_id"] for j in body["jobs"]] == [jobs[BOB]] and body["count"] == 1


def test_another_users_job_is_a_404_like_a_missing_one(secured, jobs) -> None:
    for path in _paths(jobs[BOB]) + _paths(jobs["nobody"]):
        other = secured.get(path, headers={HEADER: ALICE})
        missing = secured.get(path.replace(jobs[BOB], "job-99").replace(jobs["nobody"], "job-99"),
                              headers={HEADER: ALICE})  # fmt: skip
        assert (other.status_code, missing.status_code) == (404, 404), path
        assert other.get_json()["error"].replace(jobs[BOB], "job-99").replace(jobs["nobody"], "job-99") == \
            missing.get_json()["error"]  # fmt: skip
    own = secured.get(f"/nta/rest/jobs/{jobs[BOB]}/results/table", headers={HEADER: BOB})
    assert own.status_code == 200 and own.data == f"secret of {BOB}".encode()
    assert secured.get(f"/nta/rest/jobs/{jobs[BOB]}", headers={HEADER: BOB}).get_json()["project_name"] == \
        f"project of {BOB}"  # fmt: skip


def test_search_and_health_stay_open_for_the_workers(secured) -> None:
    assert secured.get("/nta/rest/healthz").status_code == 200
    response = secured.post("/nta/rest/ms1/batch/job-0", json={"search_by": "mass", "query": [18.0106], "accuracy": 5})
    assert response.status_code == 200, response.data
    assert response.get_json()["results"]


def test_auth_off_ignores_the_header(client, jobs) -> None:
    body = client.get("/nta/rest/jobs/", headers={HEADER: ALICE}).get_json()
    assert {j["job_id"] for j in body["jobs"]} == set(jobs.values())
    assert client.get(f"/nta/rest/jobs/{jobs[BOB]}/results/table").data == f"secret of {BOB}".encode()


def test_auth_off_is_logged_loudly(mongo_url: str, db_name: str, mongo_client, caplog) -> None:
    with caplog.at_level("INFO", logger="nta_api"):
        create_app(Settings(mongo_url=mongo_url, db_name=db_name), client=mongo_client)
    assert any(r.levelname == "WARNING" and "AUTHENTICATION OFF: LOCAL ONLY" in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_settings_read_auth() -> None:
    base = {"NTA_MONGO_URL": "mongodb://127.0.0.1:27017"}
    assert (load_settings(base).auth.mode, load_settings(base).auth.header) == ("off", "X-Auth-Request-User")
    s = load_settings({**base, "NTA_AUTH": " Header ", "NTA_AUTH_HEADER": "X-Forwarded-User"})
    assert (s.auth.mode, s.auth.header) == ("header", "X-Forwarded-User")
    for env, var in (({"NTA_AUTH": "django"}, "NTA_AUTH"), ({"NTA_AUTH_HEADER": "X_User"}, "NTA_AUTH_HEADER")):
        with pytest.raises(ConfigError, match=var):
            load_settings({**base, **env})

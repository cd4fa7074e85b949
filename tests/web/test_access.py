"""Access through the real Django stack: NTA_AUTH=header scopes jobs to the user the auth proxy names (another
user's job is a 404 everywhere), anonymous requests get a 401, auth off stays open and says so, the HTTPS scheme
forwarded by nginx makes an HTTPS form post pass CSRF, and X-Forwarded-Host is never used."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymongo.database import Database

from nta_pipeline.jobstore import ResultFile
from tests.web.test_upload import small_table

HEADER = "X-Auth-Request-User"
ALICE, BOB = "alice@example.org", "bob@example.org"
SMALL_CSV = b"Mass,Retention_Time\n1,2\n"  # stored directly, never validated


def _table(ms1_files: dict[str, bytes]):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("p.csv", small_table(ms1_files).encode(), content_type="text/csv")


@pytest.fixture
def header_auth(django_setup) -> Iterator[None]:
    from django.test import override_settings

    with override_settings(NTA_AUTH="header", NTA_AUTH_HEADER=HEADER):
        yield


def _as(user: str | None) -> dict[str, str]:
    return {HEADER: user} if user else {}


@pytest.fixture(scope="module")
def owned_jobs(django_setup, db: Database) -> dict[str, str]:
    """A completed job of Bob's (with a downloadable file) and one of Alice's, written as the web side does."""
    from nta_web.store import get_store

    store = get_store()
    jobs = {}
    for owner, project in ((ALICE, "Alice's project"), (BOB, "Bob's project")):
        job_id = store.create_job(project, {"project_name": project}, {"pos": ("pos.csv", SMALL_CSV)}, owner=owner)
        claim = store.claim(job_id)
        assert claim is not None
        secret = b"PK-secret-of-" + owner.encode()
        results = {"table_Tracer_Summary": ResultFile("Tracer_Summary.csv", "text/csv", b"Name,Found\nX,yes\n"),
                   "workbook": ResultFile(f"{owner}.xlsx", "application/octet-stream", secret)}  # fmt: skip
        store.complete(claim, results, {})
        jobs[owner] = job_id
    return jobs


def _pages(job_id: str) -> list[str]:
    return [f"/nta/jobs/{job_id}/", f"/nta/jobs/{job_id}/status.json", f"/nta/jobs/{job_id}/results/",
            f"/nta/jobs/{job_id}/files/workbook", f"/nta/jobs/{job_id}/files/table_Tracer_Summary"]  # fmt: skip


def test_anonymous_gets_401_everywhere_but_healthz(client, header_auth, owned_jobs, counts) -> None:
    before = counts()
    for path in ("/nta/", "/nta/jobs/", *_pages(owned_jobs[BOB])):
        response = client.get(path)
        assert response.status_code == 401, path
        assert owned_jobs[BOB] not in response.content.decode()
    page = client.get("/nta/jobs/").content.decode()
    assert "Sign-in required" in page and "Bob&#x27;s project" not in page
    assert client.get("/nta/jobs/", headers={"Accept": "application/json"}).json()["error"].startswith("You are not")
    # a POST is refused before CSRF or the form: 401, nothing stored
    assert client.post("/nta/jobs/", {"project_name": "x"}).status_code == 401
    assert counts() == before
    # an empty, blank, control-character or overlong identity is no identity
    for bad in ("", "   ", "ali\tce", "a" * 257):
        assert client.get("/nta/jobs/", headers={HEADER: bad}).status_code == 401, repr(bad)
    assert client.get("/nta/healthz").status_code == 200  # probes carry no user


def test_user_sees_own_job_only(client, header_auth, owned_jobs) -> None:
    listing = client.get("/nta/jobs/", headers=_as(ALICE)).content.decode()
    assert "Alice&#x27;s project" in listing and owned_jobs[ALICE] in listing
    assert "Bob&#x27;s project" not in listing and owned_jobs[BOB] not in listing
    assert f"Signed in as <strong>{ALICE}</strong>" in listing
    for path in _pages(owned_jobs[BOB]):
        response = client.get(path, headers=_as(ALICE))
        assert response.status_code == 404, path  # not 403: the job's existence is not confirmed
        assert b"PK-secret-of-bob" not in b"".join(getattr(response, "streaming_content", [response.content]))
    # Bob himself gets every page, and the file is his
    for path in _pages(owned_jobs[BOB]):
        assert client.get(path, headers=_as(BOB)).status_code == 200, path
    download = client.get(f"/nta/jobs/{owned_jobs[BOB]}/files/workbook", headers=_as(BOB))
    assert b"".join(download.streaming_content) == b"PK-secret-of-" + BOB.encode()


def test_another_users_job_looks_like_a_missing_one(client, header_auth, owned_jobs) -> None:
    missing = client.get("/nta/jobs/0123456789abcdef0123456789abcdef/status.json", headers=_as(ALICE))
    other = client.get(f"/nta/jobs/{owned_jobs[BOB]}/status.json", headers=_as(ALICE))
    assert (missing.status_code, other.status_code) == (404, 404)
    assert set(missing.json()) == set(other.json()) == {"error", "field"}


def test_upload_records_the_owner(client, header_auth, db: Database, ms1_files) -> None:
    response = client.post("/nta/jobs/", {"pos": _table(ms1_files),
                                          "project_name": "owned upload"},
                           headers={**_as(ALICE), "Accept": "application/json"})  # fmt: skip
    assert response.status_code == 201, response.content
    job_id = response.json()["job_id"]
    assert db.jobs.find_one({"_id": job_id})["owner"] == ALICE
    assert client.get(f"/nta/jobs/{job_id}/", headers=_as(BOB)).status_code == 404
    assert client.get(f"/nta/jobs/{job_id}/", headers=_as(ALICE)).status_code == 200


def test_auth_off_is_open_and_says_so(client, owned_jobs, db: Database, ms1_files) -> None:
    from django.conf import settings

    assert settings.NTA_AUTH == "off"  # the default
    listing = client.get("/nta/jobs/", headers=_as(ALICE)).content.decode()
    # the header means nothing: everyone sees every job, and the page says authentication is off
    assert owned_jobs[ALICE] in listing and owned_jobs[BOB] in listing
    assert "Authentication off: local only" in listing and "Signed in as" not in listing
    assert client.get(f"/nta/jobs/{owned_jobs[BOB]}/files/workbook").status_code == 200
    response = client.post("/nta/jobs/", {"pos": _table(ms1_files),
                                          "project_name": "anonymous"},
                           headers={**_as(ALICE), "Accept": "application/json"})  # fmt: skip
    assert db.jobs.find_one({"_id": response.json()["job_id"]})["owner"] is None


def test_header_mode_has_no_off_banner(client, header_auth) -> None:
    assert "local only" not in client.get("/nta/", headers=_as(ALICE)).content.decode()


def test_auth_off_is_logged_loudly(django_setup, caplog: pytest.LogCaptureFixture) -> None:
    from django.test import override_settings

    from nta_web.auth import announce

    with caplog.at_level("INFO", logger="nta_web"):
        announce()
        with override_settings(NTA_AUTH="header"):
            announce()
    off, on = caplog.records[-2:]
    assert off.levelname == "WARNING" and "AUTHENTICATION OFF: LOCAL ONLY" in off.getMessage()
    assert on.levelname == "INFO" and HEADER in on.getMessage()


# -- behind a TLS-terminating Ingress -----------------------------------------------------------------------


def _csrf_post(ms1_files: dict[str, bytes], headers: dict[str, str]) -> int:
    """A form post with a valid CSRF cookie and token, from a browser on https://testserver."""
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.get("/nta/")
    token = strict.cookies["csrftoken"].value
    data = {"pos": _table(ms1_files), "project_name": "tls",
            "csrfmiddlewaretoken": token}  # fmt: skip
    # Host as nginx always sends it (without one, Django's test client would make it testserver:80 under https)
    browser = {"Host": "testserver", "Origin": "https://testserver", "Referer": "https://testserver/nta/"}
    return strict.post("/nta/jobs/", data, headers={**browser, **headers}).status_code


def test_https_post_passes_csrf_when_nginx_forwards_the_scheme(django_setup, ms1_files) -> None:
    assert _csrf_post(ms1_files, {"X-Forwarded-Proto": "https"}) == 303
    # What happened before: nginx sent "http", so the https Origin looked cross-site.
    assert _csrf_post(ms1_files, {"X-Forwarded-Proto": "http"}) == 403


def test_trusted_origin_also_lets_an_https_post_through(django_setup, ms1_files) -> None:
    from django.test import override_settings

    with override_settings(CSRF_TRUSTED_ORIGINS=["https://testserver"]):
        assert _csrf_post(ms1_files, {"X-Forwarded-Proto": "http"}) == 303


def test_x_forwarded_host_is_ignored(client, ms1_files) -> None:
    response = client.post("/nta/jobs/", {"pos": _table(ms1_files),
                                          "project_name": "xfh"},
                           headers={"Accept": "application/json", "X-Forwarded-Host": "evil.example"})  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["url"].startswith("http://testserver/nta/jobs/")
    # a host Django does not allow is still refused by its Host check, whatever X-Forwarded-Host says
    assert client.get("/nta/", headers={"Host": "evil.example", "X-Forwarded-Host": "testserver"}).status_code == 400

"""NTA_AUTH=alb through the real Django stack: the user is the sub of the AWS ALB's signed x-amzn-oidc-data token,
verified against a real key server on 127.0.0.1 (tests/fixtures/alb.py) with tokens the tests mint themselves; a
missing, forged, foreign or expired token is the same 401 as in header mode, a key server out of reach a 503, and
neither the plain identity headers nor any token ever reach the log as text."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from pymongo.database import Database

from tests.fixtures.alb import ARN, OTHER_ARN, KeyServer, Signer, closed_port_template
from tests.fixtures.alb import TOKEN_HEADER as TOKEN
from tests.web.test_access import _table

ALICE, BOB = "alice@example.org", "bob@example.org"
SMALL_CSV = b"Mass,Retention_Time\n1,2\n"  # stored directly, never validated


def _alb_settings(keys_url: str):
    from django.test import override_settings

    return override_settings(NTA_AUTH="alb", NTA_AUTH_ALB_ARN=ARN, NTA_AUTH_ALB_REGION="",
                             NTA_AUTH_ALB_KEYS_URL=keys_url, NTA_AUTH_ALB_TIMEOUT_S=0.5)  # fmt: skip


@pytest.fixture
def alb_auth(django_setup, keys: KeyServer) -> Iterator[None]:
    with _alb_settings(keys.url_template):
        yield


@pytest.fixture(scope="module")
def jobs(django_setup, db: Database) -> dict[str, str]:
    from nta_web.store import get_store

    store = get_store()
    return {owner: store.create_job(f"ALB project of {owner}", {"project_name": "x"}, {"pos": ("p.csv", SMALL_CSV)},
                                    owner=owner) for owner in (ALICE, BOB)}  # fmt: skip


def _as(alb: Signer, user: str, **kwargs) -> dict[str, str]:
    return {TOKEN: alb.token({"sub": user}, **kwargs)}


def test_the_verified_sub_is_the_user(client, alb_auth, signer: Signer, jobs: dict[str, str]) -> None:
    page = client.get("/nta/jobs/", headers=_as(signer, ALICE))
    assert page.status_code == 200
    listing = page.content.decode()
    assert jobs[ALICE] in listing and jobs[BOB] not in listing
    assert f"Signed in as <strong>{ALICE}</strong>" in listing
    assert client.get(f"/nta/jobs/{jobs[BOB]}/", headers=_as(signer, ALICE)).status_code == 404
    assert client.get(f"/nta/jobs/{jobs[BOB]}/", headers=_as(signer, BOB)).status_code == 200


def test_an_upload_is_owned_by_the_tokens_user(client, alb_auth, signer: Signer, db: Database, ms1_files) -> None:
    response = client.post("/nta/jobs/", {"pos": _table(ms1_files), "project_name": "alb upload"},
                           headers={**_as(signer, BOB), "Accept": "application/json"})  # fmt: skip
    assert response.status_code == 201, response.content
    assert db.jobs.find_one({"_id": response.json()["job_id"]})["owner"] == BOB


def _refused_tokens(signer: Signer) -> dict[str, dict[str, str]]:
    return {
        "none": {},
        "plain identity headers": {"X-Amzn-Oidc-Identity": ALICE, "X-Auth-Request-User": ALICE},
        "another key": _as(signer, ALICE, key=ec.generate_private_key(ec.SECP256R1())),
        "another load balancer": _as(signer, ALICE, signer=OTHER_ARN),
        "expired": _as(signer, ALICE, expires_in=-60),
        "HS256 with the public key": {TOKEN: signer.hs256_forgery({"sub": ALICE})},
        "alg none": {TOKEN: signer.unsigned()},
        "kid with a path": _as(signer, ALICE, kid="../keys"),
        "control character in sub": _as(signer, "ali\x01ce"),
        "overlong sub": _as(signer, "a" * 257),
    }


def test_every_bad_token_is_the_same_401(client, alb_auth, signer: Signer, jobs: dict[str, str], counts,
                                         caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    before = counts()
    with caplog.at_level("WARNING", logger="nta_web"):
        for name, headers in _refused_tokens(signer).items():
            page = client.get("/nta/jobs/", headers=headers)
            assert page.status_code == 401, name
            assert "Sign-in required" in page.content.decode() and jobs[ALICE] not in page.content.decode(), name
            as_json = client.get(f"/nta/jobs/{jobs[ALICE]}/status.json", headers=headers)
            assert as_json.status_code == 401 and as_json.json()["error"].startswith("You are not signed in"), name
            assert client.post("/nta/jobs/", {"project_name": "x"}, headers=headers).status_code == 401, name
    assert counts() == before
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "401 on /nta/jobs/" in logged and "has expired" in logged and "bad signature" in logged
    for headers in _refused_tokens(signer).values():
        for value in headers.values():
            assert value[:40] not in logged  # no token (nor a forged identity) is written to the log


def test_healthz_needs_no_token(client, alb_auth) -> None:
    assert client.get("/nta/healthz").status_code == 200


def test_a_key_server_out_of_reach_is_a_503(client, django_setup, caplog: pytest.LogCaptureFixture) -> None:
    stranger = Signer()  # a kid no process has cached
    headers = {TOKEN: stranger.token({"sub": ALICE})}
    with _alb_settings(closed_port_template()), caplog.at_level("ERROR", logger="nta_web"):
        page = client.get("/nta/jobs/", headers=headers)
        as_json = client.get("/nta/jobs/", headers={**headers, "Accept": "application/json"})
    assert page.status_code == 503 and "Sign-in unavailable" in page.content.decode()
    assert as_json.status_code == 503 and "cannot be checked right now" in as_json.json()["error"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "did not answer" in logged and "HTTPS egress" in logged and stranger.kid in logged
    assert headers[TOKEN][:40] not in logged


def test_alb_mode_is_announced_with_its_signer(django_setup, keys: KeyServer,
                                               caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    from nta_web.auth import announce

    with _alb_settings(keys.url_template), caplog.at_level("INFO", logger="nta_web"):
        announce()
    line = caplog.records[-1].getMessage()
    assert "NTA_AUTH=alb" in line and ARN in line and "'sub' claim" in line

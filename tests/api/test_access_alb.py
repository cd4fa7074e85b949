"""NTA_AUTH=alb on the REST job endpoints: the user is the sub of the AWS ALB's signed x-amzn-oidc-data token,
verified against a real key server on 127.0.0.1 with tokens the tests mint (tests/fixtures/alb.py). Bad tokens are
the same 401 as in header mode, a key server out of reach a 503; the search endpoints stay open."""

from __future__ import annotations

import io

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from nta_api.app import create_app
from nta_api.reference import load_reference_csv
from nta_api.settings import ConfigError, Settings, load_settings
from nta_pipeline.identity import AuthConfig
from tests.fixtures.alb import ARN, OTHER_ARN, KeyServer, Signer, closed_port_template
from tests.fixtures.alb import TOKEN_HEADER as TOKEN

ALICE, BOB = "alice@example.org", "bob@example.org"
REFERENCE = "DTXSID,PREFERRED_NAME,CASRN,MOLECULAR_FORMULA,MONOISOTOPIC_MASS\nDTXSID1,Water,7732-18-5,H2O,18.010565\n"


@pytest.fixture(scope="module", autouse=True)
def jobs(db) -> dict[str, str]:
    for owner in (ALICE, BOB):
        db.jobs.insert_one({"_id": f"job-{owner[0]}", "owner": owner, "project_name": f"project of {owner}",
                            "status": "queued"})  # fmt: skip
    load_reference_csv(db, io.StringIO(REFERENCE), replace=True)
    return {ALICE: "job-a", BOB: "job-b"}


def _app(mongo_url: str, db_name: str, mongo_client, keys_url: str):
    auth = AuthConfig(mode="alb", alb_arn=ARN, alb_keys_url=keys_url, alb_timeout=0.5)
    settings = Settings(mongo_url=mongo_url, db_name=db_name, auth=auth, reference_check_seconds=0.0)
    return create_app(settings, client=mongo_client).test_client()


@pytest.fixture(scope="module")
def api(mongo_url: str, db_name: str, mongo_client, keys: KeyServer):
    return _app(mongo_url, db_name, mongo_client, keys.url_template)


def test_the_verified_sub_is_the_user(api, signer: Signer, jobs: dict[str, str]) -> None:
    body = api.get("/nta/rest/jobs/", headers={TOKEN: signer.token({"sub": ALICE})}).get_json()
    assert [j["job_id"] for j in body["jobs"]] == [jobs[ALICE]]
    assert api.get(f"/nta/rest/jobs/{jobs[BOB]}", headers={TOKEN: signer.token({"sub": ALICE})}).status_code == 404
    own = api.get(f"/nta/rest/jobs/{jobs[BOB]}", headers={TOKEN: signer.token({"sub": BOB})})
    assert own.status_code == 200 and own.get_json()["project_name"] == f"project of {BOB}"


@pytest.mark.parametrize("make", [
    lambda s: {},
    lambda s: {"X-Amzn-Oidc-Identity": ALICE, "X-Auth-Request-User": ALICE},
    lambda s: {TOKEN: s.token({"sub": ALICE}, key=ec.generate_private_key(ec.SECP256R1()))},
    lambda s: {TOKEN: s.token({"sub": ALICE}, signer=OTHER_ARN)},
    lambda s: {TOKEN: s.token({"sub": ALICE}, expires_in=-60)},
    lambda s: {TOKEN: s.hs256_forgery({"sub": ALICE})},
    lambda s: {TOKEN: s.unsigned()},
    lambda s: {TOKEN: s.token({"sub": ALICE}, kid="a/../b")},
    lambda s: {TOKEN: s.token({"sub": "x" * 257})},
    lambda s: {TOKEN: s.token({"sub": "a\x7fb"})},
], ids=["none", "plain headers", "another key", "another ALB", "expired", "HS256", "alg none", "kid path",
        "overlong sub", "control character"])  # fmt: skip
def test_bad_tokens_are_the_same_401(api, signer: Signer, jobs: dict[str, str], make, caplog) -> None:
    headers = make(signer)
    with caplog.at_level("WARNING", logger="nta_api"):
        for path in ("/nta/rest/jobs/", f"/nta/rest/jobs/{jobs[ALICE]}"):
            response = api.get(path, headers=headers)
            assert response.status_code == 401, path
            assert "not signed in" in response.get_json()["error"] and b"project of" not in response.data
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "401 on /nta/rest/jobs/" in logged
    assert all(value[:40] not in logged for value in headers.values())  # never a token in the log


def test_a_key_server_out_of_reach_is_a_503(mongo_url: str, db_name: str, mongo_client, caplog) -> None:
    api = _app(mongo_url, db_name, mongo_client, closed_port_template())
    stranger = Signer()
    with caplog.at_level("ERROR", logger="nta_api"):
        response = api.get("/nta/rest/jobs/", headers={TOKEN: stranger.token()})
    assert response.status_code == 503 and "key server is out of reach" in response.get_json()["error"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "did not answer" in logged and stranger.kid in logged


def test_search_and_health_stay_open(api) -> None:
    assert api.get("/nta/rest/healthz").status_code == 200
    response = api.post("/nta/rest/ms1/batch/job-0", json={"search_by": "mass", "query": [18.0106], "accuracy": 5})
    assert response.status_code == 200 and response.get_json()["results"]


def test_settings_read_alb() -> None:
    base = {"NTA_MONGO_URL": "mongodb://127.0.0.1:27017", "NTA_AUTH": "alb"}
    s = load_settings({**base, "NTA_AUTH_ALB_ARN": ARN, "NTA_AUTH_ALB_CLAIM": "email"})
    assert (s.auth.mode, s.auth.alb_arn, s.auth.alb_region, s.auth.alb_claim) == ("alb", ARN, "eu-west-1", "email")
    assert s.auth.alb_keys_url == "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}"
    with pytest.raises(ConfigError, match="NTA_AUTH=alb needs NTA_AUTH_ALB_ARN"):
        load_settings(base)
    with pytest.raises(ConfigError, match="NTA_AUTH_ALB_KEYS_URL"):
        load_settings({**base, "NTA_AUTH_ALB_ARN": ARN, "NTA_AUTH_ALB_KEYS_URL": "ftp://keys/{kid}"})

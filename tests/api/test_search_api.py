"""POST <prefix>/rest/ms1/batch/<job_id>, GET ms1/list and healthz through Flask's test client."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from nta_api.app import create_app
from nta_api.reference import load_reference_csv
from nta_api.search import COLUMNS, MAX_QUERIES
from nta_api.settings import Settings
from tests.fixtures.mongo import _free_port

BATCH = "/nta/rest/ms1/batch/job_1"

# 781.25 u at 5 ppm has a tolerance of exactly 0.00390625 u (a binary fraction): the boundary rows sit exactly
# on it, the "outside" rows one step beyond.
REFERENCE = """DTXSID,PREFERRED_NAME,CASRN,MOLECULAR_FORMULA,MONOISOTOPIC_MASS
DTXSID0020232,Caffeine,58-08-2,C8H10N4O2,194.080376
,Theobromine,83-67-0,C7H8N4O2,
,Theophylline,58-55-9,C7H8N4O2,
,Exact 781,,C40H40N5O10,781.25
,Close 781,,C40H40N5O10,781.251
,Upper boundary,,C41H41,781.25390625
,Lower boundary,,C42H42,781.24609375
,Just above,,C43H43,781.2539063
,Just below,,C44H44,781.2460937
,Hundred,,C5H8O2,100.0
,Hundred plus,,C5H8O2,100.0003
"""


@pytest.fixture(scope="module", autouse=True)
def reference(db) -> None:
    assert load_reference_csv(db, io.StringIO(REFERENCE), replace=True) == 11


def post(client, body, path: str = BATCH):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def search(client, query, accuracy=5, search_by="mass") -> dict:
    resp = post(client, {"search_by": search_by, "query": query, "accuracy": accuracy})
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_mass_search_boundaries_sorting_and_sign(client) -> None:
    out = search(client, [781.25, "194.080376", 100.0001])
    assert out["results"]["columns"] == COLUMNS
    data = [dict(zip(COLUMNS, row, strict=True)) for row in out["results"]["data"]]
    assert [(r["INPUT"], r["PREFERRED_NAME"]) for r in data] == [
        (100.0001, "Hundred"), (100.0001, "Hundred plus"),
        (194.080376, "Caffeine"),
        (781.25, "Exact 781"), (781.25, "Close 781"), (781.25, "Lower boundary"), (781.25, "Upper boundary"),
    ]  # fmt: skip
    by_name = {r["PREFERRED_NAME"]: r for r in data}
    assert by_name["Upper boundary"]["MASS_ERROR_PPM"] == pytest.approx(5.0)
    assert by_name["Lower boundary"]["MASS_ERROR_PPM"] == pytest.approx(-5.0)
    assert by_name["Upper boundary"]["MASS_DIFFERENCE"] == pytest.approx(0.00390625)
    assert by_name["Hundred plus"]["MASS_ERROR_PPM"] == pytest.approx((100.0003 - 100.0001) / 100.0001 * 1e6)
    assert by_name["Hundred"]["MASS_ERROR_PPM"] < 0
    caffeine = by_name["Caffeine"]
    assert caffeine["DTXSID"] == "DTXSID0020232" and caffeine["CASRN"] == "58-08-2"
    assert caffeine["MOLECULAR_FORMULA"] == "C8H10N4O2" and caffeine["FOUND_BY"] == "Monoisotopic Mass"
    assert caffeine["MASS_DIFFERENCE"] == 0.0
    assert out["stats"]["queries"] == 3 and out["stats"]["matches"] == 7 and out["stats"]["seconds"] >= 0


def test_mass_search_computed_masses_and_missing_ids(client) -> None:
    rows = search(client, [180.064726], accuracy=1)["results"]["data"]
    assert sorted(r[2] for r in rows) == ["Theobromine", "Theophylline"]
    assert all(r[1] is None for r in rows)  # empty DTXSID -> null
    assert sorted(r[3] for r in rows) == ["58-55-9", "83-67-0"]
    assert rows[0][5] == 180.064726  # mass computed from the formula (rounded to 1e-6 u)


def test_formula_search(client) -> None:
    out = search(client, ["C8H10N4O2", "C7H8N4O2", "C99H99"], accuracy=None, search_by="formula")
    data = out["results"]["data"]
    assert [r[0] for r in data] == ["C7H8N4O2", "C7H8N4O2", "C8H10N4O2"]
    assert {r[8] for r in data} == {"Exact Formula"}
    assert data[2][5] == 194.080376 and data[2][6] is None and data[2][7] is None
    assert out["stats"] == {"queries": 3, "matches": 3, "seconds": out["stats"]["seconds"]}


def test_batch_of_5000_masses(client) -> None:
    rng = np.random.default_rng(1)
    masses = np.round(rng.uniform(50, 1200, 5000), 4).tolist()
    masses[:3] = [194.080376, 781.25, 100.0001]
    out = search(client, masses)
    assert out["stats"]["queries"] == 5000
    assert {r[0] for r in out["results"]["data"]} >= {194.080376, 781.25, 100.0001}


def test_formula_list(client) -> None:
    out = client.get("/nta/rest/ms1/list").get_json()
    assert out["results"]["columns"] == ["MS-READY MOLECULAR FORMULA"]
    formulas = [r[0] for r in out["results"]["data"]]
    assert formulas == sorted(set(formulas)) and "C8H10N4O2" in formulas and len(formulas) == 8


HOSTILE = [
    "$where",
    '{"$gt": ""}',
    "C6H12O6; drop",
    "'",
    '"',
    "C₆H₁₂O₆",
    "",
    "C" * 101,
    {"$gt": ""},
    12,
    None,
    True,
    ["C6H6"],
    "C6H6\n",
    "Xx2",
    "C6H6' || '1'=='1",
    "c6h6",
    "C6H12O6)",
]


@pytest.mark.parametrize("item", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_formula_validation_rejects_hostile_items(client, item) -> None:
    resp = post(client, {"search_by": "formula", "query": ["C8H10N4O2", item]})
    assert resp.status_code == 400
    message = resp.get_json()["error"]
    assert "query item 2" in message
    assert len(message) < 250  # long input is truncated


def test_long_item_truncated_in_message(client) -> None:
    message = post(client, {"search_by": "formula", "query": ["C" * 80 + "$" + "x" * 5000]}).get_json()[
        "error"
    ]
    assert "C" * 40 + "..." in message and "x" * 10 not in message


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"search_by": "mass", "query": [100.0]}, "accuracy"),
        ({"search_by": "mass", "query": [100.0], "accuracy": 0}, "accuracy"),
        ({"search_by": "mass", "query": [100.0], "accuracy": 100.5}, "accuracy"),
        ({"search_by": "mass", "query": [100.0], "accuracy": "abc"}, "accuracy"),
        ({"search_by": "mass", "query": [100.0], "accuracy": True}, "accuracy"),
        ({"search_by": "mass", "query": [100.0, "x"], "accuracy": 5}, "query item 2"),
        ({"search_by": "mass", "query": [100.0, {"$gt": 0}], "accuracy": 5}, "query item 2"),
        ({"search_by": "mass", "query": "100.0", "accuracy": 5}, "must be a JSON list"),
        ({"search_by": "mass", "query": {"$gt": 0}, "accuracy": 5}, "must be a JSON list"),
        ({"search_by": "mass", "query": [], "accuracy": 5}, "empty"),
        ({"search_by": "mass", "accuracy": 5}, "query is required"),
        ({"search_by": "exact", "query": [1.0], "accuracy": 5}, "search_by"),
        ({"search_by": {"$ne": 1}, "query": [1.0], "accuracy": 5}, "search_by"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_requests_are_400_json(client, body, fragment: str) -> None:
    resp = post(client, body)
    assert resp.status_code == 400 and resp.is_json
    assert fragment in resp.get_json()["error"]


def test_accuracy_boundaries_accepted(client) -> None:
    assert search(client, [100.0], accuracy=100)["stats"]["matches"] == 2
    assert search(client, [100.0], accuracy="0.5")["stats"]["matches"] == 1


def test_not_json_body(client) -> None:
    resp = client.post(BATCH, data="search_by=mass", content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 400 and "JSON object" in resp.get_json()["error"]


def test_too_many_queries(client) -> None:
    resp = post(client, {"search_by": "mass", "query": [100.0] * (MAX_QUERIES + 1), "accuracy": 5})
    assert resp.status_code == 413 and str(MAX_QUERIES) in resp.get_json()["error"]


@pytest.mark.parametrize("job_id", ["a" * 65, "job.1", "job%20x", "%24where"])
def test_job_id_validated(client, job_id: str) -> None:
    resp = post(
        client, {"search_by": "mass", "query": [100.0], "accuracy": 5}, path=f"/nta/rest/ms1/batch/{job_id}"
    )
    assert resp.status_code == 400 and "job_id" in resp.get_json()["error"]


def test_routing_errors_are_json(client) -> None:
    assert client.get(BATCH).status_code == 405 and "error" in client.get(BATCH).get_json()
    resp = client.get("/nta/rest/nope")
    assert resp.status_code == 404 and "not found" in resp.get_json()["error"]
    assert client.get("/rest/healthz").status_code == 404  # everything lives under the prefix


def test_healthz(client) -> None:
    resp = client.get("/nta/rest/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "mongo": "ok", "reference_compounds": 11}


def test_mongo_unreachable() -> None:
    down = create_app(
        Settings(mongo_url=f"mongodb://127.0.0.1:{_free_port()}", mongo_timeout_ms=200)
    ).test_client()
    resp = down.get("/nta/rest/healthz")
    assert resp.status_code == 503 and resp.get_json()["mongo"] == "unreachable"
    resp = post(down, {"search_by": "mass", "query": [100.0], "accuracy": 5})
    assert resp.status_code == 503 and "unavailable" in resp.get_json()["error"]
    # Bad input is still a 400: requests are validated before the database is touched.
    assert post(down, {"search_by": "mass", "query": ["x"], "accuracy": 5}).status_code == 400


def test_custom_prefix(mongo_url: str, db_name: str, mongo_client) -> None:
    app = create_app(
        Settings(mongo_url=mongo_url, db_name=db_name, url_prefix="/api/v2"), client=mongo_client
    )
    assert app.test_client().get("/api/v2/rest/healthz").status_code == 200

"""nta_api.reference.load_reference_csv, the shipped seed, and index reload on version bumps."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from nta_api.reference import (
    COLLECTION,
    META_COLLECTION,
    META_ID,
    ReferenceLoadError,
    load_reference_csv,
    read_version,
)

from .conftest import DATA, SEED

HEADER = "DTXSID,PREFERRED_NAME,CASRN,MOLECULAR_FORMULA,MONOISOTOPIC_MASS\n"


def batch(client, body: dict) -> dict:
    resp = client.post("/nta/rest/ms1/batch/loader", data=json.dumps(body), content_type="application/json")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


@pytest.fixture(scope="module", autouse=True)
def seeded(db) -> int:
    return load_reference_csv(db, SEED, replace=True)


def test_seed_loaded_with_indexes(db, seeded: int) -> None:
    with SEED.open(newline="") as fh:
        assert seeded == sum(1 for _ in csv.DictReader(fh)) == db[COLLECTION].count_documents({})
    keys = {tuple(k for k, _ in spec["key"]) for spec in db[COLLECTION].index_information().values()}
    assert {("MONOISOTOPIC_MASS",), ("MOLECULAR_FORMULA",), ("DTXSID",)} <= keys
    caffeine = db[COLLECTION].find_one({"PREFERRED_NAME": "Caffeine"}, {"_id": 0})
    assert caffeine == {"DTXSID": "DTXSID0020232", "PREFERRED_NAME": "Caffeine", "CASRN": "58-08-2",
                        "MOLECULAR_FORMULA": "C8H10N4O2", "MONOISOTOPIC_MASS": 194.080376}  # fmt: skip


def test_tracers_found_with_the_tracer_sheet_masses(client) -> None:
    with (DATA / "pooled_blood_tracers.csv").open(newline="") as fh:
        tracers = [{k.strip(): v.strip() for k, v in r.items()} for r in csv.DictReader(fh)]
    out = batch(client, {"search_by": "mass", "query": [float(t["Monoisotopic_Mass"]) for t in tracers],
                         "accuracy": 5})  # fmt: skip
    assert {r[1] for r in out["results"]["data"]} >= {t["DTXSID"] for t in tracers}


def test_formula_search_over_the_feature_table_finds_seed_candidates(client) -> None:
    with (DATA / "pooled_blood_pos_MPP.csv").open(newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        formulas = sorted({r["Formula"].replace(" ", "") for r in rows if r["Formula"]})
    out = batch(client, {"search_by": "formula", "query": formulas})
    names = {r[2] for r in out["results"]["data"]}
    assert "Seed candidate for C11H14O4" in names and len(names) >= 10


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "DTXSID,PREFERRED_NAME,MONOISOTOPIC_MASS\nD1,x,1.0\n",
            "missing required column(s) MOLECULAR_FORMULA",
        ),
        (
            HEADER + ",Good,,C6H6,\n,Bad,,C6Xx,\n",
            "row 3, column MOLECULAR_FORMULA: formula 'C6Xx' has an unknown",
        ),
        (HEADER + ",Good,,C6H6,\n,,,C6H6,\n", "row 3, column PREFERRED_NAME"),
        (HEADER + ",Good,,C6H6,abc\n", "row 2, column MONOISOTOPIC_MASS: not a number"),
        (HEADER + ",Good,,C6H6,-1\n", "row 2, column MONOISOTOPIC_MASS"),
        (HEADER + "D1,A,,C6H6,\n\nD1,B,,C6H6,\n", "row 4, column DTXSID: duplicate D1 (first at row 2)"),
        (HEADER + "D$1,A,,C6H6,\n", "row 2, column DTXSID"),
        (HEADER + ",A,,C6H6\n", "row 2: expected 5 fields, got 4"),
        (HEADER, "no data rows"),
        ("", "file is empty"),
        (HEADER + "DTXSID0020232,Dup of seed,,C6H6,\n", "DTXSID0020232 is already in reference_compounds"),
    ],
)
def test_loader_errors_name_row_and_column_and_write_nothing(db, text: str, fragment: str) -> None:
    before = (db[COLLECTION].count_documents({}), read_version(db))
    with pytest.raises(ReferenceLoadError) as info:
        load_reference_csv(db, io.StringIO(text))
    assert fragment in str(info.value)
    assert (db[COLLECTION].count_documents({}), read_version(db)) == before


def test_bytes_stream_with_bom_and_loose_header(db) -> None:
    data = "\ufeff molecular_formula , Preferred_Name \nC2H4O2,Acetic acid (bytes)\n".encode()
    version = read_version(db)
    assert load_reference_csv(db, io.BytesIO(data)) == 1
    doc = db[COLLECTION].find_one({"PREFERRED_NAME": "Acetic acid (bytes)"}, {"_id": 0})
    assert doc == {"PREFERRED_NAME": "Acetic acid (bytes)", "MOLECULAR_FORMULA": "C2H4O2",
                   "MONOISOTOPIC_MASS": 60.021129}  # fmt: skip
    assert read_version(db) == version + 1
    meta = db[META_COLLECTION].find_one({"_id": META_ID})
    assert meta["loaded_rows"] == 1 and not meta["replace"]  # nx-27017 returns booleans as 0/1


def test_running_app_reloads_after_a_load(client, db, tmp_path) -> None:
    query = {"search_by": "mass", "query": [999.123456], "accuracy": 1}
    assert batch(client, query)["stats"]["matches"] == 0
    extra = tmp_path / "extra.csv"
    extra.write_text(HEADER + "DTXSID_NEW1,Newly loaded,,C50H80O10,999.123456\n")
    load_reference_csv(db, extra)
    assert [r[1] for r in batch(client, query)["results"]["data"]] == ["DTXSID_NEW1"]
    # replace=True swaps the whole set.
    load_reference_csv(db, io.StringIO(HEADER + ",Only one,,C6H6,\n"), replace=True)
    assert batch(client, query)["stats"]["matches"] == 0
    assert client.get("/nta/rest/healthz").get_json()["reference_compounds"] == 1
    load_reference_csv(db, SEED, replace=True)


def test_cli(mongo_url: str, db_name: str, tmp_path) -> None:
    path = tmp_path / "cli.csv"
    path.write_text(HEADER + ",From CLI,,C3H8O3,\n")
    env = {**os.environ, "NTA_MONGO_URL": mongo_url, "NTA_DB_NAME": db_name}
    cmd = [sys.executable, "-m", "nta_api.reference", str(path)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "loaded 1 compounds" in done.stdout
    env.pop("NTA_MONGO_URL")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "NTA_MONGO_URL" in done.stderr


def test_cli_reads_standard_input(mongo_url: str, db_name: str) -> None:
    # `invoke seed` streams the file into the Flask pod: `kubectl exec -i ... nta-load-reference - < file`.
    env = {**os.environ, "NTA_MONGO_URL": mongo_url, "NTA_DB_NAME": db_name}
    done = subprocess.run([sys.executable, "-m", "nta_api.reference", "-"], input=HEADER + ",From stdin,,C4H10O,\n",
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "loaded 1 compounds" in done.stdout


def test_cli_if_empty_loads_a_fresh_database_once(mongo_url: str, tmp_path) -> None:
    # What `tilt up` runs in the Flask pod (Tiltfile: seed-reference): a fresh stack gets the seed, a second
    # `tilt up` on the same MongoDB leaves its reference data alone.
    path = tmp_path / "seed.csv"
    path.write_text(HEADER + "DTXSID9000001,First,,C3H8O3,\nDTXSID9000002,Second,,C4H10O,\n")
    env = {**os.environ, "NTA_MONGO_URL": mongo_url, "NTA_DB_NAME": "if_empty_test"}
    cmd = [sys.executable, "-m", "nta_api.reference", "--if-empty", str(path)]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "loaded 2 compounds" in first.stdout
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert "already holds 2 compounds: nothing loaded" in second.stdout

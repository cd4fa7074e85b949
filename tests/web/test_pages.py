"""Job list, job page, status JSON, results (paged tables, plots, downloads), files, 404 and health check, for jobs
finished through the real JobStore (the worker-side calls a Dask worker makes) with real files in GridFS."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from html import unescape

import matplotlib
import pytest
from pymongo.database import Database

from nta_pipeline.jobstore import ResultFile
from nta_pipeline.outputs import workbook_bytes

matplotlib.use("Agg")

ROWS = 120  # three pages of 50
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png() -> bytes:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([1, 2, 3], [3, 1, 2])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _matrix_csv() -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Feature ID", "Mass", "Retention_Time", "Note"])
    for i in range(1, ROWS + 1):
        writer.writerow([i, f"{100 + i / 7:.4f}", f"{i / 10:.2f}", f"row-{i:03d}, quoted"])
    return buf.getvalue().encode()


@pytest.fixture(scope="module")
def completed_job(django_setup, db: Database) -> str:
    import pandas as pd

    from nta_web.store import get_store

    store = get_store()
    job_id = store.create_job("Finished project", {"project_name": "Finished project"},
                              {"pos": ("pos.csv", b"Mass,Retention_Time\n1,2\n")})  # fmt: skip
    claim = store.claim(job_id)
    assert claim is not None
    store.progress(claim, "Building workbook", 0.9)
    matrix = _matrix_csv()
    csv_zip = io.BytesIO()
    with zipfile.ZipFile(csv_zip, "w") as zf:
        zf.writestr("Final_Occurrence_Matrix.csv", matrix)
    results = {
        "workbook": ResultFile("Finished_project_NTA_WebApp_QAQC.xlsx",
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                               workbook_bytes({"Final Occurrence Matrix": pd.read_csv(io.BytesIO(matrix))})),
        "csv_zip": ResultFile("Finished_project_csv.zip", "application/zip", csv_zip.getvalue()),
        "table_Final_Occurrence_Matrix": ResultFile("Final_Occurrence_Matrix.csv", "text/csv", matrix),
        "table_Tracer_Summary": ResultFile("Tracer_Summary.csv", "text/csv",
                                           b"Chemical_Name,Found\nDIMP-d14,yes\n"),
        "plot_occurrence_heatmap": ResultFile("Finished_project_occurrence_heatmap.png", "image/png", _png()),
    }  # fmt: skip
    store.complete(claim, results, {"final_features": ROWS, "warnings": ["pos.csv: not UTF-8; read as cp1252"]})
    return job_id


@pytest.fixture(scope="module")
def failed_job(django_setup, db: Database) -> str:
    from nta_web.store import get_store

    store = get_store()
    job_id = store.create_job("Broken project", {"project_name": "Broken project"},
                              {"neg": ("neg.csv", b"Mass,Retention_Time\n1,2\n")})  # fmt: skip
    claim = store.claim(job_id)
    store.progress(claim, "Flagging duplicates", 0.2)
    store.finish_failed(claim, "Flagging duplicates", "neg.csv, row 12, column 'Mass': expected a neutral mass")
    return job_id


def _text(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.content.decode()))


def test_job_list_shows_newest_first(client, completed_job: str, failed_job: str) -> None:
    response = client.get("/nta/jobs/")
    assert response.status_code == 200
    html = _text(response)
    assert "<h1>Jobs</h1>" in html
    # failed_job was created after completed_job
    assert html.index("Broken project") < html.index("Finished project")
    assert f'href="/nta/jobs/{completed_job}/"' in html and f"/nta/jobs/{completed_job}/results/" in html
    assert "completed" in html and "failed" in html and "100%" in html


def test_completed_job_page_and_status(client, completed_job: str) -> None:
    page = client.get(f"/nta/jobs/{completed_job}/")
    assert page.status_code == 200
    html = _text(page)
    assert "Job: Finished project" in html
    assert f'href="/nta/jobs/{completed_job}/results/"' in html
    assert re.search(r'<div id="job-done"[^>]*>', html) and 'id="job-done" class="notice success" hidden' not in html
    assert "/nta/static/nta_web/job.js" in html and "/nta/static/nta_web/nta.css" in html
    status = client.get(f"/nta/jobs/{completed_job}/status.json")
    assert status.status_code == 200 and status["Content-Type"] == "application/json"
    body = status.json()
    assert (body["status"], body["percent"], body["finished"]) == ("completed", 100, True)
    assert body["results_url"] == f"/nta/jobs/{completed_job}/results/"
    assert body["elapsed_seconds"] >= 0 and body["finished_at"]


def test_failed_job_shows_step_and_message(client, failed_job: str) -> None:
    html = _text(client.get(f"/nta/jobs/{failed_job}/"))
    assert 'failed on step: <span id="job-error-step">Flagging duplicates</span>' in html
    assert "neg.csv, row 12, column 'Mass': expected a neutral mass" in html
    body = client.get(f"/nta/jobs/{failed_job}/status.json").json()
    assert body["status"] == "failed" and body["finished"] is True and body["results_url"] is None
    assert body["error"] == {"step": "Flagging duplicates", "message": "neg.csv, row 12, column 'Mass': expected a "
                             "neutral mass"}  # fmt: skip
    # results of a failed job: back to the job page
    assert client.get(f"/nta/jobs/{failed_job}/results/")["Location"] == f"/nta/jobs/{failed_job}/"


def test_running_job_status_moves(client, store) -> None:
    job_id = store.create_job("Running", {"project_name": "Running"}, {"pos": ("p.csv", b"a\n1\n")})
    assert client.get(f"/nta/jobs/{job_id}/status.json").json()["status"] == "queued"
    claim = store.claim(job_id)
    store.progress(claim, "Calculating statistics (pos)", 0.37)
    body = client.get(f"/nta/jobs/{job_id}/status.json").json()
    assert (body["status"], body["step"], body["percent"], body["finished"]) == (
        "processing", "Calculating statistics (pos)", 37, False)  # fmt: skip
    html = _text(client.get(f"/nta/jobs/{job_id}/"))
    assert 'value="37"' in html and 'data-status="processing"' in html


def test_results_page_tables_plots_downloads(client, completed_job: str) -> None:
    response = client.get(f"/nta/jobs/{completed_job}/results/")
    assert response.status_code == 200
    html = _text(response)
    assert "Results: Finished project" in html
    assert "Table: Final Occurrence Matrix" in html  # the key table comes first
    assert "row-001, quoted" in html and "row-050, quoted" in html and "row-051" not in html
    assert f"Rows 1–50 of {ROWS}" in html
    assert "?sheet=Tracer_Summary" in html
    assert f'<img src="/nta/jobs/{completed_job}/files/plot_occurrence_heatmap"' in html
    for name in ("workbook", "csv_zip"):
        assert f"/nta/jobs/{completed_job}/files/{name}" in html
    assert "Chemical results workbook" not in html  # not produced by this job
    assert "not UTF-8" in html  # the job's warnings are shown


def test_results_paging(client, completed_job: str) -> None:
    html = _text(client.get(f"/nta/jobs/{completed_job}/results/?sheet=Final_Occurrence_Matrix&page=2"))
    assert "row-050," not in html and "row-051, quoted" in html and "row-100, quoted" in html and "row-101" not in html
    assert f"Rows 51–100 of {ROWS}" in html and "page 2 of 3" in html
    last = _text(client.get(f"/nta/jobs/{completed_job}/results/?sheet=Final_Occurrence_Matrix&page=99"))
    assert "row-120, quoted" in last and "page 3 of 3" in last  # out of range: the last page
    other = _text(client.get(f"/nta/jobs/{completed_job}/results/?sheet=Tracer_Summary"))
    assert "Table: Tracer Summary" in other and "DIMP-d14" in other
    assert client.get(f"/nta/jobs/{completed_job}/results/?sheet=Nope").status_code == 404


def test_result_files_stream_from_gridfs(client, completed_job: str) -> None:
    plot = client.get(f"/nta/jobs/{completed_job}/files/plot_occurrence_heatmap")
    assert plot.status_code == 200 and plot["Content-Type"] == "image/png"
    assert b"".join(plot.streaming_content).startswith(PNG_MAGIC)
    workbook = client.get(f"/nta/jobs/{completed_job}/files/workbook")
    assert workbook.status_code == 200
    assert "attachment" in workbook["Content-Disposition"]
    assert "Finished_project_NTA_WebApp_QAQC.xlsx" in workbook["Content-Disposition"]
    data = b"".join(workbook.streaming_content)
    assert int(workbook["Content-Length"]) == len(data)
    from openpyxl import load_workbook

    assert load_workbook(io.BytesIO(data)).sheetnames == ["Final Occurrence Matrix"]
    zipped = zipfile.ZipFile(io.BytesIO(b"".join(client.get(f"/nta/jobs/{completed_job}/files/csv_zip")
                                                 .streaming_content)))  # fmt: skip
    assert zipped.namelist() == ["Final_Occurrence_Matrix.csv"]
    assert client.get(f"/nta/jobs/{completed_job}/files/nope").status_code == 404


def test_unknown_job_is_a_404_page(client) -> None:
    for url in ("/nta/jobs/0123456789abcdef0123456789abcdef/", "/nta/jobs/nope/results/", "/nta/jobs/x/files/y"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Page not found" in response.content.decode()
    page = _text(client.get("/nta/jobs/0123456789abcdef0123456789abcdef/"))
    assert "no job with id '0123456789abcdef0123456789abcdef'" in page
    status = client.get("/nta/jobs/nope/status.json")
    assert status.status_code == 404 and "nope" in status.json()["error"]


def test_healthz(client) -> None:
    from django.test import override_settings

    ok = client.get("/nta/healthz")
    assert (ok.status_code, ok.content) == (200, b"ok\n")
    # a server that does not exist: 503 with a reason, within the probe's patience
    with override_settings(NTA_MONGO_URL="mongodb://127.0.0.1:9/", NTA_MONGO_TIMEOUT_MS=300):
        down = client.get("/nta/healthz")
        page = client.get("/nta/jobs/")
    assert down.status_code == 503 and b"MongoDB" in down.content
    assert page.status_code == 503 and "not reachable" in page.content.decode()


@pytest.fixture(scope="module")
def long_cell_job(django_setup, db: Database) -> str:
    """A completed job whose table holds a 200 KB cell (over the csv module's 128 KB field limit), a formula-like
    header and a bare CR in a cell: what the results page must still render."""
    from nta_web.store import get_store

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["Feature ID", "'=HEADER()", "Note"])
    writer.writerow([1, "x" * 200_000, "a\rb"])
    writer.writerow([2, "'=1+2", "<script>alert(1)</script>"])
    store = get_store()
    job_id = store.create_job("Long cells", {"project_name": "Long cells"},
                              {"pos": ("pos.csv", b"Mass,Retention_Time\n1,2\n")})  # fmt: skip
    claim = store.claim(job_id)
    assert claim is not None
    table = ResultFile("Final_Occurrence_Matrix.csv", "text/csv", buf.getvalue().encode())
    store.complete(claim, {"table_Final_Occurrence_Matrix": table}, {"final_features": 2, "warnings": []})
    return job_id


def test_results_page_renders_a_200_kb_cell_cut_short(client, long_cell_job: str) -> None:
    resp = client.get(f"/nta/jobs/{long_cell_job}/results/")
    assert resp.status_code == 200
    text = _text(resp)
    assert "x" * 300 + "…" in text and "x" * 301 not in text
    assert len(resp.content) < 50_000
    assert "<script>alert(1)</script>" not in resp.content.decode() and "<script>alert(1)</script>" in text


def test_read_page_cuts_headers_and_cells() -> None:
    from nta_web.tables import read_page

    data = ("h" * 1000 + ",b\n" + "c" * 200_000 + ",2\n").encode()
    page = read_page(io.BytesIO(data), 1, 50, cell_chars=10)
    assert page.header == ["h" * 10 + "…", "b"] and page.rows == [["c" * 10 + "…", "2"]]

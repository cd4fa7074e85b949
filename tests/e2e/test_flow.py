"""One job through the whole stack: nginx -> Django -> Dask worker -> search API -> Mongo -> results."""

from __future__ import annotations

import io
import zipfile

import pytest
from openpyxl import load_workbook
from PIL import Image

from tests.e2e.client import StackClient
from tests.e2e.data import shipped

QAQC_SHEETS = {"Analysis Parameters", "All Detection Statistics (Pos)", "All Detection Statistics (Neg)",
               "Tracer Detection Statistics", "Tracer Summary", "Decision Documentation", "Final Occurrence Matrix"}


@pytest.fixture(scope="module")
def finished_job(stack) -> tuple[str, dict, list[float]]:
    client = StackClient(stack.base_url)
    job_id = client.submit(shipped(), {"project_name": "Pooled blood e2e", "search_dsstox": "yes"})
    status, seen = client.wait(job_id, timeout=240)
    return job_id, status, seen


def test_the_job_completes_and_progress_only_rises(finished_job) -> None:
    job_id, status, seen = finished_job
    assert status["status"] == "completed", status
    assert seen == sorted(seen), f"progress went down: {seen}"
    assert seen[-1] == 1.0


def test_the_workbook_downloads_with_the_expected_sheets(client: StackClient, finished_job) -> None:
    job_id = finished_job[0]
    resp = client.file(job_id, "workbook")
    assert resp.status_code == 200 and resp.content[:2] == b"PK"
    assert "Pooled_blood_e2e_NTA_WebApp_QAQC.xlsx" in resp.headers.get("Content-Disposition", "")
    sheets = set(load_workbook(io.BytesIO(resp.content), read_only=True).sheetnames)
    assert sheets >= QAQC_SHEETS, sheets


def test_the_search_ran_through_the_api(client: StackClient, finished_job) -> None:
    resp = client.file(finished_job[0], "chemical_workbook")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.content), read_only=True)
    rows = list(wb["Chemical Results"].iter_rows(values_only=True))
    assert "DTXSID" in rows[0] and len(rows) > 1  # the shipped seed holds the tracers, which the export contains


def test_plots_are_real_pngs(client: StackClient, finished_job) -> None:
    for name in ("plot_occurrence_heatmap", "plot_cv_scatterplot", "plot_tracer_plot_pos_1"):
        resp = client.file(finished_job[0], name)
        assert resp.status_code == 200, name
        image = Image.open(io.BytesIO(resp.content))
        assert image.format == "PNG" and image.width > 300 and image.height > 200


def test_csv_zip_holds_every_table(client: StackClient, finished_job) -> None:
    resp = client.file(finished_job[0], "csv_zip")
    names = zipfile.ZipFile(io.BytesIO(resp.content)).namelist()
    assert "Final_Occurrence_Matrix.csv" in names and "Tracer_Summary.csv" in names


def test_pages_show_the_job(client: StackClient, finished_job) -> None:
    job_id = finished_job[0]
    page = client.http.get(client.url(f"/nta/jobs/{job_id}/"))
    assert page.status_code == 200 and "Pooled blood e2e" in page.text
    results = client.http.get(client.url(f"/nta/jobs/{job_id}/results/"))
    assert results.status_code == 200 and "<table" in results.text and "plot_occurrence_heatmap" in results.text
    listing = client.http.get(client.url("/nta/jobs/"))
    assert job_id in listing.text


def test_the_rest_api_reports_the_same_job(client: StackClient, finished_job) -> None:
    body = client.http.get(client.url(f"/nta/rest/jobs/{finished_job[0]}")).json()
    assert body["status"] == "completed" and body["error"] is None
    assert "workbook" in body["results"]


def test_static_files_come_from_nginx(client: StackClient) -> None:
    page = client.http.get(client.url("/nta/")).text
    import re

    css = re.search(r'href="(/nta/static/[^"]+\.css)"', page)
    assert css, "the upload page links no stylesheet under /nta/static/"
    resp = client.http.get(client.url(css.group(1)))
    assert resp.status_code == 200 and "text/css" in resp.headers["Content-Type"]

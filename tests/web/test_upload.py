"""The upload form: every parameter rendered with its default, a valid upload becomes a queued job, and bad input
is refused with a message and leaves no job and no stored file behind."""

from __future__ import annotations

import dataclasses
from html import escape
from html.parser import HTMLParser
from typing import Any

import pytest
from gridfs import GridFSBucket
from pymongo.database import Database

from nta_pipeline.params import HELP, LABELS, Parameters

BOOKKEEPING = {"version", "datetime", "pos_input", "neg_input", "run_sequence_pos_file", "run_sequence_neg_file",
               "tracer_input", "test_files"}  # fmt: skip
USER_PARAMETERS = [f.name for f in dataclasses.fields(Parameters) if f.name not in BOOKKEEPING]


class Inputs(HTMLParser):
    """name -> list of (tag, attrs) of every form control; option tags are attached to their select."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("name"):
            self.controls.setdefault(a["name"], []).append((tag, a))
            self.select = a["name"] if tag == "select" else None
        elif tag == "option" and self.select:
            self.controls[self.select].append((tag, a))


def _text(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def small_table(ms1_files: dict[str, bytes], mode: str = "pos", rows: int = 30) -> str:
    """The shipped export cut to its comment lines, header and the first rows (fast to parse, still real)."""
    lines = ms1_files[mode].decode().splitlines()
    header = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    return "\n".join(lines[: header + 1 + rows]) + "\n"


def _upload(name: str, data: bytes | str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data.encode() if isinstance(data, str) else data, content_type="text/csv")


# -- the form -----------------------------------------------------------------------------------------------


def test_form_renders_every_parameter_with_its_default(client) -> None:
    response = client.get("/nta/")
    assert response.status_code == 200
    html = response.content.decode()
    parser = Inputs()
    parser.feed(html)
    defaults = Parameters()
    for key in USER_PARAMETERS:
        assert key in parser.controls, f"parameter {key} has no form control"
        assert LABELS[key] in html, f"label of {key} missing"
        if key in HELP:
            assert escape(HELP[key]) in html, f"help text of {key} missing"
        value = getattr(defaults, key)
        controls = parser.controls[key]
        if isinstance(value, tuple):  # a checkbox group: exactly the default items are ticked
            ticked = {a["value"] for tag, a in controls if a.get("type") == "checkbox" and "checked" in a}
            assert ticked == set(value), key
            assert len([a for tag, a in controls if a.get("type") == "checkbox"]) > len(value) or key == "pos_adducts"
        elif controls[0][0] == "select":
            selected = [a["value"] for tag, a in controls if tag == "option" and "selected" in a]
            assert selected == [_text(value)], key
        else:
            assert controls[0][1].get("value", "") == _text(value), key
    for role in ("pos", "neg", "tracers", "run_sequence_pos", "run_sequence_neg"):
        assert parser.controls[role][0][1]["type"] == "file"
    assert "csrfmiddlewaretoken" in parser.controls


def test_form_groups_cover_every_parameter_once(django_setup) -> None:
    from nta_web.forms import GROUPS, HEAD_FIELDS

    placed = list(HEAD_FIELDS) + [k for _, keys, _ in GROUPS for k in keys]
    assert sorted(placed) == sorted(USER_PARAMETERS)


# -- a valid upload -----------------------------------------------------------------------------------------


def test_valid_upload_creates_a_queued_job_with_its_inputs(client, db: Database, ms1_files, counts) -> None:
    jobs_before, files_before = counts()
    data = {role: _upload(f"pooled_blood_{role}.csv", content) for role, content in ms1_files.items()}
    response = client.post("/nta/jobs/", {**data, "project_name": "Pooled blood", "mass_accuracy": "7.5",
                                          "neg_adducts": ["Cl", "Br"]})  # fmt: skip
    assert response.status_code == 303, response.content.decode()[:2000]
    job_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert response["Location"] == f"/nta/jobs/{job_id}/"
    assert counts() == (jobs_before + 1, files_before + 5)
    doc = db.jobs.find_one({"_id": job_id})
    assert doc["status"] == "queued", doc.get("error")  # the scheduler took it (no worker runs it here)
    assert doc["project_name"] == "Pooled blood"
    params = doc["parameters"]
    assert params["mass_accuracy"] == 7.5 and params["neg_adducts"] == ["Cl", "Br"]
    assert params["pos_adducts"] == list(Parameters().pos_adducts)  # untouched fields keep their defaults
    assert params["pos_input"] == "pooled_blood_pos.csv" and params["tracer_input"] == "pooled_blood_tracers.csv"
    # the stored inputs are byte-identical to the upload
    for role, content in ms1_files.items():
        entry = doc["inputs"][role]
        assert GridFSBucket(db).open_download_stream(entry["file_id"]).read() == content, role
    page = client.get(response["Location"])
    assert page.status_code == 200 and "Pooled blood" in page.content.decode()


def test_json_client_gets_201_with_the_job_url(client, db: Database, ms1_files) -> None:
    response = client.post("/nta/jobs/", {"pos": _upload("p.csv", small_table(ms1_files)), "project_name": "api"},
                           headers={"Accept": "application/json"})  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"].endswith(f"/nta/jobs/{body['job_id']}/")
    assert db.jobs.find_one({"_id": body["job_id"]})["project_name"] == "api"


def test_latin1_file_is_accepted_with_a_warning(client, ms1_files, counts) -> None:
    table = small_table(ms1_files).replace("C11H14O4,", "Café,", 1).encode("latin-1")
    jobs_before, _ = counts()
    response = client.post("/nta/jobs/", {"pos": _upload("latin.csv", table), "project_name": "latin"}, follow=True)
    assert response.status_code == 200
    assert counts()[0] == jobs_before + 1
    html = response.content.decode()
    assert "latin.csv" in html and "UTF-8" in html  # the warning names the file and the encoding issue


def test_failed_submission_marks_the_job_failed_not_500(client, db: Database, ms1_files) -> None:
    from django.test import override_settings

    with override_settings(NTA_DASK_SCHEDULER="tcp://127.0.0.1:9", NTA_SUBMIT_TIMEOUT_S=0.5):
        response = client.post("/nta/jobs/", {"pos": _upload("p.csv", small_table(ms1_files)), "project_name": "x"})
    assert response.status_code == 303
    doc = db.jobs.find_one({"_id": response["Location"].rstrip("/").rsplit("/", 1)[-1]})
    assert doc["status"] == "failed"
    assert doc["error"]["step"] == "Submitting job" and "127.0.0.1:9" in doc["error"]["message"]
    page = client.get(response["Location"]).content.decode()
    assert "Submitting job" in page and "127.0.0.1:9" in page


def test_csrf_is_enforced(django_setup, ms1_files, counts) -> None:
    from django.test import Client

    before = counts()
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/nta/jobs/", {"pos": _upload("p.csv", small_table(ms1_files)), "project_name": "x"})
    assert response.status_code == 403
    assert "security token" in response.content.decode()
    assert counts() == before
    # with the token from the form, the same client gets through
    strict.get("/nta/")
    token = strict.cookies["csrftoken"].value
    ok = strict.post("/nta/jobs/", {"pos": _upload("p.csv", small_table(ms1_files)), "project_name": "x",
                                    "csrfmiddlewaretoken": token})  # fmt: skip
    assert ok.status_code == 303


# -- bad input ----------------------------------------------------------------------------------------------


def _cases(ms1: dict[str, bytes]) -> dict[str, tuple[dict[str, Any], int, str | None, str]]:
    """id -> (POST data, status, field, a word the message must contain)."""
    table = small_table(ms1)
    lines = table.splitlines()
    header_at = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    header = lines[header_at]

    def with_header(new: str) -> str:
        return "\n".join(lines[:header_at] + [new] + lines[header_at + 1 :]) + "\n"

    def with_row(n: int, transform) -> str:
        out = list(lines)
        out[header_at + n] = transform(out[header_at + n])
        return "\n".join(out) + "\n"

    first_sample = header.split(",")[1]  # MB1: an abundance column
    pos = {"project_name": "bad"}
    runseq_wrong = "Sample Sequence,Sample Group\nMB1,Blank\nNOT_A_SAMPLE,Sample\n"
    return {
        "no files": (pos, 400, "pos", "table"),
        "empty file": ({**pos, "pos": _upload("e.csv", b"")}, 400, "pos", "empty"),
        "whitespace only": ({**pos, "pos": _upload("e.csv", b"  \n\n ")}, 400, "pos", "empty"),
        "binary file": ({**pos, "pos": _upload("b.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" * 20)}, 400, "pos",
                        "binary"),
        "wrong extension": ({**pos, "pos": _upload("table.xlsx", table)}, 400, "pos", ".csv"),
        "missing RT column": ({**pos, "pos": _upload("p.csv", with_header(header.replace("Retention Time", "RT X")))},
                              400, "pos", "Retention_Time"),
        "missing Mass column": ({**pos, "pos": _upload("p.csv", with_header(header.replace(",Mass,", ",Mess,")))},
                                400, "pos", "Mass"),
        "non-numeric abundance": ({**pos, "pos": _upload("p.csv", with_row(3, lambda r: r.replace(
            r.split(",")[1], "lots", 1)))}, 400, "pos", first_sample),
        "malformed quoting": ({**pos, "pos": _upload("p.csv", with_row(2, lambda r: r + ',"unclosed'))}, 400, "pos",
                              "malformed"),
        "header only": ({**pos, "pos": _upload("p.csv", "\n".join(lines[: header_at + 1]))}, 400, "pos", "no data"),
        "unknown adduct": ({**pos, "pos": _upload("p.csv", table), "pos_adducts": ["Na", "Xx"]}, 400, "pos_adducts",
                           "Xx"),
        "negative mass accuracy": ({**pos, "pos": _upload("p.csv", table), "mass_accuracy": "-5"}, 400,
                                   "mass_accuracy", "-5"),
        "non-numeric ppm": ({**pos, "pos": _upload("p.csv", table), "mass_accuracy_tr": "five"}, 400,
                            "mass_accuracy_tr", "five"),
        "min replicate hits 0": ({**pos, "pos": _upload("p.csv", table), "min_replicate_hits": "0"}, 400,
                                 "min_replicate_hits", ">= 1"),
        "mrl multiplier 4": ({**pos, "pos": _upload("p.csv", table), "mrl_std_multiplier": "4"}, 400,
                             "mrl_std_multiplier", "10"),
        "unknown units": ({**pos, "pos": _upload("p.csv", table), "mass_accuracy_units": "furlong"}, 400,
                          "mass_accuracy_units", "furlong"),
        "empty project name": ({"project_name": "  ", "pos": _upload("p.csv", table)}, 400, "project_name",
                               "empty"),
        "bad run sequence": ({**pos, "pos": _upload("p.csv", table), "tracers": _upload("t.csv", ms1["tracers"]),
                              "run_sequence_pos": _upload("rs.csv", runseq_wrong)}, 400, "run_sequence_pos",
                             "NOT_A_SAMPLE"),
        "tracers without run sequence": ({**pos, "pos": _upload("p.csv", table),
                                          "tracers": _upload("t.csv", ms1["tracers"])}, 400, "run_sequence_pos",
                                         "run sequence"),
        "bad tracer file": ({**pos, "pos": _upload("p.csv", table), "tracers": _upload("t.csv", ms1["tracers"].replace(
            b"Monoisotopic_Mass", b"Mass_mono")), "run_sequence_pos": _upload("rs.csv", ms1["run_sequence_pos"])}, 400,
                            "tracers", "Monoisotopic_Mass"),
        "tracer mass not a number": ({**pos, "pos": _upload("p.csv", table), "tracers": _upload(
            "t.csv", ms1["tracers"].replace(b"194.179395", b"heavy")), "run_sequence_pos": _upload(
            "rs.csv", ms1["run_sequence_pos"])}, 400, "tracers", "heavy"),
    }  # fmt: skip


CASE_IDS = ["no files", "empty file", "whitespace only", "binary file", "wrong extension", "missing RT column",
            "missing Mass column", "non-numeric abundance", "malformed quoting", "header only", "unknown adduct",
            "negative mass accuracy", "non-numeric ppm", "min replicate hits 0", "mrl multiplier 4", "unknown units",
            "empty project name", "bad run sequence", "tracers without run sequence", "bad tracer file",
            "tracer mass not a number"]  # fmt: skip


def test_case_list_is_complete(django_setup, ms1_files) -> None:
    assert list(_cases(ms1_files)) == CASE_IDS


@pytest.mark.parametrize("case", CASE_IDS)
def test_bad_input_is_refused_and_nothing_is_stored(case: str, client, ms1_files, counts) -> None:
    data, status, field, word = _cases(ms1_files)[case]
    before = counts()
    response = client.post("/nta/jobs/", data)
    assert response.status_code == status, response.content.decode()[:3000]
    html = response.content.decode()
    assert "The analysis was not started" in html
    form = response.context["form"]
    errors = form.errors.get(field) if field else form.non_field_errors()
    assert errors, f"no error shown at field {field}: {form.errors}"
    assert word.lower() in " ".join(errors).lower(), errors
    assert counts() == before, "a rejected upload stored something"


@pytest.mark.parametrize("case", ["empty file", "unknown adduct", "bad run sequence"])
def test_bad_input_as_json(case: str, client, ms1_files, counts) -> None:
    data, status, field, word = _cases(ms1_files)[case]
    before = counts()
    response = client.post("/nta/jobs/", data, headers={"Accept": "application/json"})
    assert response.status_code == status
    body = response.json()
    assert body["field"] == field and word.lower() in body["error"].lower()
    assert counts() == before


def test_over_limit_file_gets_413(client, ms1_files, counts) -> None:
    from django.test import override_settings

    table = small_table(ms1_files, rows=40)
    before = counts()
    with override_settings(NTA_MAX_UPLOAD_BYTES=len(table) // 2, NTA_MAX_UPLOAD_MB=len(table) / 2 / 1048576):
        response = client.post("/nta/jobs/", {"pos": _upload("big.csv", table), "project_name": "big"})
        as_json = client.post("/nta/jobs/", {"pos": _upload("big.csv", table), "project_name": "big"},
                              headers={"Accept": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert "limit" in " ".join(response.context["form"].errors["pos"])
    assert as_json.status_code == 413 and as_json.json()["field"] == "pos"
    assert counts() == before


def test_whole_request_far_over_limit_is_refused_before_parsing(client, counts) -> None:
    from django.test import override_settings

    before = counts()
    with override_settings(NTA_MAX_UPLOAD_BYTES=10):
        response = client.post("/nta/jobs/", {"pos": _upload("huge.csv", b"a,b\n" * 400_000), "project_name": "h"})
    assert response.status_code == 413
    assert counts() == before

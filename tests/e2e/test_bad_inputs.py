"""Bad input through the UI and the API: a clear 4xx with a message, never a 500, and no job created."""

from __future__ import annotations

import pytest

from tests.e2e.client import StackClient, error_text
from tests.e2e.data import shipped

POS_NAME, POS = shipped("pos")["pos"]
HEADER = POS.split(b"\nCompound,", 1)[1].split(b"\n", 1)[0]  # the MPP header line after the '#' notes
GOOD_TRACERS = shipped("tracers")["tracers"][1]


def _pos_with_header(old: bytes, new: bytes) -> bytes:
    return POS.replace(old, new, 1)


def _nonnumeric_abundance() -> bytes:
    lines = POS.split(b"\n")
    first_row = next(i for i, line in enumerate(lines) if line and not line.startswith((b"#", b"Compound,")))
    cells = lines[first_row].split(b",")
    cells[1] = b"abc"  # MB1 column
    lines[first_row] = b",".join(cells)
    return b"\n".join(lines)


# id -> (files, parameters, words the message must contain)
UPLOADS = {
    "no files": ({}, {}, ["table"]),
    "empty file": ({"pos": ("pos.csv", b"")}, {}, ["empty"]),
    "binary file": ({"pos": ("pos.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)}, {},
                    ["binary"]),
    "utf-16 file": ({"pos": ("pos.csv", "Mass,Retention_Time\n".encode("utf-16"))}, {}, ["pos.csv"]),
    "wrong extension": ({"pos": ("pos.exe", POS)}, {}, [".exe"]),
    "missing Mass column": ({"pos": ("pos.csv", _pos_with_header(b",Mass,", b",Weight,"))}, {}, ["Mass"]),
    "missing RT column": ({"pos": ("pos.csv", _pos_with_header(b",Retention Time,", b",Time,"))}, {}, ["Retention"]),
    "non-numeric abundance": ({"pos": ("pos.csv", _nonnumeric_abundance())}, {}, ["abc"]),
    "malformed quoting": ({"pos": ("pos.csv", b'Mass,Retention_Time,A_1\n"100.1,2,3\n1,2,3\n')}, {}, ["pos.csv"]),
    "header only": ({"pos": ("pos.csv", b"Mass,Retention_Time,A_1,A_2\n")}, {}, ["pos.csv"]),
    "unknown adduct": ({"pos": (POS_NAME, POS)}, {"pos_adducts": ["Na", "Xx"]}, ["Xx"]),
    "negative mass accuracy": ({"pos": (POS_NAME, POS)}, {"mass_accuracy": "-5"}, ["mass_accuracy"]),
    "negative ppm": ({"pos": (POS_NAME, POS)}, {"parent_ion_mass_accuracy": "-1"}, ["parent_ion_mass_accuracy"]),
    "text in a number field": ({"pos": (POS_NAME, POS)}, {"rt_accuracy": "abc"}, ["rt_accuracy"]),
    "replicate hits 0 %": ({"pos": (POS_NAME, POS)}, {"min_replicate_hits": "0"}, ["min_replicate_hits"]),
    "MRL multiplier 4": ({"pos": (POS_NAME, POS)}, {"mrl_std_multiplier": "4"}, ["mrl_std_multiplier"]),
    "unknown search mode": ({"pos": (POS_NAME, POS)}, {"search_mode": "sql"}, ["search_mode"]),
    "unknown units": ({"pos": (POS_NAME, POS)}, {"mass_accuracy_units": "furlongs"}, ["mass_accuracy_units"]),
    "empty project name": ({"pos": (POS_NAME, POS)}, {"project_name": ""}, ["project"]),
    "tracer file without masses": ({"pos": (POS_NAME, POS), "tracers": ("t.csv", b"Chemical_Name,Retention_Time\n"
                                                                                b"x,1.0\n")}, {}, ["Monoisotopic"]),
    "run sequence with an empty name": ({"pos": (POS_NAME, POS), "run_sequence_pos": (
        "rs.csv", b"Sample Sequence,Sample Group\nMB1,Blank\n,Sample\n")}, {}, ["rs.csv", "empty"]),
    "unknown parameter value": ({"pos": (POS_NAME, POS)}, {"tracer_plot_yaxis_format": "cubic"},
                                ["tracer_plot_yaxis_format"]),
}  # fmt: skip


@pytest.mark.parametrize("case", UPLOADS, ids=list(UPLOADS))
def test_bad_upload_is_refused_with_a_message(client: StackClient, case: str) -> None:
    files, params, words = UPLOADS[case]
    before = client.job_count()
    resp = client.upload(files, params)
    assert 400 <= resp.status_code < 500, f"{case}: HTTP {resp.status_code}: {resp.text[:300]}"
    message = error_text(resp)
    for word in words:
        assert word.lower() in message.lower(), f"{case}: {word!r} not in {message!r}"
    assert client.job_count() == before, f"{case}: a job was created for rejected input"


def test_a_valid_latin1_file_is_accepted(client: StackClient) -> None:
    latin1 = POS.replace(b"# Owner : gxuser", "# Owner : gérard".encode("cp1252"), 1)  # not valid UTF-8
    resp = client.upload({"pos": ("latin1.csv", latin1)}, {"search_dsstox": "no"})
    assert resp.status_code == 201, error_text(resp)


def test_an_upload_over_the_limit_gets_a_readable_413(stack, client: StackClient) -> None:
    before = client.job_count()
    big = b"Mass,Retention_Time\n" + b"1.0,2.0\n" * ((stack.max_upload_mb * 1024 * 1024) // 8 + 1000)
    resp = client.upload({"pos": ("big.csv", big)}, json=False)
    assert resp.status_code == 413
    assert "too large" in error_text(resp).lower()
    assert client.job_count() == before


def test_the_html_form_shows_the_error_on_the_page(client: StackClient) -> None:
    resp = client.upload({"pos": ("pos.csv", _pos_with_header(b",Mass,", b",Weight,"))}, json=False)
    assert resp.status_code == 400 and "<form" in resp.text and "Mass" in error_text(resp)


API_BAD = {
    "formula with $": {"search_by": "formula", "query": ["C6H12O6$gt"], "accuracy": 5},
    "formula with braces": {"search_by": "formula", "query": ['{"$ne": null}'], "accuracy": 5},
    "formula with quotes": {"search_by": "formula", "query": ["C6'; db.dropDatabase(); '"], "accuracy": 5},
    "formula as an object": {"search_by": "formula", "query": [{"$gt": ""}], "accuracy": 5},
    "negative ppm": {"search_by": "mass", "query": [100.0], "accuracy": -5},
    "query not a list": {"search_by": "mass", "query": "100.0", "accuracy": 5},
    "unknown search_by": {"search_by": "sql", "query": [100.0], "accuracy": 5},
    "mass not a number": {"search_by": "mass", "query": ["abc"], "accuracy": 5},
}


@pytest.mark.parametrize("case", API_BAD, ids=list(API_BAD))
def test_bad_search_request_is_a_400_with_a_message(client: StackClient, case: str) -> None:
    resp = client.http.post(client.url("/nta/rest/ms1/batch/e2e"), json=API_BAD[case], timeout=30)
    assert resp.status_code == 400, f"{case}: HTTP {resp.status_code}"
    assert resp.json()["error"]


def test_malformed_json_body_is_a_400(client: StackClient) -> None:
    resp = client.http.post(client.url("/nta/rest/ms1/batch/e2e"), data=b"{not json",
                            headers={"Content-Type": "application/json"})  # fmt: skip
    assert resp.status_code == 400 and resp.json()["error"]

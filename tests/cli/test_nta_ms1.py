"""The `nta-ms1` CLI contract: files written, summary.json, progress lines, and bad input -> one-line error,
exit 2, nothing written in --out."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = (
    "Name,MB1,MB2,MB3,A_1,A_2,A_3,B_1,B_2,B_3,Mass,Retention Time\n"
    "x1,10,10,10,100,110,90,,,,150.0,2.0\n"
    "x2,,,,5,,,1,100,1,250.0,3.0\n"
    "x3,50,60,,70,70,70,200,200,,350.0,4.0\n"
)


def nta(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nta_pipeline.cli", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})  # fmt: skip


def write(tmp: Path, name: str, text: str | bytes) -> Path:
    path = tmp / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_full_run_on_the_shipped_export(ms1_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    d = ms1_data
    proc = nta("run", "--pos", str(d / "pooled_blood_pos_MPP.csv"), "--neg", str(d / "pooled_blood_neg_MPP.csv"),
               "--tracers", str(d / "pooled_blood_tracers.csv"),
               "--run-sequence-pos", str(d / "pooled_blood_run_sequence_pos.csv"),
               "--run-sequence-neg", str(d / "pooled_blood_run_sequence_neg.csv"), "--out", str(out), "--no-search",
               "--set", "project_name=Blood study")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["features_in"] == {"pos": 2631, "neg": 3169}
    assert summary["final_features"] > 0
    assert {t["name"]: (t["mode"], t["detected"]) for t in summary["tracers"]} == {
        "13C12-2,4-D": ("ESI-", True), "DIMP-d14": ("ESI+", True)}
    for t in summary["tracers"]:
        assert abs(t["mass_error_ppm"]) <= 5 and abs(t["rt_difference"]) <= 0.1
    assert summary["parameters"]["project_name"] == "Blood study"
    assert summary["parameters"]["search_dsstox"] == "no"
    assert summary["seconds"] > 0 and all(s["seconds"] >= 0 for s in summary["steps"])
    assert (out / "Blood_study_NTA_WebApp_QAQC.xlsx").stat().st_size > 0
    assert (out / "csv" / "Final_Occurrence_Matrix.csv").exists()
    assert len(list(out.glob("*.png"))) == 4
    progress = [line for line in proc.stderr.splitlines() if line.startswith("[")]
    assert progress[0].endswith("Reading input files") and progress[-1].endswith("Completed")


def test_plot_worker_and_in_process_drawing_write_the_same_files(ms1_data: Path, tmp_path: Path) -> None:
    d = ms1_data
    args = ["run", "--pos", str(d / "pooled_blood_pos_MPP.csv"), "--tracers", str(d / "pooled_blood_tracers.csv"),
            "--run-sequence-pos", str(d / "pooled_blood_run_sequence_pos.csv"), "--no-search", "--quiet"]  # fmt: skip
    outs = {}
    for workers in ("0", "1"):
        outs[workers] = tmp_path / f"w{workers}"
        proc = nta(*args, "--out", str(outs[workers]), env={"NTA_RENDER_WORKERS": workers})
        assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in outs["0"].glob("*.png"))
    assert names == ["Example_nta_cv_scatterplot.png", "Example_nta_occurrence_heatmap.png",
                     "Example_nta_tracer_plot_pos_1.png"]  # fmt: skip
    for name in names:
        assert (outs["1"] / name).read_bytes() == (outs["0"] / name).read_bytes(), name
    summaries = [json.loads((outs[w] / "summary.json").read_text()) for w in ("0", "1")]
    for s in summaries:
        del s["seconds"], s["steps"], s["parameters"]["datetime"]  # when and how long, not what
    assert summaries[0] == summaries[1]


def test_pos_only_and_adduct_options(tmp_path: Path) -> None:
    pos = write(tmp_path, "pos.csv", GOOD)
    out = tmp_path / "out"
    proc = nta("run", "--pos", str(pos), "--out", str(out), "--no-search", "--pos-adducts", "Na",
               "--neutral-losses", "H2O", "--quiet")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["features_in"] == {"pos": 3, "neg": 0}
    assert summary["parameters"]["pos_adducts"] == ["Na"]
    assert summary["final_features"] == 2  # x1 (A) and x3 (B), see tests/unit/test_cleaning.py


def test_neg_only(tmp_path: Path) -> None:
    neg = write(tmp_path, "neg.csv", GOOD)
    proc = nta("run", "--neg", str(neg), "--out", str(tmp_path / "o"), "--no-search", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["features_in"] == {"pos": 0, "neg": 3}


def test_twelve_replicates(tmp_path: Path) -> None:
    reps = [f"S_{i}" for i in range(1, 13)]
    header = ",".join(["MB1", "MB2", *reps, "Mass", "RT"])
    rows = [",".join(["1", "1", *["100"] * 12, f"{100 + i}.0", "2.0"]) for i in range(3)]
    pos = write(tmp_path, "p.csv", "\n".join([header, *rows]) + "\n")
    proc = nta("run", "--pos", str(pos), "--out", str(tmp_path / "o"), "--no-search", "--quiet")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["groups"]["samples"] == ["S_"] and summary["final_features"] == 3


TRACERS_NO_MASS = "Chemical_Name,Ionization_Mode,Retention_Time\nx,Esi+,2.0\n"
BAD_INPUTS = {
    "empty": ("", [], "pos.csv: the file is empty"),
    "no mass": (GOOD.replace("Mass", "Weight"), [], "Either Mass or m/z column must be in the input file"),
    "no rt": (GOOD.replace("Retention Time", "Time"), [], "Retention_Time column must be in the input file"),
    "no sample columns": ("Name,Mass,RT\nx,100,2\n", [], "minimum of two replicates"),
    "non-numeric abundance": (GOOD.replace(",70,70,70,", ",70,abc,70,"), [],
                              "pos.csv, row 4, column 'A_2': expected a numeric abundance, found 'abc'"),
    "duplicate column": (GOOD.replace("B_3", "B_2"), [], "pos.csv, row 1, column 'B_2': duplicate column name"),
    "tracer missing column": (GOOD, ["--tracers", "TRACERS"],
                              "tracers.csv, column 'Monoisotopic_Mass': required tracer column is missing"),
    "run sequence with absent sample": (GOOD, ["--tracers", "TRACERS", "--run-sequence-pos", "RUNSEQ"],
                                        "not sample or blank columns of the pos feature table: Z_9"),
    "bad parameter": (GOOD, ["--set", "mass_accuracy=-3"], "mass_accuracy: -3 must be >= 0"),
    "unknown parameter": (GOOD, ["--set", "colour=red"], "unknown parameter(s): colour"),
    "missing file": (None, [], "no such file"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_one_clear_line_and_nothing_is_written(case: str, tmp_path: Path) -> None:
    text, extra, message = BAD_INPUTS[case]
    pos = tmp_path / "pos.csv" if text is None else write(tmp_path, "pos.csv", text)
    tracer_text = TRACERS_NO_MASS if case == "tracer missing column" else (
        "Chemical_Name,Ionization_Mode,Monoisotopic_Mass,Retention_Time\nx,Esi+,150.0,2.0\n")  # fmt: skip
    tracers = write(tmp_path, "tracers.csv", tracer_text)
    runseq = write(tmp_path, "rs.csv", "Sample,Group\n" + "\n".join(
        ["MB1", "MB2", "MB3", "A_1", "A_2", "A_3", "B_1", "B_2", "B_3", "Z_9"]) + "\n")  # fmt: skip
    extra = [{"TRACERS": str(tracers), "RUNSEQ": str(runseq)}.get(a, a) for a in extra]
    out = tmp_path / "out"
    proc = nta("run", "--pos", str(pos), "--out", str(out), "--no-search", "--quiet", *extra)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nta-ms1: error: "), proc.stderr
    assert message in lines[0]
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no staging leftovers


def test_latin1_table_runs_with_a_warning(tmp_path: Path) -> None:
    pos = write(tmp_path, "pos.csv", GOOD.replace("Name", "Probe µg").encode("latin-1"))
    proc = nta("run", "--pos", str(pos), "--out", str(tmp_path / "o"), "--no-search", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "not UTF-8" in proc.stderr


def test_params_lists_every_parameter() -> None:
    proc = nta("params")
    assert proc.returncode == 0
    assert "min_replicate_hits" in proc.stdout and "Min replicate hits (%)" in proc.stdout

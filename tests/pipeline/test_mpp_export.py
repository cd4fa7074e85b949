"""The shipped pooled-blood MPP export (both modes, tracers, run sequences) end to end: the checks of
docs/ms1-workflow.md#invariants.

The original program crashes on this export (CAS_Number taken as a blank); a fixed port must finish it.
"""

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from nta_pipeline import Inputs, Parameters, run_workflow
from nta_pipeline.outputs import output_files
from nta_pipeline.plots import CV_HIGH, CV_OK, classify_occurrences

pytestmark = pytest.mark.slow
SAMPLES = [f"{n}_T" for n in range(45, 61)]


@pytest.fixture(scope="module")
def run(ms1_data: Path):
    progress: list[tuple[str, float]] = []
    inputs = Inputs(
        pos=ms1_data / "pooled_blood_pos_MPP.csv", neg=ms1_data / "pooled_blood_neg_MPP.csv",
        tracers=ms1_data / "pooled_blood_tracers.csv",
        run_sequence_pos=ms1_data / "pooled_blood_run_sequence_pos.csv",
        run_sequence_neg=ms1_data / "pooled_blood_run_sequence_neg.csv",
    )  # fmt: skip
    params = Parameters(search_dsstox="no")
    results = run_workflow(inputs, params, progress=lambda s, f: progress.append((s, f)))
    return results, progress, params


def test_design_and_input_counts(run) -> None:
    results, _, _ = run
    s = results.summary
    assert s["groups"] == {"blanks": ["MB"], "samples": SAMPLES, "blank_used": "MB"}
    assert s["features_in"] == {"pos": 2631, "neg": 3169}


def test_feature_ids_and_all_detection_statistics(run) -> None:
    sheets = run[0].sheets
    pos, neg = sheets["All Detection Statistics (Pos)"], sheets["All Detection Statistics (Neg)"]
    assert sorted(pos["Feature ID"]) == list(range(1, 2632))
    assert sorted(neg["Feature ID"]) == list(range(2632, 2632 + 3169))
    for df in (pos, neg):
        key = list(zip(df["Mass"], df["Retention Time"], strict=True))
        assert key == sorted(key)
    assert set(pos["Ionization Mode"]) == {"ESI+"} and set(neg["Ionization Mode"]) == {"ESI-"}


def test_decision_documentation_count_ordering(run) -> None:
    doc = run[0].sheets["Decision Documentation"]
    assert len(doc) == 2631 + 3169
    assert doc["Feature ID"].is_monotonic_increasing
    final, wf = doc["Final Occurrence Count"], doc["Final Occurrence Count (with flags)"]
    unfiltered, possible = doc["Unfiltered Occurrence Count"], doc["Possible Occurrence Count"]
    assert (final <= wf).all() and (wf <= unfiltered).all() and (unfiltered <= possible).all()
    assert (possible == 16).all()
    assert ((doc["Feature Removed?"] == "") == (final > 0)).all()


def test_final_matrices_rows_and_superset(run) -> None:
    sheets = run[0].sheets
    doc, fom, flags = (sheets[k] for k in ("Decision Documentation", "Final Occurrence Matrix",
                                            "Final Occurrence Matrix (flags)"))  # fmt: skip
    assert set(fom["Feature ID"]) == set(doc.loc[doc["Feature Removed?"] == "", "Feature ID"])
    assert set(flags["Feature ID"]) == set(doc.loc[doc["Final Occurrence Count (with flags)"] > 0, "Feature ID"])
    assert set(fom["Feature ID"]) < set(flags["Feature ID"])
    assert len(fom) == run[0].summary["final_features"]


def test_blank_subtracted_cell_counts(run) -> None:
    sheets = run[0].sheets
    fom, flags = sheets["Final Occurrence Matrix"], sheets["Final Occurrence Matrix (flags)"]
    blanksub = [f"BlankSub Mean {g}" for g in SAMPLES]
    assert fom[blanksub].notna().sum().sum() == fom["Final Occurrence Count"].sum()
    assert flags[blanksub].notna().sum().sum() == flags["Final Occurrence Count (with flags)"].sum()
    assert (fom[blanksub].min().min()) > 0


def test_heatmap_classes_agree_with_the_documentation(run) -> None:
    """White = a documentation cell holding a number; red = a cell that is exactly 'CV' (sample groups)."""
    sheets, _, p = run
    stats = pd.concat([sheets.sheets[f"All Detection Statistics ({m})"] for m in ("Pos", "Neg")])
    classes = classify_occurrences(stats, ["MB"], SAMPLES, min_rep=p.min_replicate_hits,
                                   min_rep_blank=p.min_replicate_hits_blanks, max_cv=p.max_replicate_cv,
                                   mrl_k=p.mrl_std_multiplier)[1:]  # fmt: skip
    doc = sheets.sheets["Decision Documentation"][[f"Mean {g}" for g in SAMPLES]]
    numbers = doc.map(lambda v: isinstance(v, float | int) and not pd.isna(v)).to_numpy().sum()
    assert (classes == CV_OK).sum() == numbers
    assert (classes == CV_HIGH).sum() == (doc == "CV").to_numpy().sum()


def test_tracers_are_found_within_tolerance(run) -> None:
    results, _, p = run
    summary = results.sheets["Tracer Summary"]
    assert set(summary["Chemical Name"]) == {"DIMP-d14", "13C12-2,4-D"}
    assert (summary["Mass Error (PPM)"].abs() <= p.mass_accuracy_tr).all()
    assert (summary["Retention Time Difference"].abs() <= p.rt_accuracy_tr).all()
    assert [t["detected"] for t in results.summary["tracers"]] == [True, True]
    tds = results.sheets["Tracer Detection Statistics"]
    assert tds.columns.is_unique  # the original repeated the pass-through columns at the end


def test_spot_checks(run) -> None:
    ads = run[0].sheets["All Detection Statistics (Pos)"]
    singles = 0
    for g in ["MB", *SAMPLES]:
        one_of_three = ads[ads[f"Detection Count {g}"] == 1]
        singles += len(one_of_three)
        assert (one_of_three[f"Detection Percentage {g}"] == 33.33).all()
        assert one_of_three[[f"STD {g}", f"CV {g}"]].isna().all().all()
    # this export is gap-filled (no partial detections): tests/unit/test_stats.py covers the 1-of-3 case
    expected = np.where(ads["Detection Percentage MB"] < 66, 0.0,
                        (3 * ads["STD MB"] + ads["Mean MB"]).fillna(ads["Mean MB"]).fillna(0.0))  # fmt: skip
    np.testing.assert_allclose(ads["Selected MRL"], expected)


def test_progress_rises_monotonically_to_done(run) -> None:
    _, progress, _ = run
    fractions = [f for _, f in progress]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert progress[-1][0] == "Completed"
    names = [s["name"] for s in run[0].summary["steps"]]
    assert "Flagging duplicates (pos)" in names and "Cleaning features" in names


def test_workbook_sheets_and_plots(run) -> None:
    results, _, p = run
    files = output_files(results, p.project_name)
    wb = load_workbook(io.BytesIO(files["Example_nta_NTA_WebApp_QAQC.xlsx"]), read_only=True)
    assert wb.sheetnames == [
        "Analysis Parameters", "Run Sequence (pos)", "Run Sequence (neg)", "All Detection Statistics (Pos)",
        "All Detection Statistics (Neg)", "Tracer Detection Statistics", "Tracer Summary",
        "Decision Documentation", "Final Occurrence Matrix", "Final Occurrence Matrix (flags)",
    ]  # fmt: skip
    ws = wb["Final Occurrence Matrix"]
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert header[:2] == ["Feature ID", "Alignment_Value"] and header[-1] == "BlankSub Mean 60_T"
    for name in ("Example_nta_occurrence_heatmap.png", "Example_nta_cv_scatterplot.png",
                 "Example_nta_tracer_plot_pos_1.png", "Example_nta_tracer_plot_neg_1.png"):  # fmt: skip
        assert files[name][:8] == b"\x89PNG\r\n\x1a\n"

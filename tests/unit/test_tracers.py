"""Tracer matching and the run-sequence checks.

See docs/ms1-workflow.md#tracer-checks and docs/ms1-workflow.md#run-sequence.
"""

import numpy as np
import pandas as pd
import pytest

from nta_pipeline.errors import InputError
from nta_pipeline.tracers import check_run_sequence, match_tracers, tracer_report, tracer_rows


def features() -> pd.DataFrame:
    return pd.DataFrame({
        "Feature ID": [1, 2, 3, 4],
        "Mass": [250.5003, 250.5010, 180.0, 250.5003],
        "Retention_Time": [5.0, 5.0, 3.0, 5.05],
        "Ionization_Mode": ["Esi+", "Esi+", "Esi+", "Esi-"],
        "S_1": [1.0, np.nan, 3.0, 4.0], "S_2": [1.0, 2.0, np.nan, np.nan],
    })  # fmt: skip


def tracers() -> pd.DataFrame:
    return pd.DataFrame({
        "Chemical_Name": ["half-Da tracer", "absent", "neg tracer"],
        "Monoisotopic_Mass": [250.5, 400.0, 250.5],
        "Retention_Time": [5.02, 1.0, 5.0],
        "Ionization_Mode": ["Esi+", "Esi+", "Esi-"],
        "DTXSID": ["DTXSID1", None, "DTXSID3"],
    })  # fmt: skip


def test_tracer_near_half_dalton_matches_within_ppm_and_rt() -> None:
    """The original's integer-Da bins split 250.5003 (-> 251) from 250.5 (-> 250 under half-to-even)."""
    pairs = match_tracers(features(), tracers(), tol=5, units="ppm", rt_tol=0.1)
    # feature 1: +1.2 ppm; feature 2: +4.0 ppm (both kept); feature 4 is the negative-mode match
    assert pairs.values.tolist() == [[0, 0], [0, 1], [2, 3]]


def test_rt_and_mass_tolerances_are_inclusive() -> None:
    f = pd.DataFrame({"Feature ID": [1], "Mass": [101.0], "Retention_Time": [2.5], "Ionization_Mode": ["Esi+"]})
    t = pd.DataFrame({"Chemical_Name": ["x"], "Monoisotopic_Mass": [100.5], "Retention_Time": [2.0],
                      "Ionization_Mode": ["Esi+"], "DTXSID": [None]})  # fmt: skip
    assert len(match_tracers(f, t, tol=0.5, units="Da", rt_tol=0.5)) == 1
    assert len(match_tracers(f, t, tol=0.25, units="Da", rt_tol=0.5)) == 0


def test_tracer_rows_statistics_and_report() -> None:
    f, t = features(), tracers()
    pairs = match_tracers(f, t, tol=5, units="ppm", rt_tol=0.1)
    rows = tracer_rows(f, t, pairs, ["S_1", "S_2"])
    assert rows["Total Detection Count"].tolist() == [2, 1, 1]
    assert rows["Total Detection Percentage"].tolist() == [100.0, 50.0, 50.0]
    assert rows.loc[0, "Mass Error (PPM)"] == pytest.approx((250.5003 - 250.5) / 250.5 * 1e6)
    assert rows.loc[0, "Retention Time Difference"] == pytest.approx(-0.02)
    report = tracer_report(t, rows)
    assert [(r["name"], r["mode"], r["detected"]) for r in report] == [
        ("half-Da tracer", "ESI+", True), ("absent", "ESI+", False), ("neg tracer", "ESI-", True)]
    assert report[0]["feature_id"] == 1  # the smaller |ppm| of its two matches
    assert report[1]["mass_error_ppm"] is None


def test_run_sequence_must_list_exactly_the_injections() -> None:
    seq = pd.DataFrame({"Sample Sequence": ["MB1", "S_1", "S_2"]})
    check_run_sequence(seq, ["MB1", "S_1", "S_2"], mode="pos", file="rs.csv")
    with pytest.raises(InputError, match="not sample or blank columns.*S_3"):
        check_run_sequence(pd.DataFrame({"n": ["MB1", "S_1", "S_2", "S_3"]}), ["MB1", "S_1", "S_2"], mode="pos",
                           file="rs.csv")  # fmt: skip
    with pytest.raises(InputError, match="missing from the run sequence: S_2"):
        check_run_sequence(pd.DataFrame({"n": ["MB1", "S_1"]}), ["MB1", "S_1", "S_2"], mode="pos", file="rs.csv")
    with pytest.raises(InputError, match="run sequence file was not found"):
        check_run_sequence(None, ["MB1"], mode="neg", file="neg")

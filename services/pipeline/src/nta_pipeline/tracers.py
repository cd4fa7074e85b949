"""Tracer matching and statistics (docs/ms1-workflow.md#tracer-checks), as a band join on the tracer's mass window.

Fixes of the original: no integer-Da bins (tracers near x.5 Da match), feature modes are compared
case-insensitively, a mode without any match is reported instead of failing the job, and a feature
matching two tracers is not duplicated in the main table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bandjoin import band_pairs
from .errors import InputError

MODE_OUT = {"Esi+": "ESI+", "Esi-": "ESI-"}


def match_tracers(features: pd.DataFrame, tracers: pd.DataFrame, *, tol: float, units: str,
                  rt_tol: float) -> pd.DataFrame:  # fmt: skip
    """Pairs (tracer row, feature row) within tolerance, both inclusive; columns `tracer` and `feature`
    hold the positional indexes into `tracers` and `features`."""
    theo = tracers["Monoisotopic_Mass"].to_numpy(dtype="float64")
    half = theo * tol / 1e6 if units == "ppm" else np.full(theo.shape, float(tol))
    mass = features["Mass"].to_numpy(dtype="float64")
    t, f = band_pairs(mass, theo - half, theo + half)
    diff = np.abs(theo[t] - mass[f])
    mass_ok = diff / theo[t] * 1e6 <= tol if units == "ppm" else diff <= tol
    rt_ok = np.abs(tracers["Retention_Time"].to_numpy()[t] - features["Retention_Time"].to_numpy()[f]) <= rt_tol
    same_mode = tracers["Ionization_Mode"].to_numpy()[t] == features["Ionization_Mode"].to_numpy()[f]
    keep = mass_ok & rt_ok & same_mode
    pairs = pd.DataFrame({"tracer": t[keep], "feature": f[keep]})
    # tracer-file order, then ascending feature mass
    pairs["_mass"] = mass[pairs["feature"]]
    return pairs.sort_values(["tracer", "_mass"], kind="stable").drop(columns="_mass").reset_index(drop=True)


def tracer_rows(features: pd.DataFrame, tracers: pd.DataFrame, pairs: pd.DataFrame,
                replicate_columns: list[str]) -> pd.DataFrame:  # fmt: skip
    """One row per match: the feature's columns plus tracer identity, errors and total detections."""
    feat = features.iloc[pairs["feature"].to_numpy()].reset_index(drop=True)
    trac = tracers.iloc[pairs["tracer"].to_numpy()].reset_index(drop=True)
    count = feat[replicate_columns].notna().sum(axis=1)
    out = feat.copy()
    out["Chemical Name"] = trac["Chemical_Name"].to_numpy()
    out["DTXSID"] = trac["DTXSID"].to_numpy()
    out["Observed Mass"] = feat["Mass"].to_numpy()
    out["Observed Retention Time"] = feat["Retention_Time"].to_numpy()
    out["Tracer Mass"] = trac["Monoisotopic_Mass"].to_numpy()
    out["Tracer Retention Time"] = trac["Retention_Time"].to_numpy()
    out["Mass Error (PPM)"] = (out["Observed Mass"] - out["Tracer Mass"]) / out["Tracer Mass"] * 1e6
    out["Retention Time Difference"] = out["Observed Retention Time"] - out["Tracer Retention Time"]
    out["Total Detection Count"] = count.to_numpy()
    out["Total Detection Percentage"] = np.round(count.to_numpy() / len(replicate_columns) * 100, 2)
    out["_tracer_index"] = pairs["tracer"].to_numpy()
    return out


def tracer_report(tracers: pd.DataFrame, matches: pd.DataFrame) -> list[dict]:
    """summary.json entries: every tracer of the file, detected or not, with its best (smallest |ppm|) match."""
    report = []
    for idx, tracer in tracers.iterrows():  # tracer files hold tens of rows: a loop is clearest
        hits = matches[matches["_tracer_index"] == idx] if len(matches) else matches
        entry = {
            "name": str(tracer["Chemical_Name"]),
            "mode": MODE_OUT.get(tracer["Ionization_Mode"], str(tracer["Ionization_Mode"])),
            "detected": bool(len(hits)),
            "matches": int(len(hits)),
            "mass_error_ppm": None,
            "rt_difference": None,
        }
        if len(hits):
            best = hits.loc[hits["Mass Error (PPM)"].abs().idxmin()]
            entry["mass_error_ppm"] = round(float(best["Mass Error (PPM)"]), 4)
            entry["rt_difference"] = round(float(best["Retention Time Difference"]), 4)
            entry["feature_id"] = int(best["Feature ID"])
        report.append(entry)
    return report


def check_run_sequence(run_sequence: pd.DataFrame | None, replicate_columns: list[str], *, mode: str,
                       file: str) -> None:  # fmt: skip
    """The run sequence must list exactly the injections of the feature table (docs/ms1-workflow.md#run-sequence)."""
    if run_sequence is None:
        raise InputError(
            f"A run sequence file was not found for the {mode} table. Please input a corresponding run "
            "sequence file for each input data file when a tracer file is given.", file=file,
        )  # fmt: skip
    names = run_sequence.iloc[:, 0].astype(str).tolist()
    listed, columns = set(names), set(replicate_columns)
    absent = [n for n in names if n not in columns]
    if absent:
        raise InputError(
            f"the run sequence names {len(absent)} injection(s) that are not sample or blank columns of the "
            f"{mode} feature table: {', '.join(absent[:5])}", file=file, column=str(run_sequence.columns[0]),
        )  # fmt: skip
    unlisted = [c for c in replicate_columns if c not in listed]
    if unlisted:
        raise InputError(
            f"{len(unlisted)} sample or blank column(s) of the {mode} feature table are missing from the run "
            f"sequence: {', '.join(unlisted[:5])}", file=file, column=str(run_sequence.columns[0]),
        )  # fmt: skip

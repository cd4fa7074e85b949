"""Occurrence flags, feature removal and blank subtraction, vectorised and done once per mode (the original ran
it three times per mode).

See docs/ms1-workflow.md#occurrence-flags-and-feature-removal and docs/ms1-workflow.md#blank-subtraction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .grouping import Design


@dataclass
class Cleaned:
    """Per-mode result: the documentation table and the two data branches (clean, flagged)."""

    documentation: pd.DataFrame  # one row per feature: counts, Feature Removed?, per-group value or flag
    clean: pd.DataFrame  # features kept, flagged means masked, BlankSub columns
    flagged: pd.DataFrame  # also keeps pure-CV occurrences


def _flag_text(r: np.ndarray, cv: np.ndarray, mrl: np.ndarray) -> np.ndarray:
    """'R', 'R, CV', 'CV, MRL', … per cell, in the fixed order R, CV, MRL; '' where unflagged."""
    parts = np.stack([np.where(r, "R", ""), np.where(cv, "CV", ""), np.where(mrl, "MRL", "")])
    text = np.full(r.shape, "", dtype=object)
    for row in parts:
        joined = np.where((text != "") & (row != ""), ", ", "")
        text = text + joined + row
    return text


def clean_features(df: pd.DataFrame, design: Design, *, min_hits: float, max_cv: float,
                   min_blank_hits: float, k: float) -> Cleaned:  # fmt: skip
    b = design.blank.root
    samples = [g.root for g in design.sample_groups]
    mean = df[[f"Mean {g}" for g in samples]].to_numpy(dtype="float64")
    pct = df[[f"Detection Percentage {g}" for g in samples]].to_numpy(dtype="float64")
    cv = df[[f"CV {g}" for g in samples]].to_numpy(dtype="float64")
    missing = np.isnan(mean)

    # 1-2: replicate flags; a non-reproducible blank counts as zero for the MRL and the subtraction
    r_flag = (pct < min_hits) & ~missing
    b_pct = df[f"Detection Percentage {b}"].to_numpy()
    b_mean_raw = df[f"Mean {b}"].to_numpy()
    gate = b_pct < min_blank_hits
    b_r = gate & ~np.isnan(b_mean_raw)
    b_mean = np.where(gate, 0.0, b_mean_raw)
    b_std = np.where(gate, 0.0, df[f"STD {b}"].to_numpy())

    # 4-5: CV (strict, NaN never flags) and MRL (detected iff mean > cutoff, strict)
    with np.errstate(invalid="ignore"):
        cv_flag = (cv > max_cv) & ~missing
    cutoff = k * b_std + b_mean
    cutoff = np.where(np.isnan(cutoff), b_mean, cutoff)
    cutoff = np.where(np.isnan(cutoff), 0.0, cutoff)
    with np.errstate(invalid="ignore"):
        mrl_flag = ~(mean > cutoff[:, None]) & ~missing

    # 6-8: documentation and counts
    flags = _flag_text(r_flag, cv_flag, mrl_flag)
    possible = len(samples)
    unfiltered = possible - missing.sum(axis=1)
    final = (~missing & ~r_flag & ~cv_flag & ~mrl_flag).sum(axis=1)
    final_wf = unfiltered - (r_flag | mrl_flag).sum(axis=1)
    removed = np.full(len(df), "", dtype=object)
    removed[missing.all(axis=1)] = "NO DETECTIONS"
    none_left = final == 0
    for name, hit in (("MRL", mrl_flag.any(axis=1)), ("CV", cv_flag.any(axis=1)), ("R", r_flag.any(axis=1))):
        add = none_left & hit
        removed[add] = np.where(removed[add] == "", name, removed[add] + ", " + name)

    doc = pd.DataFrame({"Feature ID": df["Feature ID"].to_numpy()}, index=df.index)
    if "Compound" in df.columns:
        doc["Compound"] = df["Compound"].to_numpy()
    doc["Selected MRL"] = np.where(cutoff == 0, np.nan, cutoff)
    if "Tracer Chemical Match?" in df.columns:
        doc["Tracer Chemical Match?"] = df["Tracer Chemical Match?"].to_numpy()
    doc["Duplicate Feature?"] = df["Duplicate Feature?"].to_numpy()
    doc["Feature Removed?"] = removed
    doc["Possible Occurrence Count"] = possible
    doc["Unfiltered Occurrence Count"] = unfiltered
    doc["Final Occurrence Count (with flags)"] = final_wf
    doc["Final Occurrence Count"] = final
    doc[f"Mean {b}"] = np.where(b_r, "R", np.where((b_mean == 0) | np.isnan(b_mean), None, b_mean))
    for col, g in enumerate(samples):
        doc[f"Mean {g}"] = np.where(flags[:, col] != "", flags[:, col], np.where(missing[:, col], None, mean[:, col]))

    # 9-13: masking, percentages, filter, blank subtraction
    def branch(mask: np.ndarray, keep: np.ndarray, count: np.ndarray, suffix: str) -> pd.DataFrame:
        out = df.copy()
        masked = np.where(mask, np.nan, mean)
        for col, g in enumerate(samples):
            out[f"Mean {g}"] = masked[:, col]
            sub = masked[:, col] - b_mean
            out[f"BlankSub Mean {g}"] = np.where(np.isnan(sub) | (sub <= 0), np.nan, sub)
        out[f"Final Occurrence Count{suffix}"] = count
        out[f"Final Occurrence Percentage{suffix}"] = np.round(np.round(count / possible, 2) * 100, 0)
        return out.loc[keep]

    clean = branch(r_flag | cv_flag | mrl_flag, removed == "", final, "")
    flagged = branch(r_flag | mrl_flag, final_wf > 0, final_wf, " (with flags)")
    return Cleaned(documentation=doc, clean=clean, flagged=flagged)

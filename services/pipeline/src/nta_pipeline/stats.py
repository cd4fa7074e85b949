"""Replicate statistics and method reporting limits, vectorised per group.

See docs/ms1-workflow.md#replicate-statistics and docs/ms1-workflow.md#method-reporting-limits.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .grouping import Design

STAT_NAMES = ("Mean", "Median", "STD", "CV", "Detection Count", "Detection Percentage")
MRL_COLUMNS = ("Selected MRL", "MRL (3x)", "MRL (5x)", "MRL (10x)")


def group_statistics(values: np.ndarray) -> dict[str, np.ndarray]:
    """Row-wise statistics of one replicate group (rows = features, columns = replicates), NaN ignored.

    Rounding follows the original: mean/median/std to 4 dp, CV from the rounded values, detection
    percentage = round(count / n, 4) * 100 (so 1 of 3 -> 33.33).
    """
    n = values.shape[1]
    present = ~np.isnan(values)
    count = present.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows are expected: no detection
        total = np.where(present, values, 0.0).sum(axis=1)
        mean = np.where(count > 0, total / count, np.nan)
        median = np.nanmedian(values, axis=1) if n else np.full(len(values), np.nan)
        sq = np.where(present, (values - mean[:, None]) ** 2, 0.0).sum(axis=1)
        std = np.where(count >= 2, np.sqrt(sq / (count - 1)), np.nan)
        mean_r, std_r = np.round(mean, 4), np.round(std, 4)
        cv = np.round(std_r / mean_r, 4)
    return {
        "Mean": mean_r,
        "Median": np.round(median, 4),
        "STD": std_r,
        "CV": cv,
        "Detection Count": count.astype(np.int64),
        "Detection Percentage": np.round(count / n, 4) * 100,
    }


def add_statistics(df: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Append `<stat> <root>` columns for every group and `Max CV Across Samples` (blank included)."""
    new: dict[str, np.ndarray] = {}
    for group in design.groups:
        stats = group_statistics(df[list(group.columns)].to_numpy(dtype="float64"))
        for name in STAT_NAMES:
            new[f"{name} {group.root}"] = stats[name]
    out = pd.concat([df, pd.DataFrame(new, index=df.index)], axis=1)
    cvs = out[[f"CV {g.root}" for g in design.groups]].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out["Max CV Across Samples"] = np.nanmax(np.where(np.isinf(cvs), np.nan, cvs), axis=1)
    return out


def mrl(mean_b: np.ndarray, std_b: np.ndarray, k: float) -> np.ndarray:
    """k * STD + Mean of the blank, falling back to the mean (one detection), then 0 (none)."""
    value = k * std_b + mean_b
    value = np.where(np.isnan(value), mean_b, value)
    return np.where(np.isnan(value), 0.0, value)


def add_mrl(df: pd.DataFrame, design: Design, *, k: float, min_blank_hits: float) -> pd.DataFrame:
    """Selected MRL (k) and the 3x/5x/10x variants; all 0 where the blank is not reproducible."""
    b = design.blank.root
    mean_b, std_b = df[f"Mean {b}"].to_numpy(), df[f"STD {b}"].to_numpy()
    gated = df[f"Detection Percentage {b}"].to_numpy() < min_blank_hits
    out = df.copy()
    for column, mult in zip(MRL_COLUMNS, (k, 3.0, 5.0, 10.0), strict=True):
        out[column] = np.where(gated, 0.0, mrl(mean_b, std_b, mult))
    return out

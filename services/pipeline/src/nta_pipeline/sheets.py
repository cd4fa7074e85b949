"""Column layouts of the output sheets (docs/ms1-workflow.md#workbook-sheets). Pure selection and renaming."""

from __future__ import annotations

import pandas as pd

from .grouping import Design
from .stats import MRL_COLUMNS, STAT_NAMES
from .tracers import MODE_OUT

FLAG_COLUMNS = ["Duplicate Feature?", "Is Adduct or Loss?", "Has Adduct or Loss?", "Adduct or Loss Info"]
RENAME = {"Ionization_Mode": "Ionization Mode", "Retention_Time": "Retention Time"}


def _present(df: pd.DataFrame, columns: list[str]) -> list[str]:
    return [c for c in columns if c in df.columns]


def _out(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = df.loc[:, columns].rename(columns=RENAME)
    if "Ionization Mode" in out.columns:
        out["Ionization Mode"] = out["Ionization Mode"].map(lambda m: MODE_OUT.get(m, m))
    return out.reset_index(drop=True)


def all_detection_statistics(df: pd.DataFrame, design: Design, passthrough: list[str]) -> pd.DataFrame:
    columns = ["Feature ID", *passthrough, "Ionization_Mode", "Mass", "Retention_Time"]
    columns += _present(df, ["Compound"]) + list(MRL_COLUMNS) + FLAG_COLUMNS + ["Max CV Across Samples"]
    for g in design.groups:
        columns += list(g.columns) + [f"{s} {g.root}" for s in STAT_NAMES]
    return _out(df, _present(df, columns))


def tracer_detection_statistics(matches: pd.DataFrame, design: Design, passthrough: list[str]) -> pd.DataFrame:
    columns = ["Feature ID", *passthrough, "Chemical Name", "DTXSID", "Ionization_Mode", "Tracer Mass",
               "Observed Mass", "Mass Error (PPM)", "Tracer Retention Time", "Observed Retention Time",
               "Retention Time Difference", *MRL_COLUMNS, *FLAG_COLUMNS, "Total Detection Count",
               "Total Detection Percentage", "Max CV Across Samples"]  # fmt: skip
    columns += sorted(design.replicate_columns)
    columns += [f"{s} {g.root}" for s in STAT_NAMES for g in design.groups]  # grouped by statistic
    out = _out(matches, _present(matches, columns))
    return out.rename(columns={"Tracer Mass": "Mass", "Tracer Retention Time": "Retention Time"})


TRACER_SUMMARY = ["Feature ID", "Chemical Name", "DTXSID", "Ionization Mode", "Mass Error (PPM)",
                  "Retention Time Difference", "Total Detection Count", "Total Detection Percentage",
                  "Max CV Across Samples"]  # fmt: skip


def final_matrix(branch: pd.DataFrame, design: Design, passthrough: list[str], *, flags: bool) -> pd.DataFrame:
    suffix = " (with flags)" if flags else ""
    columns = ["Feature ID", *passthrough, "Ionization_Mode", "Mass", "Retention_Time"]
    columns += _present(branch, ["Compound", "Tracer Chemical Match?"]) + FLAG_COLUMNS
    columns += [f"Final Occurrence Count{suffix}", f"Final Occurrence Percentage{suffix}"]
    columns += [f"BlankSub Mean {g.root}" for g in design.sample_groups]
    return _out(branch, _present(branch, columns))

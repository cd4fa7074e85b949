"""The MS1 workflow (docs/ms1-workflow.md#steps) from input files to result tables and plots, step by step.

`run_workflow` reports each step through a progress callback `(step name, fraction done)` and records
per-step timings; a failing step raises `StepError` naming it ("Failed on step: Flagging duplicates").
With a `renderer` (nta_pipeline.render.RenderPool) the figures are drawn in its worker while the workflow goes on.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import plots, sheets
from .annotate import annotate_adducts, flag_duplicates
from .cleaning import Cleaned, clean_features
from .errors import InputError, NtaError, StepError
from .grouping import Design, design_from_columns
from .params import NEUTRAL_LOSSES, Parameters
from .readers import Source, Table, read_feature_table, read_run_sequence, read_tracers, to_numeric_strict
from .stats import add_mrl, add_statistics
from .tracers import check_run_sequence, match_tracers, tracer_report, tracer_rows

if TYPE_CHECKING:  # the search client imports requests; only a run that searches needs it
    from .render import PendingPlots, RenderPool
    from .search import Searcher

Progress = Callable[[str, float], None]

# (step name, share of the work) — names as the original reports them where it has one
STEPS: list[tuple[str, float]] = [
    ("Reading input files", 0.08),
    ("Check for existence of required columns", 0.02),
    ("Flagging duplicates", 0.05),
    ("Calculating statistics", 0.08),
    ("Annotating adducts", 0.05),
    ("Checking tracers", 0.04),
    ("Create heatmap", 0.15),
    ("Create scatterplot", 0.08),
    ("Create tracer plots", 0.10),
    ("Cleaning features", 0.07),
    ("Combining modes", 0.04),
    ("Searching dsstox database", 0.09),
    ("Building workbook", 0.15),
]
MODES = ("pos", "neg")


@dataclass
class Inputs:
    """Input files (paths or bytes); names are used in error messages."""

    pos: Source | None = None
    neg: Source | None = None
    tracers: Source | None = None
    run_sequence_pos: Source | None = None
    run_sequence_neg: Source | None = None
    names: dict[str, str] = field(default_factory=dict)

    def name(self, role: str) -> str:
        if role in self.names:
            return self.names[role]
        src = getattr(self, role)
        return Path(src).name if isinstance(src, str | Path) else role.replace("_", " ")


@dataclass
class Results:
    sheets: dict[str, pd.DataFrame]
    chemical_results: pd.DataFrame | None
    plots: Mapping[str, bytes]  # name -> PNG; a render.PendingPlots when drawn by a RenderPool
    summary: dict


class _Run:
    """Bookkeeping of one run: progress, timings and step-error wrapping."""

    def __init__(self, progress: Progress | None):
        self.progress = progress or (lambda step, fraction: None)
        self.done = 0.0
        self.timings: list[dict] = []

    @contextmanager
    def step(self, name: str, *, part: str = "", share: float = 1.0) -> Iterator[None]:
        """One step (or a `share` of it, e.g. one ionization mode); `part` is shown after the name."""
        weight = dict(STEPS)[name] * share
        self.progress(f"{name} ({part})" if part else name, round(self.done, 4))
        start = time.perf_counter()
        try:
            yield
        except StepError:
            raise
        except Exception as exc:  # every failure names its step; user errors keep their message
            raise StepError(name, exc) from exc
        label = f"{name} ({part})" if part else name
        self.timings.append({"name": label, "seconds": round(time.perf_counter() - start, 4)})
        self.done = min(1.0, self.done + weight)


def _prepare_mode(table: Table, design: Design, params: Parameters, first_id: int) -> pd.DataFrame:
    """Feature IDs, numeric replicate columns, non-detects, void-volume filter."""
    df = table.df
    missing = [c for c in design.replicate_columns if c not in df.columns]
    if missing:
        raise InputError("sample column of the other mode's table is missing here (both tables must have the "
                         "same sample columns)", file=table.name, column=missing[0])  # fmt: skip
    numeric = {c: to_numeric_strict(table, c, what="a numeric abundance") for c in design.replicate_columns}
    values = pd.DataFrame(numeric, index=df.index)
    if params.na_val:
        # a non-numeric na_val was already applied as a text NA value by the reader
        with contextlib.suppress(ValueError):
            values = values.mask(values == float(params.na_val))
    df = pd.concat([df.drop(columns=design.replicate_columns), values], axis=1)
    df.insert(0, "Feature ID", np.arange(first_id, first_id + len(df), dtype=np.int64))
    no_mass = df["Mass"].isna() & df["Retention_Time"].notna()
    if no_mass.any():
        raise InputError("the mass is empty", file=table.name, row=table.line_of(df.index[no_mass][0]),
                         column="Mass")  # fmt: skip
    return df[df["Retention_Time"] > params.minimum_rt]


def _annotate(df: pd.DataFrame, design: Design, params: Parameters, run: _Run, mode: str,
              share: float) -> pd.DataFrame:  # fmt: skip
    """Duplicates, statistics, MRL and adducts for one mode; rows end sorted by (Mass, RT)."""
    with run.step("Flagging duplicates", part=mode, share=share):
        df = df.sort_values(["Mass", "Feature ID"], kind="stable").reset_index(drop=True)
        df["Duplicate Feature?"] = flag_duplicates(
            df["Mass"].to_numpy(), df["Retention_Time"].to_numpy(), tol=params.mass_accuracy,
            units=params.mass_accuracy_units, rt_tol=params.rt_accuracy,
        )  # fmt: skip
    with run.step("Calculating statistics", part=mode, share=share):
        df = add_statistics(df, design)
        df = add_mrl(df, design, k=params.mrl_std_multiplier, min_blank_hits=params.min_replicate_hits_blanks)
        df = df.sort_values(["Mass", "Retention_Time", "Feature ID"], kind="stable").reset_index(drop=True)
    with run.step("Annotating adducts", part=mode, share=share):
        adducts = list(params.pos_adducts if mode == "pos" else params.neg_adducts)
        names = adducts + [n for n in NEUTRAL_LOSSES if n in params.neutral_losses]
        is_, has, info = annotate_adducts(
            df["Feature ID"].to_numpy(), df["Mass"].to_numpy(), df["Retention_Time"].to_numpy(), names,
            tol=params.mass_accuracy, units=params.mass_accuracy_units, rt_tol=params.rt_accuracy,
        )  # fmt: skip
        df["Is Adduct or Loss?"], df["Has Adduct or Loss?"], df["Adduct or Loss Info"] = is_, has, info
    return df


class _Drawings:
    """Draws each figure in-process (timed inside its step), or hands it to a RenderPool and goes on."""

    def __init__(self, run: _Run, renderer: RenderPool | None):
        self.renderer = renderer
        self.plots: dict[str, bytes] | PendingPlots = {}
        if renderer is not None:
            from .render import PendingPlots

            def drawn(step: str, seconds: float) -> None:
                # A step's time is its share here (the figure's data) plus the drawing in the worker.
                entry = next(t for t in run.timings if t["name"] == step)
                entry["seconds"] = round(entry["seconds"] + seconds, 4)

            self.plots = PendingPlots(on_drawn=drawn, before_wait=renderer.draw_waiting_here)

    def draw(self, step: str, name: str, fn: Callable[..., bytes | list[bytes]], *args: object,
             **kwargs: object) -> None:  # fmt: skip
        """PNG(s) of `fn(*args, **kwargs)` as plot `name` (a list of PNGs as `name_1`, `name_2`, ...)."""
        if isinstance(self.plots, dict):
            png = fn(*args, **kwargs)
            pngs = {f"{name}_{i}": p for i, p in enumerate(png, start=1)} if isinstance(png, list) else {name: png}
            self.plots.update(pngs)
        else:
            self.plots.add(step, name, self.renderer.submit(fn, *args, **kwargs))


def run_workflow(inputs: Inputs, params: Parameters | None = None, *, progress: Progress | None = None,
                 searcher: Searcher | None = None, renderer: RenderPool | None = None) -> Results:  # fmt: skip
    """Run every step of the MS1 workflow (docs/ms1-workflow.md#steps; how the results differ from the original's:
    docs/ms1-workflow.md#differences-from-the-original).

    With a `renderer` the figures are drawn in its worker process and `Results.plots` waits for them when read
    (a failed drawing then raises StepError naming its step); without one they are drawn here, step by step.
    """
    params = params or Parameters()
    run = _Run(progress)
    started = time.perf_counter()
    warnings: list[str] = []

    with run.step("Reading input files"):
        if inputs.pos is None and inputs.neg is None:
            raise InputError("give a positive-mode table, a negative-mode table, or both")
        tables = {m: read_feature_table(getattr(inputs, m), mode=m, name=inputs.name(m), na_val=params.na_val)
                  for m in MODES if getattr(inputs, m) is not None}  # fmt: skip
        runseq = {m: read_run_sequence(src, name=inputs.name(f"run_sequence_{m}"))
                  for m in MODES if (src := getattr(inputs, f"run_sequence_{m}")) is not None}  # fmt: skip
        tracers = read_tracers(inputs.tracers, name=inputs.name("tracers")) if inputs.tracers else None
        for t in tables.values():
            warnings += t.warnings

    with run.step("Check for existence of required columns"):
        first = tables.get("pos") or tables["neg"]
        design = design_from_columns(list(first.df.columns), file=first.name)
        frames, next_id, features_in = {}, 1, {}
        for mode, table in tables.items():
            features_in[mode] = len(table.df)
            frames[mode] = _prepare_mode(table, design, params, next_id)
            next_id += len(table.df)
        passthrough = [c for c in design.passthrough if any(c in f.columns for f in frames.values())]

    for mode in list(frames):
        frames[mode] = _annotate(frames[mode], design, params, run, mode, share=1 / len(frames))

    matches = pd.DataFrame()
    with run.step("Checking tracers"):
        if tracers is not None:
            found = []
            for mode, df in frames.items():
                check_run_sequence(runseq.get(mode), design.replicate_columns, mode=mode,
                                   file=inputs.name(f"run_sequence_{mode}"))  # fmt: skip
                pairs = match_tracers(df, tracers, tol=params.mass_accuracy_tr, units=params.mass_accuracy_units_tr,
                                      rt_tol=params.rt_accuracy_tr)  # fmt: skip
                rows = tracer_rows(df, tracers, pairs, design.replicate_columns)
                rows["_mode"] = mode
                df["Tracer Chemical Match?"] = df["Feature ID"].isin(rows["Feature ID"]).astype("float64")
                if pairs.empty and len(df):
                    warnings.append(f"no tracer matched in the {mode} table; check the tracer mass and "
                                    "retention-time accuracy settings")  # fmt: skip
                found.append(rows)
            matches = pd.concat(found, ignore_index=True)
            matches["_mode_order"] = matches["_mode"].map({"pos": 0, "neg": 1})
            matches = matches.sort_values(["_mode_order", "_tracer_index"], kind="stable").reset_index(drop=True)

    stats_all = pd.concat(list(frames.values()), ignore_index=True)
    blank_roots = [g.root for g in design.blank_groups]
    sample_roots = [g.root for g in design.sample_groups]
    drawings = _Drawings(run, renderer)
    plot_summary: dict[str, object] = {}
    with run.step("Create heatmap"):
        classes = plots.classify_occurrences(
            stats_all, blank_roots, sample_roots, min_rep=params.min_replicate_hits,
            min_rep_blank=params.min_replicate_hits_blanks, max_cv=params.max_replicate_cv,
            mrl_k=params.mrl_std_multiplier,
        )  # fmt: skip
        plot_summary["occurrence_heatmap"] = plots.occurrence_counts(classes)
        title = plots.heatmap_title(classes.size, params.min_replicate_hits, params.min_replicate_hits_blanks,
                                    params.max_replicate_cv, params.mrl_std_multiplier)  # fmt: skip
        drawings.draw("Create heatmap", "occurrence_heatmap", plots.draw_occurrence_heatmap, classes,
                      blank_roots + sample_roots, title=title, max_cv=params.max_replicate_cv)  # fmt: skip
    with run.step("Create scatterplot"):
        is_tracer = stats_all["Feature ID"].isin(matches["Feature ID"]) if len(matches) else (
            pd.Series(False, index=stats_all.index))  # fmt: skip
        panels = plots.cv_panels(stats_all, blank_roots, sample_roots, is_tracer)
        plot_summary["cv_scatterplot"] = plots.cv_counts(panels, params.max_replicate_cv)
        drawings.draw("Create scatterplot", "cv_scatterplot", plots.draw_cv_scatterplot, panels,
                      max_cv=params.max_replicate_cv)  # fmt: skip
    with run.step("Create tracer plots"):
        for mode in frames:
            rows = matches[matches["_mode"] == mode] if len(matches) else matches
            if len(rows) == 0 or mode not in runseq:
                continue
            drawings.draw(
                "Create tracer plots", f"tracer_plot_{mode}", plots.draw_tracer_figures, rows, runseq[mode],
                mode="ESI+" if mode == "pos" else "ESI-", yaxis=params.tracer_plot_yaxis_format,
                trendline=params.tracer_plot_trendline == "yes",
            )  # fmt: skip

    with run.step("Cleaning features"):
        cleaned: dict[str, Cleaned] = {
            mode: clean_features(df, design, min_hits=params.min_replicate_hits, max_cv=params.max_replicate_cv,
                                 min_blank_hits=params.min_replicate_hits_blanks, k=params.mrl_std_multiplier)
            for mode, df in frames.items()
        }  # fmt: skip

    with run.step("Combining modes"):
        # Unlike the original, rows sharing (Mass, RT) across modes are kept: each is its own feature.
        def combine(part: str) -> pd.DataFrame:
            df = pd.concat([getattr(c, part) for c in cleaned.values()], ignore_index=True)
            return df.sort_values(["Mass", "Retention_Time", "Feature ID"], kind="stable").reset_index(drop=True)

        clean, flagged = combine("clean"), combine("flagged")
        documentation = pd.concat([c.documentation for c in cleaned.values()], ignore_index=True)
        documentation = documentation.sort_values("Feature ID", kind="stable").reset_index(drop=True)

    chemical_results = None
    with run.step("Searching dsstox database"):
        if params.search_dsstox == "yes" and searcher is not None and len(flagged):
            chemical_results = _search(flagged, params, searcher)
        elif params.search_dsstox == "yes":
            warnings.append("chemical search skipped: no search API configured")

    with run.step("Building workbook"):
        out_sheets = _assemble(params, design, passthrough, frames, runseq, matches, documentation, clean,
                               flagged)  # fmt: skip

    summary = {
        "final_features": int(len(out_sheets["Final Occurrence Matrix"])),
        "final_features_with_flags": int(len(out_sheets["Final Occurrence Matrix (flags)"])),
        "features_in": {m: features_in.get(m, 0) for m in MODES},
        "features_after_void_filter": {m: int(len(df)) for m, df in frames.items()},
        "groups": {"blanks": blank_roots, "samples": sample_roots, "blank_used": design.blank.root},
        "tracers": tracer_report(tracers, matches) if tracers is not None else [],
        "chemical_candidates": int(len(chemical_results)) if chemical_results is not None else None,
        "plots": plot_summary,
        "parameters": params.as_dict(),
        "warnings": warnings,
        "steps": run.timings,
        "seconds": round(time.perf_counter() - started, 4),
    }
    run.progress("Completed", 1.0)
    return Results(sheets=out_sheets, chemical_results=chemical_results, plots=drawings.plots, summary=summary)


def _search(flagged: pd.DataFrame, params: Parameters, searcher: Searcher) -> pd.DataFrame:
    """Candidates for every distinct mass (or formula) of the flagged matrix, joined back to its features."""
    key = "Mass" if params.search_mode == "mass" else "Formula"
    if key not in flagged.columns:
        raise InputError(f"formula search needs a '{key}' column in the feature table")
    if key == "Formula":  # MPP writes formulas spaced ("C5 H13 N O"); the API takes "C5H13NO"
        flagged = flagged.assign(Formula=flagged["Formula"].astype("string").str.replace(" ", "", regex=False))
    query = flagged[key].dropna().drop_duplicates().tolist()
    hits = searcher(params.search_mode, query, params.parent_ion_mass_accuracy)
    if hits.empty:
        return pd.DataFrame(columns=["Feature ID", "Mass", "Retention Time", "INPUT"])
    features = flagged[list(dict.fromkeys(["Feature ID", "Mass", "Retention_Time", key]))]
    joined = features.merge(hits, left_on=key, right_on="INPUT", how="inner").rename(columns=sheets.RENAME)
    if key != "Mass":  # the join key repeats INPUT
        joined = joined.drop(columns=key)
    return joined.sort_values(["Feature ID", "MASS_DIFFERENCE"], kind="stable").reset_index(drop=True)


def _assemble(params: Parameters, design: Design, passthrough: list[str], frames: dict[str, pd.DataFrame],
              runseq: dict[str, pd.DataFrame], matches: pd.DataFrame, documentation: pd.DataFrame,
              clean: pd.DataFrame, flagged: pd.DataFrame) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Sheets in the original's insertion order; a sheet is present only if its inputs exist."""
    out: dict[str, pd.DataFrame] = {
        "Analysis Parameters": pd.DataFrame(params.sheet_rows(), columns=["Parameter", "Value"]),
    }
    for mode in MODES:
        if mode in runseq:
            out[f"Run Sequence ({mode})"] = runseq[mode]
    for mode in MODES:
        if mode in frames:
            out[f"All Detection Statistics ({mode.capitalize()})"] = sheets.all_detection_statistics(
                frames[mode], design, passthrough)  # fmt: skip
    if len(matches):
        tds = sheets.tracer_detection_statistics(matches, design, passthrough)
        out["Tracer Detection Statistics"] = tds
        out["Tracer Summary"] = tds[sheets.TRACER_SUMMARY]
    out["Decision Documentation"] = documentation
    out["Final Occurrence Matrix"] = sheets.final_matrix(clean, design, passthrough, flags=False)
    out["Final Occurrence Matrix (flags)"] = sheets.final_matrix(flagged, design, passthrough, flags=True)
    return out


__all__ = ["Inputs", "NtaError", "Parameters", "Results", "STEPS", "run_workflow"]

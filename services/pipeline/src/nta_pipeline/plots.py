"""QA/QC figures: feature-occurrence heatmap, CV scatterplot and tracer run-sequence plots.

Figures are built on `matplotlib.figure.Figure` + `FigureCanvasAgg` and never touch pyplot, so there is no
global figure registry or backend switch and the functions are safe to call from Dask worker threads. Each
figure is split into its data (computed here without matplotlib: classes, points, counts) and its drawing
(`draw_*`, which return PNG bytes), so `nta_pipeline.render` can draw in another process while the summary is
known at once. matplotlib is imported only by the drawing code: `import nta_pipeline.plots` stays cheap.

Drawing cost is almost all matplotlib's per-tick Python work (each axis recomputes its ticks for every tight-bbox
query of the constrained layout), so two things that repeated it are avoided, both without changing a pixel:
`Figure.savefig` drew a laid-out figure once more before its real draw (we print the canvas directly), and an
axes title left at its automatic height re-measures the y axis on every layout query (the CV panels and the
tracer panels with a log axis pin it at y = 1, the height it got anyway: nothing sits above those axes; linear
tracer axes may show an offset text there and the heatmap's title is moved, so both keep the automatic height).
Within the one draw, each axis computes its ticks and each text its layout once (nta_pipeline.drawcache), and the
axes of a tracer figure or CV scatterplot are reused by the next one drawn on the same thread (`_grid_figure`), as is
the mathtext parser with the log axes' labels it has parsed (`png_bytes`).
The PNGs are pixel-identical to those of `savefig`; tests/pipeline/test_plot_reference.py holds the proof.

Differences from the original, each a fix:
- heatmap: blank rows honour the blank replicate threshold (the original always painted them grey);
- heatmap: colours are pinned to classes, so a missing class no longer shifts the palette;
- tracer plots: more than 10 sample-type groups cycle the palette instead of failing;
- tracer plots: trendlines are fitted on the true run-sequence positions (the original fitted evenly
  spaced x, which misplaced curves whenever injections were missing, and hid failed fits).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.mathtext import MathTextParser

# Resolution per figure; module-level so callers/tests can lower it. Pixel size = inches × dpi.
HEATMAP_DPI = 50
SCATTER_DPI = 100
TRACER_DPI = 100
# zlib level of the PNGs (Pillow's default is 6). Measured on the holdout-like figures: encoding 0.157 -> 0.100 s,
# and 1,048 -> 942 KB in all (the CV scatterplot shrinks, the others grow 8-20 %); the pixels are the same.
PNG_LEVEL = 1

# Occurrence classes, in colour-bar order. Codes are array values, pinned to colours via BoundaryNorm.
NO_OCCURRENCE, CV_OK, CV_HIGH = 0, 1, 2
GREY, WHITE, RED = (0.8, 0.8, 0.8), (1.0, 1.0, 1.0), (1.0, 0.0, 0.2)
OCCURRENCE_COLORS: tuple[tuple[float, float, float], ...] = (GREY, WHITE, RED)

TRACER_PALETTE = ("teal", "orange", "magenta", "blue", "green", "red", "cyan", "yellow", "white", "black")
MAX_TRACERS_PER_FIGURE = 16
# (max panels, (rows, cols)); the first entry that fits wins.
_GRID_SHAPES = (
    (1, (1, 1)),
    (2, (2, 1)),
    (3, (3, 1)),
    (4, (2, 2)),
    (6, (2, 3)),
    (9, (3, 3)),
    (12, (3, 4)),
    (16, (4, 4)),
)


def _figure(width: float, height: float, dpi: int) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=dpi, layout="constrained")


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG, drawn once (the figure's dpi is the output resolution)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from .drawcache import computed_once

    buf = io.BytesIO()
    canvas = FigureCanvasAgg(fig)
    # Each renderer comes with a new mathtext parser, whose cache of parsed labels (the log axes' 10^k) would start
    # empty for every figure: one parser per thread serves them all.
    canvas.get_renderer().mathtext_parser = _scaffolds.mathtext_parser()
    # Not fig.savefig: with a layout engine it runs a whole extra draw before the real one.
    with computed_once():
        canvas.print_png(buf, pil_kwargs={"compress_level": PNG_LEVEL})
    return buf.getvalue()


def _write(out: Path, png: bytes) -> None:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)


def _fmt(x: float) -> str:
    return f"{x:g}"


# --------------------------------------------------------------------------------------------- heatmap


def occurrence_colormap() -> tuple[ListedColormap, BoundaryNorm]:
    """Colormap + norm mapping class codes 0/1/2 to fixed colours, independent of which codes occur."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    cmap = ListedColormap(list(OCCURRENCE_COLORS))
    return cmap, BoundaryNorm([-0.5, 0.5, 1.5, 2.5], cmap.N)


def _num(stats: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(stats[column], errors="coerce").to_numpy(dtype=float)


def blank_mdl(
    stats: pd.DataFrame, blank_root: str | None, *, mrl_k: float, min_rep_blank: float
) -> np.ndarray:
    """Per-feature detection limit from the first blank group: Mean + k·STD, else Mean, else 0.

    A blank group below its replicate threshold is treated as absent (MDL 0).
    """
    if blank_root is None:
        return np.zeros(len(stats))
    mean = _num(stats, f"Mean {blank_root}")
    mdl = mean + mrl_k * _num(stats, f"STD {blank_root}")
    mdl = np.where(np.isnan(mdl), mean, mdl)
    mdl = np.where(np.isnan(mdl), 0.0, mdl)
    # NaN percentage compares False, i.e. counts as "not detected" -> MDL 0
    blank_ok = _num(stats, f"Detection Percentage {blank_root}") >= min_rep_blank
    return np.where(blank_ok, mdl, 0.0)


def classify_occurrences(
    stats: pd.DataFrame,
    blank_roots: Sequence[str],
    sample_roots: Sequence[str],
    *,
    min_rep: float,
    min_rep_blank: float,
    max_cv: float,
    mrl_k: float,
) -> np.ndarray:
    """Class code per (group, feature): rows are blank roots then sample roots, columns follow stats rows."""
    mdl = blank_mdl(stats, blank_roots[0] if blank_roots else None, mrl_k=mrl_k, min_rep_blank=min_rep_blank)
    rows = []
    for root, is_blank in [(r, True) for r in blank_roots] + [(r, False) for r in sample_roots]:
        mean = _num(stats, f"Mean {root}")
        cv = _num(stats, f"CV {root}")
        pct = _num(stats, f"Detection Percentage {root}")
        # Comparisons with NaN are False, so a missing percentage never passes a threshold.
        occurs = ~np.isnan(mean)
        if is_blank:
            # FIX: the original's blank row was always grey; blanks now honour the blank replicate threshold.
            occurs &= pct >= min_rep_blank
        else:
            occurs &= (pct >= min_rep) & (mean > mdl)
        # A surviving occurrence with NaN CV (single detection) is not flagged, so it counts as "CV ok".
        code = np.where(cv > max_cv, CV_HIGH, CV_OK)
        rows.append(np.where(occurs, code, NO_OCCURRENCE))
    if not rows:
        return np.zeros((0, len(stats)), dtype=int)
    return np.vstack(rows).astype(int)


def feature_order(classes: np.ndarray) -> np.ndarray:
    """Column order: fewest "CV ok" cells first; stable, so ties keep the table's row order."""
    return np.argsort((classes == CV_OK).sum(axis=0), kind="stable")


def heatmap_title(n_cells: int, min_rep: float, min_rep_blank: float, max_cv: float, mrl_k: float) -> str:
    """Two-line heatmap title, e.g. "... Sample Rep. Threshold = 66%; ... MRL Multiplier = 3.0"."""
    return (
        f"Heatmap of Feature Occurrences (n = {n_cells})\n"
        f"Sample Rep. Threshold = {_fmt(min_rep)}%; Blank Rep. Threshold = {_fmt(min_rep_blank)}%; "
        f"CV Threshold = {_fmt(max_cv)}; MRL Multiplier = {float(mrl_k)!r}"
    )


def occurrence_counts(classes: np.ndarray) -> dict[str, int]:
    """Cells per class, as reported in the summary and on the colour bar."""
    return {
        "no_occurrence": int((classes == NO_OCCURRENCE).sum()),
        "white": int((classes == CV_OK).sum()),
        "red": int((classes == CV_HIGH).sum()),
    }


def occurrence_heatmap(
    stats: pd.DataFrame,
    blank_roots: list[str],
    sample_roots: list[str],
    *,
    min_rep: float,
    min_rep_blank: float,
    max_cv: float,
    mrl_k: float,
    out: Path,
) -> dict[str, int]:
    """Write the feature-occurrence heatmap PNG to `out`; return cell counts per class."""
    classes = classify_occurrences(
        stats,
        blank_roots,
        sample_roots,
        min_rep=min_rep,
        min_rep_blank=min_rep_blank,
        max_cv=max_cv,
        mrl_k=mrl_k,
    )
    title = heatmap_title(classes.size, min_rep, min_rep_blank, max_cv, mrl_k)
    _write(out, draw_occurrence_heatmap(classes, list(blank_roots) + list(sample_roots), title=title, max_cv=max_cv))
    return occurrence_counts(classes)


def draw_occurrence_heatmap(classes: np.ndarray, labels: list[str], *, title: str, max_cv: float) -> bytes:
    """PNG of the class matrix (rows = groups named by `labels`, columns = features)."""
    counts = occurrence_counts(classes)
    n_groups, n_features = classes.shape
    fig = _figure(40, 15, HEATMAP_DPI)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=36)
    if n_features == 0 or n_groups == 0:
        ax.text(0.5, 0.5, "no features", ha="center", va="center", fontsize=48, transform=ax.transAxes)
        ax.set_axis_off()
        return png_bytes(fig)

    # Least-"white" features first; stable so ties keep the table's row order.
    order = feature_order(classes)
    cmap, norm = occurrence_colormap()
    image = ax.imshow(classes[:, order], aspect="auto", interpolation="nearest", cmap=cmap, norm=norm)
    ax.set_yticks(range(n_groups), labels=labels, fontsize=20)
    ax.set_xticks([])
    ax.set_ylabel("Sample Set", fontsize=28)
    ax.set_xlabel(f"Feature ID (n = {n_features})", fontsize=28)
    cbar = fig.colorbar(image, ax=ax, ticks=[NO_OCCURRENCE, CV_OK, CV_HIGH], pad=0.01)
    cbar.ax.set_yticklabels(
        [
            f"no occurrence ({counts['no_occurrence']})",
            f"CV <= {_fmt(max_cv)} ({counts['white']})",
            f"CV > {_fmt(max_cv)} ({counts['red']})",
        ],
        fontsize=24,
    )
    cbar.outline.set_edgecolor("black")
    return png_bytes(fig)


# ----------------------------------------------------------------------------------------- CV scatter


def _cv_points(stats: pd.DataFrame, roots: Sequence[str], tracer: np.ndarray) -> pd.DataFrame:
    frames = [
        pd.DataFrame({"mean": _num(stats, f"Mean {r}"), "cv": _num(stats, f"CV {r}"), "tracer": tracer})
        for r in roots
    ]
    if not frames:
        return pd.DataFrame({"mean": [], "cv": [], "tracer": []}).astype({"tracer": bool})
    return pd.concat(frames, ignore_index=True).dropna(subset=["mean", "cv"])


def log_limits(values: np.ndarray) -> tuple[float, float]:
    """Decade-aligned log-axis limits around the positive values; (1, 10) when there are none."""
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size == 0:
        return 1.0, 10.0
    lo = 10.0 ** math.floor(math.log10(positive.min()))
    hi = 10.0 ** math.ceil(math.log10(positive.max()))
    return (lo, hi * 10) if hi <= lo else (lo, hi)


def cv_panels(
    stats: pd.DataFrame, blank_roots: Sequence[str], sample_roots: Sequence[str], is_tracer: pd.Series
) -> list[tuple[str, pd.DataFrame]]:
    """(panel label, points with mean/cv/tracer) for the blanks and the non-blanks panel."""
    # Align by label; rows missing from is_tracer (or NaN there) are unknowns.
    tracer = is_tracer.reindex(stats.index, fill_value=False).eq(True).to_numpy()
    return [("Blanks", _cv_points(stats, blank_roots, tracer)), ("Non-blanks", _cv_points(stats, sample_roots, tracer))]


def cv_counts(panels: list[tuple[str, pd.DataFrame]], max_cv: float) -> dict[str, int]:
    all_points = pd.concat([p for _, p in panels], ignore_index=True)
    return {
        "points": len(all_points),
        "tracer_points": int(all_points["tracer"].sum()),
        "above": int((all_points["cv"] > max_cv).sum()),
    }


def cv_scatterplot(
    stats: pd.DataFrame,
    blank_roots: list[str],
    sample_roots: list[str],
    *,
    is_tracer: pd.Series,
    max_cv: float,
    out: Path,
) -> dict[str, int]:
    """Write the CV-vs-abundance scatterplot PNG (blanks | non-blanks); return point counts."""
    panels = cv_panels(stats, blank_roots, sample_roots, is_tracer)
    _write(out, draw_cv_scatterplot(panels, max_cv=max_cv))
    return cv_counts(panels, max_cv)


def draw_cv_scatterplot(panels: list[tuple[str, pd.DataFrame]], *, max_cv: float) -> bytes:
    """PNG of the two CV panels of `cv_panels`."""
    all_means = np.concatenate([p["mean"].to_numpy(dtype=float) for _, p in panels])
    x_lo, x_hi = log_limits(all_means)

    fig, axes, keep = _grid_figure("cv", 15, 5, SCATTER_DPI, 1, 2)
    for ax, (label, pts) in zip(axes, panels, strict=True):
        # Tracers drawn last so they sit on top of the (usually far more numerous) unknowns.
        for is_t, colour, name in ((False, "whitesmoke", "unknowns"), (True, "firebrick", "tracers")):
            sub = pts[pts["tracer"] == is_t]
            above = int((sub["cv"] > max_cv).sum())
            entry = f"{name} ({above} of {len(sub)} above line)"
            ax.scatter(sub["mean"], sub["cv"], c=colour, edgecolors="black", alpha=0.5, s=30, label=entry)
        ax.axhline(max_cv, color="red", linestyle="dashed", linewidth=1.5)
        # Offset in points, not data units, so the label clears the line at any figure size; the backing box
        # keeps it legible over dense points.
        ax.annotate(
            f"CV = {_fmt(max_cv)}",
            (x_hi / 5, max_cv),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            weight="bold",
            size=14,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.7},
            zorder=5,
        )
        ax.set_xscale("log")
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(0, 2.5)
        ax.set_yticks(np.arange(0, 2.51, 0.5))
        ax.set_title(f"CV vs. Abundance: {label}", fontsize=18, weight="bold", y=1.0)
        ax.set_xlabel("Mean Abundance", fontsize=14)
        ax.set_ylabel("CV", fontsize=14)
        ax.tick_params(axis="both", which="both", labelsize=12)
        legend = ax.legend(title="Unfiltered Occurrences", fontsize=11, title_fontsize=12, loc="upper left")
        legend.get_frame().set_facecolor("lightgray")
        legend.get_frame().set_edgecolor("black")
        legend.get_frame().set_alpha(1)
    png = png_bytes(fig)
    keep()
    return png


# ------------------------------------------------------------------------------ tracer run sequence


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, cols) of the subplot grid for n tracers on one figure (1 ≤ n ≤ 16)."""
    if not 1 <= n <= MAX_TRACERS_PER_FIGURE:
        raise ValueError(f"grid_shape needs 1..{MAX_TRACERS_PER_FIGURE} panels, got {n}")
    return next(shape for limit, shape in _GRID_SHAPES if n <= limit)


def fit_quadratic(x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Quadratic coefficients (highest power first) for y over the true x, or None if underdetermined."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    # Fewer than 3 distinct x cannot pin a parabola; skipping is the documented outcome, not an error.
    if np.unique(x).size < 3:
        return None
    return np.polyfit(x, y, 2)


def group_colors(groups: Sequence[str]) -> dict[str, str]:
    """Palette colour per group in first-appearance order, cycling past 10 groups."""
    unique = list(dict.fromkeys(groups))
    return {g: TRACER_PALETTE[i % len(TRACER_PALETTE)] for i, g in enumerate(unique)}


def _run_order(run_sequence: pd.DataFrame) -> pd.DataFrame:
    names = run_sequence.iloc[:, 0].astype(str).str.strip().to_numpy()
    if run_sequence.shape[1] > 1:
        group_col = run_sequence.iloc[:, 1]
        groups = group_col.where(group_col.notna(), "Sample").astype(str).str.strip().to_numpy()
    else:
        groups = np.full(len(names), "Sample", dtype=object)
    order = pd.DataFrame({"name": names, "group": groups, "x": np.arange(1, len(names) + 1)})
    # A name listed twice keeps its first position, so each injection column maps to one x.
    return order.drop_duplicates("name", keep="first").reset_index(drop=True)


def tracer_run_sequence_plots(
    tracers: pd.DataFrame,
    run_sequence: pd.DataFrame,
    *,
    mode: str,
    yaxis: str,
    trendline: bool,
    out_prefix: Path,
) -> list[Path]:
    """Write tracer abundance-vs-injection-order figures (≤16 panels each); return the PNG paths."""
    out_prefix = Path(out_prefix)
    paths = []
    for fig_no, png in enumerate(draw_tracer_figures(tracers, run_sequence, mode=mode, yaxis=yaxis,
                                                     trendline=trendline), start=1):  # fmt: skip
        path = out_prefix.with_name(f"{out_prefix.name}_{fig_no}.png")
        _write(path, png)
        paths.append(path)
    return paths


def draw_tracer_figures(
    tracers: pd.DataFrame, run_sequence: pd.DataFrame, *, mode: str, yaxis: str, trendline: bool
) -> list[bytes]:
    """PNG of each tracer figure (figure n holds tracers 16(n-1)+1 .. 16n)."""
    from matplotlib.lines import Line2D

    if tracers.empty:
        return []
    n_injections = len(run_sequence)
    full_order = _run_order(run_sequence)
    # Colours come from the whole run sequence so a group keeps its colour on every panel and figure.
    colors = group_colors(full_order["group"].tolist())
    order = full_order[full_order["name"].isin([str(c) for c in tracers.columns])]
    column_of = {str(c): c for c in tracers.columns}
    pngs: list[bytes] = []

    for start in range(0, len(tracers), MAX_TRACERS_PER_FIGURE):
        chunk = tracers.iloc[start : start + MAX_TRACERS_PER_FIGURE]
        fig, axes, keep = _grid_figure("tracer", 14, 8, TRACER_DPI, *grid_shape(len(chunk)))
        for ax, (_, row) in zip(axes, chunk.iterrows(), strict=False):
            raw = pd.Series([row[column_of[n]] for n in order["name"]], index=order.index, dtype=object)
            pts = order.assign(y=pd.to_numeric(raw, errors="coerce").astype(float)).dropna(subset=["y"])
            log = yaxis == "log" and bool((pts["y"] > 0).any())
            if log:
                pts = pts[pts["y"] > 0]  # non-positive abundances cannot be placed on a log axis
            for group, gpts in pts.groupby("group", sort=False):
                ax.scatter(gpts["x"], gpts["y"], c=colors[group], edgecolors="black", linewidths=0.5, s=25)
                if trendline and len(gpts) >= 3:
                    coef = fit_quadratic(gpts["x"].to_numpy(), gpts["y"].to_numpy())
                    if coef is not None:
                        xs = np.linspace(gpts["x"].min(), gpts["x"].max(), 100)
                        ys = np.polyval(coef, xs)
                        if log:  # drop the part of the curve a log axis cannot show
                            ys = np.where(ys > 0, ys, np.nan)
                        ax.plot(xs, ys, color=colors[group], linewidth=1.5)
            # A log axis has no offset text, so nothing can push the title up: pin it (see the module docstring).
            ax.set_title(str(row["Chemical Name"]), fontsize=9, **({"y": 1.0} if log else {}))
            ax.set_yscale("log" if log else "linear")
            ax.set_xlim(0, n_injections + 1)
            ax.tick_params(labelsize=7)
        for ax in axes[len(chunk) :]:
            ax.set_axis_off()

        first, last = start + 1, start + len(chunk)
        subtitle = f"Chemical {first}, {mode}" if first == last else f"Chemicals {first}-{last}, {mode}"
        fig.suptitle(f"Abundance across Samples\n{subtitle}", fontsize=14)
        fig.supxlabel("Injection (run sequence order)", fontsize=10)
        fig.supylabel("Abundance", fontsize=10)
        handles = [
            Line2D([], [], marker="o", linestyle="", markerfacecolor=c, markeredgecolor="black", markersize=7)
            for c in colors.values()
        ]
        fig.legend(handles, list(colors), loc="outside right upper", title="Sample Group", fontsize=9)
        pngs.append(png_bytes(fig))
        keep()
    return pngs


class _Scaffolds(threading.local):
    """Per thread (Dask draws on several at once): figures kept for reuse, by (kind, width, height, dpi, rows,
    cols), and the mathtext parser every figure's renderer uses."""

    def __init__(self) -> None:
        self.figures: dict[tuple, tuple[Figure, np.ndarray]] = {}
        self._parser: MathTextParser | None = None

    def mathtext_parser(self) -> MathTextParser:
        if self._parser is None:
            from matplotlib.mathtext import MathTextParser

            self._parser = MathTextParser("path")  # what RendererAgg creates for itself
        return self._parser


_scaffolds = _Scaffolds()


def _grid_figure(kind: str, width: float, height: float, dpi: int, n_rows: int, n_cols: int
                 ) -> tuple[Figure, np.ndarray, Callable[[], None]]:  # fmt: skip
    """A figure with an n_rows x n_cols grid of empty axes, and `keep()` to call once it has been drawn.

    Creating the axes and their tick objects is a third of a tracer figure's drawing time (the log axes of the CV
    scatterplot: over a hundred minor ticks), so a figure drawn without error is kept and, on the next request with
    the same key on this thread, emptied and handed out again: data artists, texts and legends go, every axes
    returns to its grid cell, a linear scale, a new axes' limits and an automatic title height, and what is drawn
    next is what a new figure would show, byte for byte (tests/unit/test_plots.py draws sequences both ways). The
    figure leaves the cache while in use, so a drawing that fails half-way is never reused. Only what these
    figures change is reset: a new kind of figure needs its own sequence test.
    """
    from matplotlib.transforms import Bbox

    key = (kind, width, height, dpi, n_rows, n_cols)
    cached = _scaffolds.figures.pop(key, None)
    if cached is None:
        fig = _figure(width, height, dpi)
        axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    else:
        fig, axes = cached
        for legend in list(fig.legends):
            legend.remove()
        for ax in axes:
            for artist in [*ax.collections, *ax.lines, *ax.texts]:
                artist.remove()
            if ax.get_legend() is not None:
                ax.get_legend().remove()
            ax.set_subplotspec(ax.get_subplotspec())  # back to its cell: the layout starts from there, as on a new one
            ax.dataLim.set(Bbox.null())
            ax.ignore_existing_data_limits = True
            ax.set_xscale("linear")
            ax.set_yscale("linear")
            ax.set_xlim(0, 1, auto=True)  # a new axes' limits, autoscaled again
            ax.set_ylim(0, 1, auto=True)
            ax.set_axis_on()
            ax.set_title("")
            ax._autotitlepos = True  # as a new axes has it; set_title(y=...) turns it off

    def keep() -> None:
        _scaffolds.figures[key] = fig, axes

    return fig, axes, keep

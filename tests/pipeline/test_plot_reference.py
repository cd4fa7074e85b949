"""The plots draw exactly what the reference says: panels, points, colours, curves, titles, labels, ticks, legends
and image data, plus coarse pixel statistics of each PNG.

tests/data/plots/reference.json was written by the implementation of plots.py before its drawing was sped up
(commit d001c53), with `python -m tests.pipeline.test_plot_reference --write`; it is the expected value here, never
recomputed by the code under test. Regenerate it only for a change that is meant to alter what a plot shows.

Every figure is described right after Agg has drawn it (FigureCanvasAgg.draw is wrapped), so the description
covers what was rendered, however the figure was built.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.text import Text
from PIL import Image

from nta_pipeline import Inputs, Parameters, plots, run_workflow

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "plots" / "reference.json"
MS1 = Path(__file__).resolve().parents[1] / "data" / "ms1"
FULL_POINTS = 400  # point lists up to this length are stored in full, longer ones as counts + digest
POSITION_TOL = 0.004  # axes position (figure fraction): 3 px of a 800 px figure
PIXEL_TOL = 0.004  # channel means and block means (0..1)


# ------------------------------------------------------------------------------------------ description


def _num(v: float) -> float | str:
    v = float(v)
    return repr(v) if not math.isfinite(v) else float(f"{v:.10g}")


def _rgba(c: object) -> list[float]:
    return [round(float(x), 4) for x in to_rgba(c)]


def _digest(rows: list) -> str:
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:20]


def _text(t: Text | None) -> dict | None:
    if t is None or not t.get_visible() or not t.get_text():
        return None
    return {"text": t.get_text(), "size": _num(t.get_fontsize()), "weight": str(t.get_fontweight()),
            "color": _rgba(t.get_color())}  # fmt: skip


def _broadcast(values: np.ndarray, n: int) -> np.ndarray:
    values = np.asarray(values)
    return np.broadcast_to(values, (n, *values.shape[1:])) if len(values) == 1 else values


def _points(ax) -> dict:
    """Every scatter point in draw order, whether drawn as one collection per series or per panel."""
    rows = []
    for coll in sorted((c for c in ax.collections if isinstance(c, PathCollection)), key=lambda c: c.get_zorder()):
        offsets = np.ma.getdata(coll.get_offsets())
        n = len(offsets)
        if n == 0:
            continue
        fc, ec = _broadcast(coll.get_facecolors(), n), _broadcast(coll.get_edgecolors(), n)
        sizes, widths = _broadcast(coll.get_sizes(), n), _broadcast(coll.get_linewidths(), n)
        for i in range(n):
            rows.append([_num(offsets[i, 0]), _num(offsets[i, 1]), [round(float(x), 4) for x in fc[i]],
                         [round(float(x), 4) for x in ec[i]], _num(sizes[i]), _num(widths[i])])  # fmt: skip
    styles = Counter(json.dumps(r[2:]) for r in rows)
    out: dict = {"n": len(rows), "digest": _digest(rows), "styles": sorted([k, v] for k, v in styles.items())}
    if len(rows) <= FULL_POINTS:
        out["xy"] = [r[:2] for r in rows]
    return out


def _curves(ax) -> list[dict]:
    """Lines (trendlines, the CV threshold), whether Line2D or LineCollection segments."""
    curves = []
    for artist in sorted([*ax.lines, *(c for c in ax.collections if isinstance(c, LineCollection))],
                         key=lambda a: a.get_zorder()):  # fmt: skip
        if isinstance(artist, Line2D):
            xy = [np.asarray(artist.get_xdata(), float), np.asarray(artist.get_ydata(), float)]
            parts = [(np.column_stack(xy), artist.get_color(), artist.get_linewidth(), artist.get_linestyle())]
        else:
            colors = _broadcast(artist.get_colors(), len(artist.get_segments()))
            widths = _broadcast(artist.get_linewidths(), len(artist.get_segments()))
            parts = [(seg, colors[i], widths[i], "-") for i, seg in enumerate(artist.get_segments())]
        for xy, color, width, style in parts:
            rows = [[_num(x), _num(y)] for x, y in np.asarray(xy, float)]
            curves.append({"n": len(rows), "digest": _digest(rows), "ends": [rows[0], rows[-1]] if rows else [],
                           "color": _rgba(color), "width": _num(width), "style": str(style)})  # fmt: skip
    return curves


def _ticks(axis) -> dict:
    out = {}
    for minor in (False, True):
        labels = [t.get_text() for t in axis.get_ticklabels(minor=minor)]
        locs = [_num(v) for v in axis.get_ticklocs(minor=minor)]
        out["minor" if minor else "major"] = [[loc, label] for loc, label in zip(locs, labels, strict=False)]
    return out


def _legend(legend) -> dict | None:
    if legend is None:
        return None
    handles = []
    for h in legend.legend_handles:
        if isinstance(h, Line2D):
            handles.append({"marker": str(h.get_marker()), "face": _rgba(h.get_markerfacecolor()),
                            "edge": _rgba(h.get_markeredgecolor()), "size": _num(h.get_markersize())})  # fmt: skip
        else:
            handles.append({"face": [_rgba(c) for c in h.get_facecolors()],
                            "edge": [_rgba(c) for c in h.get_edgecolors()]})  # fmt: skip
    frame = legend.get_frame()
    return {"title": _text(legend.get_title()), "texts": [_text(t) for t in legend.get_texts()], "handles": handles,
            "frame": [_rgba(frame.get_facecolor()), _rgba(frame.get_edgecolor())]}  # fmt: skip


def _image(im: AxesImage) -> dict:
    data = np.ma.getdata(im.get_array())
    cmap = im.get_cmap()
    return {"shape": list(data.shape), "digest": _digest(data.astype(float).round(10).tolist()),
            "counts": sorted([_num(k), int(v)] for k, v in zip(*np.unique(data, return_counts=True), strict=True)),
            "colors": [_rgba(c) for c in cmap(np.arange(cmap.N))],
            "boundaries": [_num(b) for b in getattr(im.norm, "boundaries", [])],
            "interpolation": im.get_interpolation()}  # fmt: skip


def describe_axes(ax) -> dict:
    return {
        "position": [round(v, 4) for v in ax.get_position().bounds],
        "axison": ax.axison,
        "titles": [_text(t) for t in (ax._left_title, ax.title, ax._right_title)],
        "xlabel": _text(ax.xaxis.label),
        "ylabel": _text(ax.yaxis.label),
        "scale": [ax.get_xscale(), ax.get_yscale()],
        "xlim": [_num(v) for v in ax.get_xlim()],
        "ylim": [_num(v) for v in ax.get_ylim()],
        "xticks": _ticks(ax.xaxis) if ax.axison else None,
        "yticks": _ticks(ax.yaxis) if ax.axison else None,
        "points": _points(ax),
        "curves": _curves(ax),
        "images": [_image(im) for im in ax.images],
        "texts": [dict(_text(t) or {}, xy=[_num(v) for v in getattr(t, "xy", t.get_position())]) for t in ax.texts],
        "legend": _legend(ax.get_legend()),
        "spines": sorted(k for k, s in ax.spines.items() if s.get_visible()),
    }


def describe_figure(fig: Figure) -> dict:
    return {
        "size": [_num(v) for v in fig.get_size_inches()],
        "suptitle": _text(fig._suptitle),
        "supxlabel": _text(fig._supxlabel),
        "supylabel": _text(fig._supylabel),
        "legends": [_legend(lg) for lg in fig.legends],
        "axes": [describe_axes(ax) for ax in fig.axes],
    }


def pixel_stats(png: bytes) -> dict:
    """Size, channel means and the mean of each cell of a 6 x 6 grid: panels moved or recoloured show here."""
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float) / 255
    h, w, _ = image.shape
    grid = [[round(float(image[h * i // 6 : h * (i + 1) // 6, w * j // 6 : w * (j + 1) // 6].mean()), 4)
             for j in range(6)] for i in range(6)]  # fmt: skip
    return {"size": [w, h], "means": [round(float(m), 4) for m in image.mean(axis=(0, 1))], "grid": grid}


@contextmanager
def drawn_figures() -> Iterator[list[dict]]:
    """Describe every figure Agg draws inside the block, in drawing order."""
    drawn: list[dict] = []
    original = FigureCanvasAgg.draw

    def draw(self: FigureCanvasAgg) -> None:
        original(self)
        drawn.append(describe_figure(self.figure))

    FigureCanvasAgg.draw = draw
    try:
        yield drawn
    finally:
        FigureCanvasAgg.draw = original


# ------------------------------------------------------------------------------------------------- cases


def _tracer_inputs(n_tracers: int, n_injections: int, groups: list[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = [f"inj{i}" for i in range(n_injections)]
    rng = np.random.default_rng(7)
    level = rng.lognormal(12, 1, (n_tracers, 1)) * (1 - 0.02 * np.arange(n_injections))
    tracers = pd.DataFrame(level * rng.lognormal(0, 0.15, (n_tracers, n_injections)), columns=names)
    tracers.insert(0, "Chemical Name", [f"chem {i}" for i in range(n_tracers)])
    run_sequence = pd.DataFrame({"Sample Sequence": names})
    if groups is not None:
        run_sequence["Sample Group"] = [groups[i % len(groups)] for i in range(n_injections)]
    return tracers, run_sequence


def _shipped_export(tmp: Path) -> dict[str, bytes]:
    inputs = Inputs(pos=MS1 / "pooled_blood_pos_MPP.csv", neg=MS1 / "pooled_blood_neg_MPP.csv",
                    tracers=MS1 / "pooled_blood_tracers.csv",
                    run_sequence_pos=MS1 / "pooled_blood_run_sequence_pos.csv",
                    run_sequence_neg=MS1 / "pooled_blood_run_sequence_neg.csv")  # fmt: skip
    return dict(run_workflow(inputs, Parameters(search_dsstox="no")).plots)


def _tracers_many(tmp: Path) -> dict[str, bytes]:
    # 17 tracers -> a 16-panel and a 1-panel figure; 12 groups cycle the palette; a missing column, a NaN
    tracers, run_sequence = _tracer_inputs(17, 30, [f"G{i}" for i in range(12)])
    tracers = tracers.drop(columns=["inj3"])
    tracers.loc[0, "inj5"] = np.nan
    tracers.loc[1, "inj6"] = 0.0  # a non-positive value on a log axis is left out
    paths = plots.tracer_run_sequence_plots(tracers, run_sequence, mode="ESI+", yaxis="log", trendline=True,
                                            out_prefix=tmp / "many")  # fmt: skip
    return {p.stem: p.read_bytes() for p in paths}


def _tracers_linear(tmp: Path) -> dict[str, bytes]:
    tracers, run_sequence = _tracer_inputs(5, 20, ["Blank", "QC", "Sample", "Sample"])
    paths = plots.tracer_run_sequence_plots(tracers, run_sequence, mode="ESI-", yaxis="linear", trendline=True,
                                            out_prefix=tmp / "linear")  # fmt: skip
    tracers, run_sequence = _tracer_inputs(3, 8, None)
    tracers.iloc[2, 1:] = 0.0  # no positive value: a linear axis although log was asked for
    paths += plots.tracer_run_sequence_plots(tracers, run_sequence, mode="ESI+", yaxis="log", trendline=False,
                                             out_prefix=tmp / "nogroups")  # fmt: skip
    return {p.stem: p.read_bytes() for p in paths}


def _empty_and_small(tmp: Path) -> dict[str, bytes]:
    rng = np.random.default_rng(3)
    n = 40
    stats = pd.DataFrame({"Feature ID": range(n)})
    for root, scale in (("MB", 1e3), ("S1", 1e5), ("S2", 1e6)):
        mean = rng.lognormal(0, 1.5, n) * scale
        mean[rng.random(n) < 0.2] = np.nan
        stats[f"Mean {root}"], stats[f"STD {root}"] = mean, mean * rng.uniform(0.05, 1.5, n)
        stats[f"CV {root}"] = stats[f"STD {root}"] / stats[f"Mean {root}"]
        stats[f"Detection Percentage {root}"] = rng.choice([33.33, 66.67, 100.0], n)
    is_tracer = pd.Series(np.arange(n) % 9 == 0)
    thresholds = {"min_rep": 66.0, "min_rep_blank": 66.0, "max_cv": 0.8, "mrl_k": 3.0}
    plots.occurrence_heatmap(stats, ["MB"], ["S1", "S2"], out=tmp / "heatmap.png", **thresholds)
    plots.occurrence_heatmap(stats.iloc[:0], ["MB"], ["S1", "S2"], out=tmp / "heatmap_empty.png", **thresholds)
    plots.cv_scatterplot(stats, ["MB"], ["S1", "S2"], is_tracer=is_tracer, max_cv=0.8, out=tmp / "cv.png")
    plots.cv_scatterplot(stats, [], ["S1"], is_tracer=is_tracer, max_cv=1.2, out=tmp / "cv_no_blanks.png")
    return {p.stem: p.read_bytes() for p in sorted(tmp.glob("*.png"), key=lambda p: p.stat().st_mtime_ns)}


CASES: dict[str, Callable[[Path], dict[str, bytes]]] = {
    "shipped_export": _shipped_export,
    "tracers_many": _tracers_many,
    "tracers_linear": _tracers_linear,
    "heatmap_and_scatter_small": _empty_and_small,
}


def render_case(name: str, tmp: Path) -> dict:
    with drawn_figures() as drawn:
        pngs = CASES[name](tmp)
    return {"files": list(pngs), "figures": drawn, "pixels": {k: pixel_stats(v) for k, v in pngs.items()}}


# ----------------------------------------------------------------------------------------------- compare


def assert_same(actual: object, expected: object, where: str = "") -> None:
    """Exact equality, except axes positions and pixel statistics, which get a small absolute tolerance."""
    tol = POSITION_TOL if where.endswith("position") else PIXEL_TOL if "/pixels/" in where else None
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected), f"{where}: keys differ"
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}/{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r} != {expected!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same(a, e, f"{where}" if tol is not None else f"{where}[{i}]")
    elif tol is not None and isinstance(expected, float):
        assert actual == pytest.approx(expected, abs=tol), f"{where}: {actual} != {expected}"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


@pytest.fixture(autouse=True)
def _full_dpi(monkeypatch: pytest.MonkeyPatch) -> None:
    # The reference was drawn at the shipped resolutions; pin them against a test that lowers them.
    monkeypatch.setattr(plots, "HEATMAP_DPI", 50)
    monkeypatch.setattr(plots, "SCATTER_DPI", 100)
    monkeypatch.setattr(plots, "TRACER_DPI", 100)


@pytest.mark.parametrize("case", list(CASES))
def test_plots_match_the_reference(case: str, reference: dict, tmp_path: Path) -> None:
    actual = render_case(case, tmp_path)
    expected = reference[case]
    assert actual["files"] == expected["files"]
    assert len(actual["figures"]) == len(expected["figures"]) == len(expected["files"])
    assert_same(actual, expected, case)


def test_reference_covers_every_kind_of_panel(reference: dict) -> None:
    # Guards the reference itself: it must hold real content, not empty figures.
    shipped = reference["shipped_export"]
    assert shipped["files"] == ["occurrence_heatmap", "cv_scatterplot", "tracer_plot_pos_1", "tracer_plot_neg_1"]
    heatmap, scatter = shipped["figures"][0], shipped["figures"][1]
    assert heatmap["axes"][0]["images"][0]["shape"] == [17, 5800]
    assert [ax["titles"][1]["text"] for ax in scatter["axes"]] == ["CV vs. Abundance: Blanks",
                                                                  "CV vs. Abundance: Non-blanks"]  # fmt: skip
    assert scatter["axes"][1]["points"]["n"] > 50_000
    many = reference["tracers_many"]["figures"][0]
    assert len(many["axes"]) == 16 and all(ax["points"]["n"] > 0 for ax in many["axes"])
    assert sum(len(ax["curves"]) for ax in many["axes"]) > 16


def _write() -> None:  # pragma: no cover - run by hand, see the module docstring
    import tempfile

    plots.HEATMAP_DPI, plots.SCATTER_DPI, plots.TRACER_DPI = 50, 100, 100
    out = {}
    for name in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            out[name] = render_case(name, Path(tmp))
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE.write_text(json.dumps(out, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {REFERENCE} ({REFERENCE.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(description="write tests/data/plots/reference.json from the current plots.py")
    parser.add_argument("--write", action="store_true", required=True)
    parser.parse_args()
    _write()

"""QA/QC plots: class/count logic on hand-built tables, and that each writer produces a valid PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from nta_pipeline import plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NAN = np.nan


@pytest.fixture(autouse=True)
def _low_dpi(monkeypatch: pytest.MonkeyPatch) -> None:
    # Geometry and logic do not depend on resolution; small images keep each test well under 2 s.
    monkeypatch.setattr(plots, "HEATMAP_DPI", 10)
    monkeypatch.setattr(plots, "SCATTER_DPI", 20)
    monkeypatch.setattr(plots, "TRACER_DPI", 20)


def assert_png(path: Path, width_in: float, height_in: float, dpi: int) -> np.ndarray:
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    image = mpimg.imread(path)
    assert image.shape[:2] == (round(height_in * dpi), round(width_in * dpi))
    return image


def stats_table(groups: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """Statistics table from {root: {"mean": [...], "std": [...], "cv": [...], "pct": [...]}}."""
    n = len(next(iter(groups.values()))["mean"])
    data: dict[str, list[float] | range] = {
        "Feature ID": range(n),
        "Mass": [100.0] * n,
        "Retention_Time": [1.0] * n,
    }
    for root, g in groups.items():
        data[f"Mean {root}"] = g["mean"]
        data[f"Median {root}"] = g["mean"]
        data[f"STD {root}"] = g["std"]
        data[f"CV {root}"] = g["cv"]
        data[f"Detection Count {root}"] = [p * 3 / 100 for p in g["pct"]]
        data[f"Detection Percentage {root}"] = g["pct"]
    return pd.DataFrame(data)


# 3 features × (MB | S1, S2); thresholds min_rep = min_rep_blank = 66, max_cv = 0.8, mrl_k = 3.
#   F0: MB ok (MDL 100 + 3·10 = 130); S1 ok; S2 CV 1.2 > 0.8            -> white, white, red
#   F1: MB at 33% is below the blank threshold -> grey, and MDL = 0;
#       S1 at 33% fails the replicate threshold; S2 mean 40 passes only because MDL = 0
#                                                                       -> grey, grey, white
#   F2: MB ok (MDL 1000 + 3·100 = 1300); S1 mean 1200 <= MDL; S2 CV 0.9 -> white, grey, red
HAND_TABLE = {
    "MB": {"mean": [100, 50, 1000], "std": [10, NAN, 100], "cv": [0.1, NAN, 0.1], "pct": [100, 33.33, 66.67]},
    "S1": {
        "mean": [1000, 500, 1200],
        "std": [500, 100, 240],
        "cv": [0.5, 0.2, 0.2],
        "pct": [100, 33.33, 100],
    },
    "S2": {
        "mean": [1000, 40, 5000],
        "std": [1200, 12, 4500],
        "cv": [1.2, 0.3, 0.9],
        "pct": [100, 66.67, 100],
    },
}
THRESHOLDS = {"min_rep": 66.0, "min_rep_blank": 66.0, "max_cv": 0.8, "mrl_k": 3.0}


def test_classify_occurrences_by_hand() -> None:
    classes = plots.classify_occurrences(stats_table(HAND_TABLE), ["MB"], ["S1", "S2"], **THRESHOLDS)
    grey, white, red = plots.NO_OCCURRENCE, plots.CV_OK, plots.CV_HIGH
    expected = [[white, grey, white], [white, grey, grey], [red, white, red]]
    np.testing.assert_array_equal(classes, expected)
    # White cells per feature 2, 1, 1 -> F1 and F2 tie and keep their order.
    np.testing.assert_array_equal(plots.feature_order(classes), [1, 2, 0])


def test_blank_mdl_fallbacks() -> None:
    stats = stats_table(
        {
            "MB": {
                "mean": [100, 100, NAN, 100],
                "std": [10, NAN, NAN, 10],
                "cv": [0.1] * 4,
                "pct": [100, 100, 100, 0],
            }
        }
    )
    mdl = plots.blank_mdl(stats, "MB", mrl_k=3.0, min_rep_blank=66.0)
    np.testing.assert_allclose(mdl, [130, 100, 0, 0])
    np.testing.assert_allclose(plots.blank_mdl(stats, None, mrl_k=3.0, min_rep_blank=66.0), [0, 0, 0, 0])


def test_occurrence_heatmap_counts_and_png(tmp_path: Path) -> None:
    out = tmp_path / "heatmap.png"
    counts = plots.occurrence_heatmap(stats_table(HAND_TABLE), ["MB"], ["S1", "S2"], out=out, **THRESHOLDS)
    assert counts == {"no_occurrence": 3, "white": 4, "red": 2}
    assert_png(out, 40, 15, plots.HEATMAP_DPI)


def test_heatmap_title_format() -> None:
    assert plots.heatmap_title(9, 66.0, 66.0, 0.8, 3.0) == (
        "Heatmap of Feature Occurrences (n = 9)\n"
        "Sample Rep. Threshold = 66%; Blank Rep. Threshold = 66%; CV Threshold = 0.8; MRL Multiplier = 3.0"
    )


def test_occurrence_colours_are_pinned_per_class() -> None:
    cmap, norm = plots.occurrence_colormap()
    for code, colour in zip(
        (plots.NO_OCCURRENCE, plots.CV_OK, plots.CV_HIGH), plots.OCCURRENCE_COLORS, strict=True
    ):
        # The mapping of one code must not depend on which other codes are present.
        assert cmap(norm(np.array([code])))[0][:3] == pytest.approx(colour)
        assert cmap(norm(np.array([code, code])))[0][:3] == pytest.approx(colour)


def test_single_class_heatmap_keeps_its_colour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only red cells: an auto-scaled colormap would paint them with its lowest colour (grey).
    monkeypatch.setattr(plots, "HEATMAP_DPI", 20)
    stats = stats_table(
        {"S1": {"mean": [1000, 2000], "std": [1500, 3000], "cv": [1.5, 1.5], "pct": [100, 100]}}
    )
    out = tmp_path / "red.png"
    counts = plots.occurrence_heatmap(stats, [], ["S1"], out=out, **THRESHOLDS)
    assert counts == {"no_occurrence": 0, "white": 0, "red": 2}
    image = assert_png(out, 40, 15, plots.HEATMAP_DPI)
    height, width = image.shape[:2]
    centre = image[height // 2, width // 3, :3]  # inside the heatmap, left of the colour bar
    assert centre == pytest.approx(plots.RED, abs=0.01)


def test_heatmap_without_features_still_writes_png(tmp_path: Path) -> None:
    empty = stats_table(HAND_TABLE).iloc[0:0]
    out = tmp_path / "empty.png"
    counts = plots.occurrence_heatmap(empty, ["MB"], ["S1", "S2"], out=out, **THRESHOLDS)
    assert counts == {"no_occurrence": 0, "white": 0, "red": 0}
    assert_png(out, 40, 15, plots.HEATMAP_DPI)


def test_cv_scatterplot_counts(tmp_path: Path) -> None:
    stats = stats_table(
        {
            # MB: points F0, F1 (F2 has no CV)
            "MB": {"mean": [100, 200, 300], "std": [0, 0, 0], "cv": [0.9, 0.1, NAN], "pct": [100] * 3},
            # S1: points F0, F2 (F1 has no mean)
            "S1": {"mean": [1e4, NAN, 1e6], "std": [0, 0, 0], "cv": [1.0, 0.5, 2.0], "pct": [100] * 3},
        }
    )
    stats.index = [10, 11, 12]  # alignment is by index label, not position
    is_tracer = pd.Series([True, False], index=[12, 10])
    out = tmp_path / "cv.png"
    result = plots.cv_scatterplot(stats, ["MB"], ["S1"], is_tracer=is_tracer, max_cv=0.8, out=out)
    # Points: MB-F0 (tracer? no, 0.9 above), MB-F1 (0.1), S1-F0 (1.0 above), S1-F2 (tracer, 2.0 above)
    assert result == {"points": 4, "tracer_points": 1, "above": 3}
    assert_png(out, 15, 5, plots.SCATTER_DPI)


def test_cv_scatterplot_without_points(tmp_path: Path) -> None:
    stats = stats_table({"MB": {"mean": [NAN], "std": [NAN], "cv": [NAN], "pct": [0]}})
    out = tmp_path / "cv.png"
    result = plots.cv_scatterplot(stats, ["MB"], [], is_tracer=pd.Series([False]), max_cv=0.8, out=out)
    assert result == {"points": 0, "tracer_points": 0, "above": 0}
    assert_png(out, 15, 5, plots.SCATTER_DPI)


def test_log_limits() -> None:
    assert plots.log_limits(np.array([150.0, 2.5e5])) == (100.0, 1e6)
    assert plots.log_limits(np.array([1000.0])) == (1000.0, 10000.0)
    assert plots.log_limits(np.array([0.0, NAN])) == (1.0, 10.0)


GRID_SHAPES = {
    1: (1, 1),
    2: (2, 1),
    3: (3, 1),
    4: (2, 2),
    5: (2, 3),
    7: (3, 3),
    10: (3, 4),
    13: (4, 4),
    16: (4, 4),
}


@pytest.mark.parametrize(("n", "shape"), GRID_SHAPES.items())
def test_grid_shape(n: int, shape: tuple[int, int]) -> None:
    assert plots.grid_shape(n) == shape


def test_grid_shape_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        plots.grid_shape(17)


def test_quadratic_fit_uses_true_x() -> None:
    x = np.array([1.0, 2.0, 5.0, 11.0, 30.0])  # uneven spacing, as when injections are missing
    coef = plots.fit_quadratic(x, 2 * x**2 - 3 * x + 7)
    assert coef == pytest.approx([2.0, -3.0, 7.0])
    assert plots.fit_quadratic(np.array([1.0, 1.0, 2.0, 2.0]), np.array([1.0, 2.0, 3.0, 4.0])) is None


def test_group_colors_cycle_past_ten_groups() -> None:
    colors = plots.group_colors([f"G{i}" for i in range(12)] + ["G0"])
    assert list(colors) == [f"G{i}" for i in range(12)]
    assert colors["G0"] == colors["G10"] == "teal"
    assert colors["G9"] == "black"


def tracer_inputs(
    n_tracers: int, n_injections: int, groups: list[str] | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    names = [f"inj{i}" for i in range(n_injections)]
    rng = np.random.default_rng(1)
    tracers = pd.DataFrame(rng.uniform(1e4, 1e5, (n_tracers, n_injections)), columns=names)
    tracers.insert(0, "Chemical Name", [f"chem {i}" for i in range(n_tracers)])
    run_sequence = pd.DataFrame({"Sample Sequence": names})
    if groups is not None:
        run_sequence["Sample Group"] = [groups[i % len(groups)] for i in range(n_injections)]
    return tracers, run_sequence


def test_tracer_plots_split_into_figures_of_16(tmp_path: Path) -> None:
    tracers, run_sequence = tracer_inputs(17, 6, ["Blank", "Sample"])
    paths = plots.tracer_run_sequence_plots(
        tracers,
        run_sequence,
        mode="ESI+",
        yaxis="log",
        trendline=True,
        out_prefix=tmp_path / "tracer_plot_pos",
    )
    assert paths == [tmp_path / "tracer_plot_pos_1.png", tmp_path / "tracer_plot_pos_2.png"]
    for path in paths:
        assert_png(path, 14, 8, plots.TRACER_DPI)


def test_tracer_plots_many_groups_missing_columns_and_no_group_column(tmp_path: Path) -> None:
    tracers, run_sequence = tracer_inputs(2, 14, [f"G{i}" for i in range(12)])
    tracers = tracers.drop(columns=["inj3"])  # an injection without a column is skipped
    tracers.loc[0, "inj5"] = NAN
    paths = plots.tracer_run_sequence_plots(
        tracers, run_sequence, mode="ESI-", yaxis="linear", trendline=True, out_prefix=tmp_path / "neg"
    )
    assert [p.name for p in paths] == ["neg_1.png"]
    paths = plots.tracer_run_sequence_plots(
        tracers,
        run_sequence.iloc[:, :1],
        mode="ESI-",
        yaxis="log",
        trendline=False,
        out_prefix=tmp_path / "one",
    )
    assert_png(paths[0], 14, 8, plots.TRACER_DPI)


def test_tracer_plots_log_axis_without_positive_values(tmp_path: Path) -> None:
    tracers, run_sequence = tracer_inputs(1, 4, None)
    tracers.iloc[:, 1:] = 0.0
    paths = plots.tracer_run_sequence_plots(
        tracers, run_sequence, mode="ESI+", yaxis="log", trendline=True, out_prefix=tmp_path / "zero"
    )
    assert_png(paths[0], 14, 8, plots.TRACER_DPI)


def test_tracer_plots_without_tracers(tmp_path: Path) -> None:
    tracers, run_sequence = tracer_inputs(0, 3, None)
    out_prefix = tmp_path / "none"
    assert (
        plots.tracer_run_sequence_plots(
            tracers, run_sequence, mode="ESI+", yaxis="log", trendline=True, out_prefix=out_prefix
        )
        == []
    )
    assert not list(tmp_path.iterdir())


def _varied_tracer_figures() -> list[tuple[pd.DataFrame, pd.DataFrame, str, bool]]:
    """Four tracer figures on the one 4 x 4 grid that differ in every way a reused figure could leak state: log
    and linear axes, unused panels, an empty panel, a log panel without positive values, other groups, a title
    pinned on one and automatic on the next."""
    figures = []
    for n, injections, groups, yaxis, trend in ((16, 12, ["Blank", "QC", "Sample"], "log", True),
                                                (14, 9, [f"G{i}" for i in range(12)], "linear", True),
                                                (16, 7, None, "log", False),
                                                (13, 12, ["Blank", "Sample"], "log", True)):  # fmt: skip
        tracers, run_sequence = tracer_inputs(n, injections, groups)
        tracers.iloc[:, 1:] *= np.linspace(1, 1e3, n)[:, None]  # each panel its own range
        if n == 16 and not trend:
            tracers.iloc[2, 1:] = NAN  # nothing to draw
            tracers.iloc[5, 1:] = 0.0  # no positive value: a linear axis although log was asked for
        figures.append((tracers, run_sequence, yaxis, trend))
    return figures


def test_a_reused_tracer_figure_draws_what_a_new_one_draws() -> None:
    def draw(tracers: pd.DataFrame, run_sequence: pd.DataFrame, yaxis: str, trend: bool) -> bytes:
        return plots.draw_tracer_figures(tracers, run_sequence, mode="ESI+", yaxis=yaxis, trendline=trend)[0]

    fresh = []
    for figure in _varied_tracer_figures():
        plots._scaffolds.figures.clear()
        fresh.append(draw(*figure))
    reused, scaffolds = [], set()
    for figure in _varied_tracer_figures():
        reused.append(draw(*figure))
        scaffolds.add(id(plots._scaffolds.figures[("tracer", 14, 8, plots.TRACER_DPI, 4, 4)][0]))
    assert len(scaffolds) == 1  # one figure served all four
    assert [len(set(fresh[:i + 1])) for i in range(4)] == [1, 2, 3, 4]  # four different images
    assert reused == fresh  # byte for byte


def _cv_panels(seed: int, n: int, scale: float) -> list[tuple[str, pd.DataFrame]]:
    rng = np.random.default_rng(seed)
    stats = pd.DataFrame({"Feature ID": range(n)})
    for root in ("MB", "S1"):
        mean = rng.lognormal(0, 2, n) * scale
        mean[rng.random(n) < 0.2] = NAN
        stats[f"Mean {root}"], stats[f"CV {root}"] = mean, rng.uniform(0, 2.4, n)
    return plots.cv_panels(stats, ["MB"], ["S1"], pd.Series(np.arange(n) % 7 == 0))


def test_a_reused_cv_scatterplot_draws_what_a_new_one_draws() -> None:
    # Other ranges (decades), point counts, thresholds, and a plot without points in between.
    figures = [(_cv_panels(1, 300, 1e4), 0.8), (_cv_panels(2, 0, 1.0), 1.2), (_cv_panels(3, 50, 1e7), 0.5)]
    fresh = []
    for panels, max_cv in figures:
        plots._scaffolds.figures.clear()
        fresh.append(plots.draw_cv_scatterplot(panels, max_cv=max_cv))
    reused, scaffolds = [], set()
    for panels, max_cv in figures:
        reused.append(plots.draw_cv_scatterplot(panels, max_cv=max_cv))
        scaffolds.add(id(plots._scaffolds.figures[("cv", 15, 5, plots.SCATTER_DPI, 1, 2)][0]))
    assert len(scaffolds) == 1  # one figure served all three
    assert len(set(fresh)) == 3
    assert reused == fresh  # byte for byte

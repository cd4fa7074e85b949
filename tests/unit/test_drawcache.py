"""nta_pipeline.drawcache: within one draw each axis computes its ticks once per view limits, the PNG is the same
byte for byte, new limits get new ticks, and nothing is remembered outside the block or on other threads."""

from __future__ import annotations

import io
import threading

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator

from nta_pipeline.drawcache import computed_once


class CountingLocator(LogLocator):
    """A log locator that counts how often it is asked for ticks."""

    calls = 0

    def __call__(self):
        CountingLocator.calls += 1
        return super().__call__()


def _figure() -> Figure:
    fig = Figure(figsize=(6, 4), dpi=50, layout="constrained")
    for ax in fig.subplots(2, 2).ravel():
        ax.scatter([1, 2, 3], [1e3, 5e4, 2e6])
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(CountingLocator())
        ax.set_title("panel")
    fig.suptitle("title")
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return buf.getvalue()


def test_a_draw_computes_each_axis_ticks_once_and_draws_the_same_png() -> None:
    CountingLocator.calls = 0
    plain = _png(_figure())
    plain_calls = CountingLocator.calls
    CountingLocator.calls = 0
    with computed_once():
        cached = _png(_figure())
    assert cached == plain
    # One tick update asks the major locator twice (the minor ticks leave out the major ones' positions).
    assert plain_calls > 4 * 2 * 4  # the constrained layout asked each of the 4 axes many times
    assert CountingLocator.calls == 4 * 2  # once per axis


def test_new_view_limits_get_new_ticks() -> None:
    fig = _figure()
    ax = fig.axes[0]
    with computed_once():
        before = [t.get_loc() for t in ax.yaxis._update_ticks()]
        ax.set_ylim(1e6, 1e9)
        after = [t.get_loc() for t in ax.yaxis._update_ticks()]
    assert min(after) >= 1e6 and max(before) <= 1e7 and after != before


def test_nothing_is_remembered_outside_the_block_or_on_another_thread() -> None:
    fig = _figure()
    axis = fig.axes[0].yaxis
    seen: list[int] = []

    def count_on_other_thread() -> None:
        CountingLocator.calls = 0
        axis._update_ticks()
        axis._update_ticks()
        seen.append(CountingLocator.calls)

    with computed_once():
        axis._update_ticks()
        thread = threading.Thread(target=count_on_other_thread)
        thread.start()
        thread.join()
    CountingLocator.calls = 0
    axis._update_ticks()
    axis._update_ticks()
    assert seen == [4] and CountingLocator.calls == 4  # two updates, not remembered


def test_a_text_changed_within_the_block_is_laid_out_again() -> None:
    fig = _figure()
    text = fig.axes[0].set_title("10")
    renderer = FigureCanvasAgg(fig).get_renderer()
    with computed_once():
        narrow = text.get_window_extent(renderer).width
        text.set_text("10000")
        wide = text.get_window_extent(renderer).width
        text.set_fontsize(text.get_fontsize() * 2)
        wider = text.get_window_extent(renderer).width
    assert narrow < wide < wider

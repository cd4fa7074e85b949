"""Work matplotlib repeats within one draw of a figure, done once.

Drawing a figure with a layout engine asks every axis for its ticks again and again: the constrained layout
measures each axes' tight bounding box in two passes, each axis label, title and spine asks once more, and the real
draw once more after that (the tracer figures of a holdout-size run: 364 tick updates for 32 axes). Each update runs
the locator and the formatter and sets every tick's position and label text, yet within one draw its answer can
change only if the axis' view limits do. `ticks_computed_once()` remembers each axis' answer, keyed by its
view limits, locators and formatters, for the duration of one draw: a third less drawing time on the tracer
figures, and the same pixels (tests/pipeline/test_plot_reference.py compares every figure with its reference).

The memo lives in a context variable, so it is active only in the thread that draws inside the block: figures
drawn at the same time on other threads (Dask worker threads) are unaffected.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("nta_tick_memo", default=None)
_installed = False


def _install() -> None:
    """Wrap `matplotlib.axis.Axis._update_ticks` once; outside a `ticks_computed_once` block it is unchanged."""
    global _installed
    if _installed:
        return
    from matplotlib.axis import Axis

    original = Axis._update_ticks

    def _update_ticks(self: Axis) -> list:
        memo = _memo.get()
        if memo is None:
            return original(self)
        key = (id(self), *self.get_view_interval(), id(self.major.locator), id(self.major.formatter),
               id(self.minor.locator), id(self.minor.formatter))  # fmt: skip
        if key not in memo:
            memo[key] = original(self)
        return memo[key]

    Axis._update_ticks = _update_ticks
    _installed = True


@contextmanager
def ticks_computed_once() -> Iterator[None]:
    """Within the block, each axis computes its ticks once per view limits (for one figure's draw)."""
    _install()
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)

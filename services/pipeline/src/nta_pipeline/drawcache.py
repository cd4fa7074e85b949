"""Work matplotlib repeats within one draw of a figure, done once.

Drawing a figure with a layout engine asks every axis for its ticks again and again: the constrained layout
measures each axes' tight bounding box in two passes, each axis label, title and spine asks once more, and the real
draw once more after that (the tracer figures of a holdout-size run: 364 tick updates for 32 axes). Each update runs
the locator and the formatter and sets every tick's position and label text, yet within one draw its answer can
change only if the axis' view limits do. Each of those queries also lays out every tick label's text again (font
tables read, lines measured), although a text's layout, relative to its anchor, depends only on the text and its
font, rotation, alignment and the dpi, and the 16 panels of a tracer figure repeat the same labels.

`computed_once()` remembers, for the duration of one draw, each axis' ticks (keyed by its view limits, locators
and formatters) and each text layout (keyed by everything it depends on): a third less drawing time on the tracer
figures, and the same pixels (tests/pipeline/test_plot_reference.py compares every figure with its reference).

The memo lives in a context variable, so it is active only in the thread that draws inside the block: figures
drawn at the same time on other threads (Dask worker threads) are unaffected.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.text import Text

_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("nta_draw_memo", default=None)
_installed = False


def _install() -> None:
    """Wrap `Axis._update_ticks` and `Text._get_layout` once; outside a `computed_once` block they are unchanged."""
    global _installed
    if _installed:
        return
    from matplotlib.axis import Axis
    from matplotlib.text import Text

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
    Text._get_layout = _memoised_layout(Text._get_layout)
    _installed = True


def _memoised_layout(original: Callable) -> Callable:
    def _get_layout(self: Text, renderer: object) -> tuple:
        memo = _memo.get()
        if memo is None or self.get_wrap():  # wrapped text depends on where it sits
            return original(self, renderer)
        key = ("layout", id(renderer), self.get_figure(root=True).dpi, self.get_text(), self._fontproperties,
               self.get_usetex(), self.get_parse_math(), self.get_rotation(), self.get_rotation_mode(),
               self._horizontalalignment, self._verticalalignment, self._get_multialignment(),
               self._linespacing)  # fmt: skip
        if key not in memo:
            memo[key] = original(self, renderer)
        bbox, lines, box = memo[key]
        return bbox.frozen(), lines, box  # callers get their own bbox

    return _get_layout


@contextmanager
def computed_once() -> Iterator[None]:
    """Within the block (one figure's draw), each axis computes its ticks once per view limits, and each text
    layout is computed once."""
    _install()
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)

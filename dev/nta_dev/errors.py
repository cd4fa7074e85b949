"""The one exception type the toolkit's commands turn into a clean message and a non-zero exit."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable


class ToolkitError(Exception):
    """A failure the developer can fix; ``str()`` is one message that names the fix (no traceback shown)."""


def entry_point(main: Callable[[list[str] | None], None]) -> Callable[[list[str] | None], int]:
    """A ``python -m nta_dev.X`` main: a ToolkitError becomes ``error: <message>`` on stderr and exit status 1.
    (The invoke tasks do the same through cli.toolkit_errors.)"""

    @functools.wraps(main)
    def run(argv: list[str] | None = None) -> int:
        try:
            main(argv)
        except ToolkitError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0

    return run

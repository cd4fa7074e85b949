"""The one exception type the invoke tasks turn into a clean message and a non-zero exit."""

from __future__ import annotations


class ToolkitError(Exception):
    """A failure the developer can fix; ``str()`` is one message that names the fix (no traceback shown)."""

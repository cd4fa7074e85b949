"""What a Dockerfile says, read where another way of running the same service needs it (the local stack starts
the Dask scheduler with the image's own CMD, adapted to host addresses)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import ToolkitError

_CMD = re.compile(r"^\s*CMD\s+(\[.*\])\s*$", re.IGNORECASE)


def instructions(text: str) -> list[str]:
    """The Dockerfile's instructions, each on one line: continuation lines joined, comments and blanks dropped."""
    joined, lines = "", []
    for raw in text.splitlines():
        if not joined and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.rstrip().endswith("\\"):
            joined += raw.rstrip()[:-1] + " "
            continue
        lines.append(joined + raw)
        joined = ""
    if joined:
        lines.append(joined)
    return lines


def cmd(dockerfile: Path) -> list[str]:
    """The exec-form CMD of a Dockerfile that has exactly one (every stage then inherits it)."""
    found = [m.group(1) for line in instructions(dockerfile.read_text()) if (m := _CMD.match(line))]
    if len(found) != 1:
        raise ToolkitError(f"{dockerfile}: expected exactly one exec-form CMD [...] (the image's command), "
                           f"found {len(found)}")  # fmt: skip
    argv = json.loads(found[0])
    if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
        raise ToolkitError(f"{dockerfile}: CMD must be a JSON list of strings, got {found[0][:80]}")
    return argv

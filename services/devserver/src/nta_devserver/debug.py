"""`NTA_DEBUG=[HOST:]PORT`: run the long-lived process of a dev server under debugpy, for a DAP client to attach.

Started in the process a reload does not replace (gunicorn's master, the Dask worker), so the debugger outlives
reloads: debugpy follows the workers gunicorn forks as subprocesses (VS Code and PyCharm attach to each by
themselves and send them the breakpoints), and the Dask worker reloads in place (nta_devserver.dask).
Local development only: whoever reaches the port can run code in the process. The port is bound to 127.0.0.1 unless
HOST says otherwise (in a container: 0.0.0.0, reached through `docker -p 127.0.0.1:…` or a kubectl port-forward).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

ENV = "NTA_DEBUG"


def parse_address(value: str) -> tuple[str, int]:
    """'5678' -> ('127.0.0.1', 5678); '0.0.0.0:5678' -> ('0.0.0.0', 5678)."""
    host, _, port = value.strip().rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{ENV}={value!r}: expected PORT or HOST:PORT, e.g. {ENV}=5678")
    return host or "127.0.0.1", int(port)


def start_from_env(environ: Mapping[str, str] = os.environ) -> tuple[str, int] | None:
    """Listen for a debugger when NTA_DEBUG is set; returns the address, or None when it is not set."""
    value = environ.get(ENV, "")
    if not value:
        return None
    import debugpy  # only when asked: it patches process creation to follow children

    address = parse_address(value)
    debugpy.listen(address)
    print(f"nta: debugpy listening on {address[0]}:{address[1]} (pid {os.getpid()}); attach a DAP client, "
          "breakpoints survive reloads. Local only: the port runs code for whoever reaches it.",
          file=sys.stderr, flush=True)  # fmt: skip
    return address

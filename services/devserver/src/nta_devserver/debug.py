"""`NTA_DEBUG`: run a dev server's code under a debugger whose breakpoints survive reloads.

Two kinds of IDE, connected in opposite directions:

- `NTA_DEBUG=[HOST:]PORT`: debugpy listens, and a DAP client (VS Code, nvim-dap, ...) attaches. It runs in the
  process a reload does not replace (gunicorn's master, the Dask worker): debugpy follows the workers gunicorn
  forks as subprocesses (the client attaches to each by itself and sends it the breakpoints), and the Dask worker
  reloads in place (nta_devserver.dask).
- `NTA_DEBUG=pycharm:[HOST:]PORT`: the process dials PyCharm's "Python Debug Server" (pydevd's own protocol,
  through JetBrains' `pydevd-pycharm`). Every gunicorn worker connects as it starts (`post_worker_init`), so each
  reload is a new connection that PyCharm gives its breakpoints; the Dask worker connects once. When PyCharm is not
  listening the server runs on without a debugger and says so; the next reload tries again.

Local development only: whoever reaches a DAP port runs code in the process. The port is bound to 127.0.0.1 unless
HOST says otherwise (in a container: 0.0.0.0, reached through `docker -p 127.0.0.1:…` or a kubectl port-forward).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass

ENV = "NTA_DEBUG"
PYCHARM = "pycharm"


@dataclass(frozen=True)
class Target:
    """Where the debugger is: `ide` "dap" listens on host:port, "pycharm" connects to the IDE at host:port."""

    ide: str
    host: str
    port: int


def parse(value: str) -> Target:
    """'5678' -> dap 127.0.0.1:5678; '0.0.0.0:5678' -> dap 0.0.0.0:5678; 'pycharm:5690' -> pycharm 127.0.0.1:5690."""
    ide, _, address = value.strip().partition(":") if value.strip().startswith(PYCHARM + ":") else ("dap", "", value)
    host, _, port = address.strip().rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{ENV}={value!r}: expected PORT, HOST:PORT or pycharm:[HOST:]PORT, e.g. {ENV}=5678")
    return Target(ide, host or "127.0.0.1", int(port))


def target_from_env(environ: Mapping[str, str] = os.environ) -> Target | None:
    value = environ.get(ENV, "")
    return parse(value) if value else None


def start_from_env(environ: Mapping[str, str] = os.environ, *, forks_workers: bool = False) -> Target | None:
    """Start the debugger NTA_DEBUG names in this long-lived process; None when it is not set.

    `forks_workers` (gunicorn's master): a PyCharm connection is made by each worker instead (`connect_worker`).
    """
    target = target_from_env(environ)
    if target is None:
        return None
    if target.ide == PYCHARM:
        if not forks_workers:
            connect_pycharm(target)
        return target
    import debugpy  # only when asked: it patches process creation to follow children

    debugpy.listen((target.host, target.port))
    print(f"nta: debugpy listening on {target.host}:{target.port} (pid {os.getpid()}); attach a DAP client, "
          "breakpoints survive reloads. Local only: the port runs code for whoever reaches it.",
          file=sys.stderr, flush=True)  # fmt: skip
    return target


def connect_worker(environ: Mapping[str, str] = os.environ) -> bool:
    """In a freshly forked gunicorn worker: connect to PyCharm if NTA_DEBUG asks for it (DAP follows forks itself)."""
    target = target_from_env(environ)
    return target is not None and target.ide == PYCHARM and connect_pycharm(target)


_connected = False


def connect_pycharm(target: Target) -> bool:
    """Dial PyCharm's Python Debug Server; blocks until it has sent the breakpoints. False when nothing listens."""
    global _connected
    if _connected:
        return True
    try:
        import pydevd_pycharm
    except ImportError:
        print(f"nta: {ENV}=pycharm needs pydevd-pycharm: `pip install pydevd-pycharm~=<your PyCharm's build>` "
              "(PyCharm names it in its Python Debug Server configuration)", file=sys.stderr, flush=True)  # fmt: skip
        return False
    noise = io.StringIO()  # pydevd prints a traceback when nothing listens; one line says it better
    try:
        with contextlib.redirect_stderr(noise):
            pydevd_pycharm.settrace(target.host, port=target.port, suspend=False, trace_only_current_thread=False)
    except OSError as exc:
        print(f"nta: PyCharm's Python Debug Server does not answer on {target.host}:{target.port} ({exc}); "
              f"pid {os.getpid()} runs without the debugger. Start the debug server, then save a file: the reloaded "
              "code connects.", file=sys.stderr, flush=True)  # fmt: skip
        return False
    except Exception as exc:  # a pydevd-pycharm of another API: the server still runs, and says why
        print(f"nta: pydevd-pycharm {getattr(pydevd_pycharm, '__version__', '?')} failed to connect ({exc!r}); "
              f"pid {os.getpid()} runs without the debugger. {noise.getvalue()[-1000:]}",
              file=sys.stderr, flush=True)  # fmt: skip
        return False
    _connected = True
    print(f"nta: pid {os.getpid()} connected to PyCharm at {target.host}:{target.port}", file=sys.stderr, flush=True)
    return True

"""The services' gunicorn dev configs share this: `gunicorn -c python:nta_web.gunicorn_dev -b HOST:PORT APP`.

The settings below are the dev server's flags, the one place they are written (the dev images' CMD and the local
stack give only the address): gunicorn reads a config module's names as its settings. gunicorn loads such a
config module in its master. `preload()` imports the heavy third-party libraries there, so
the worker `--reload` forks after a save inherits them and imports only our code. `worker_int`, `worker_exit` and
`post_worker_init` are gunicorn server hooks a config exports: a reloading worker stops, and the next one starts,
at once; with NTA_DEBUG=pycharm:PORT each new worker connects to PyCharm (nta_devserver.debug).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from .debug import connect_worker

# What a config module takes with `from nta_devserver.gunicorn import *`: gunicorn reads these names there.
__all__ = ["reload", "workers", "threads", "graceful_timeout", "control_socket_disable", "accesslog",
           "worker_int", "worker_exit", "post_worker_init"]

# One worker with threads: on 2 cores a reload re-imports one process, not two.
reload = True
workers = 1
threads = 8
# A dev server stops in seconds when its pod is deleted or Tilt replaces it (the default waits 30 s). Uploads are
# not cut by it: nginx buffers request bodies, so a request reaches gunicorn whole and is answered within seconds.
graceful_timeout = 5
control_socket_disable = True  # no control socket file in the app's folder (gunicorn >= 24)
accesslog = "-"


def preload(*modules: str) -> None:
    """Import third-party modules into the master (never one of ours: a reload must import those afresh)."""
    for module in modules:
        importlib.import_module(module)


def worker_int(worker: Any) -> None:
    """gunicorn calls this in a worker that stops for a reload (its reloader saw a file change) or on SIGINT.

    The reloader has set `worker.alive = False`, but the gthread worker looks at that flag only when its event loop
    wakes: up to a second later. Waking the loop here lets it finish its requests and exit now, so the master forks
    the new worker ~0.8 s sooner (measured). gunicorn's own SIGTERM handler wakes it the same way.
    """
    queue = getattr(worker, "method_queue", None)  # gthread (gunicorn >= 24); other workers have none
    if queue is not None:
        queue.defer(lambda: None)


def worker_exit(server: Any, worker: Any) -> None:
    """gunicorn calls this last in a stopping worker: skip the interpreter's teardown and exit now.

    Tearing down a process that holds Django, pandas and a MongoDB client took 0.2-0.6 s (measured), and the master
    forks the new worker only once the old one is gone. The worker has answered its requests and closed its
    sockets by now; the exit status gunicorn meant (e.g. 4 when the app failed to load) is kept.
    """
    pending = sys.exc_info()[1]  # called in a `finally:` around the worker's sys.exit(code)
    code = pending.code if isinstance(pending, SystemExit) and isinstance(pending.code, int) else 0
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


def post_worker_init(worker: Any) -> None:
    """gunicorn calls this in each new worker once the app is loaded: PyCharm's debugger is dialled from here, so
    every reloaded worker is a new connection that gets the IDE's breakpoints (DAP follows the fork by itself)."""
    connect_worker()

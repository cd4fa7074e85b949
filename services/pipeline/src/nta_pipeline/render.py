"""Drawing the plots in worker processes, so they run on the machine's other core.

Drawing is matplotlib's single-threaded Python, so threads cannot overlap it with the workflow; a process can.
`nta-ms1 run` starts a `RenderPool` before it imports pandas: the worker is forked at once, imports matplotlib and
draws a small warm-up figure (fonts, the mathtext parser, tick machinery) while the main process imports pandas,
reads the tables and computes. The workflow then hands each figure's data to the pool (`run_workflow(...,
renderer=pool)`) and goes on; `Results.plots` is then a `PendingPlots` that waits for the PNGs only when they are
read, so the workbook and CSVs are written while the figures are drawn.

A long-lived process that runs many jobs (the Dask worker, whose threads make fork unsafe) takes
`shared_pool()`: started once with `forkserver`, kept warm between jobs, replaced when a worker of it died. Without
a renderer the workflow draws in-process.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any

from .errors import StepError

PNG = bytes | list[bytes]


log = logging.getLogger(__name__)

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "QUOTA PERIOD", or "max PERIOD" without a limit


def usable_cpus(cpu_max: Path | None = None) -> int:
    """CPUs this process may keep busy: its CPU affinity, capped by a cgroup CPU limit (a pod's `limits.cpu`),
    which affinity does not show. A fractional limit counts down: 1.5 CPUs leave no second core to draw on."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = (cpu_max or CGROUP_CPU_MAX).read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass  # no cgroup v2 file (not Linux, or cgroup v1): affinity is all there is
    return cpus


def default_workers() -> int:
    """Plot workers for this machine: `NTA_RENDER_WORKERS` if set, else 1 when a second CPU is usable, else 0
    (draw in-process: on one CPU a worker only adds its start-up)."""
    if (value := os.environ.get("NTA_RENDER_WORKERS", "").strip()) != "":
        return max(0, int(value))
    return 1 if usable_cpus() >= 2 else 0


def _warm_up() -> None:
    """Pay matplotlib's one-off costs (imports, font loading, mathtext parser) before the first real figure."""
    from matplotlib.figure import Figure

    from . import plots

    fig = Figure(figsize=(2, 1), dpi=20, layout="constrained")
    ax = fig.add_subplot()
    ax.scatter([1, 2], [3e4, 5e4], c="teal", edgecolors="black")
    ax.set_yscale("log")
    ax.set_title("warm-up")
    plots.png_bytes(fig)


def _timed(fn: Callable[..., PNG], args: tuple, kwargs: dict[str, Any]) -> tuple[float, PNG]:
    start = time.perf_counter()
    png = fn(*args, **kwargs)
    return time.perf_counter() - start, png


class RenderPool:
    """Worker processes that draw figures; start it early, close it (or use `with`) when the PNGs are read.

    `method`: how workers start. fork (Linux's default here) starts in milliseconds and shares what is already
    imported, but is unsafe in a process with threads; forkserver and spawn start clean interpreters.
    `timeout`: seconds a reader waits for a figure (None: as long as it takes).
    """

    def __init__(self, workers: int = 1, *, method: str | None = None, timeout: float | None = None) -> None:
        method = method or ("fork" if sys.platform == "linux" else None)
        context = multiprocessing.get_context(method) if method else None
        self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_warm_up)
        self.workers, self.timeout = workers, timeout
        self._closed = False
        # The first submit starts the workers (all at once under fork); a no-op makes that happen now.
        self._executor.submit(int)

    def submit(self, fn: Callable[..., PNG], /, *args: Any, **kwargs: Any) -> Future[tuple[float, PNG]]:
        """Draw `fn(*args, **kwargs)` in a worker; the future gives (seconds spent drawing, PNG or PNGs)."""
        return self._executor.submit(_timed, fn, args, kwargs)

    @property
    def broken(self) -> bool:
        """The pool takes no more work: a worker died (killed, out of memory), or it was closed or killed."""
        return self._closed or bool(getattr(self._executor, "_broken", False))

    def kill(self) -> None:
        """Stop the workers now, even one stuck in a drawing (a timeout); the pool is unusable afterwards."""
        kill_workers = getattr(self._executor, "kill_workers", None)  # Python >= 3.14
        if kill_workers is not None:
            kill_workers()
        else:
            for process in list((self._executor._processes or {}).values()):
                process.kill()
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=True)

    def close(self, *, cancel: bool = False) -> None:
        self._closed = True
        self._executor.shutdown(wait=not cancel, cancel_futures=cancel)

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.close(cancel=exc_type is not None)  # on an error, do not wait for figures nobody will read


_shared: RenderPool | None = None
_shared_lock = threading.Lock()


def shared_pool(workers: int | None = None, timeout: float | None = None) -> RenderPool | None:
    """The process's pool for a long-lived runner of many jobs (the Dask worker), or None: draw in-process.

    Started on first use with forkserver (the caller has threads), warm for every later job, and replaced when
    broken or when `workers` or `timeout` change. None when `default_workers()` is 0, and in a daemonic process
    (a Dask worker under a nanny with distributed.worker.daemon true), which may not start processes.
    """
    global _shared
    workers = default_workers() if workers is None else workers
    if workers and multiprocessing.current_process().daemon:
        _say_once("plot workers: none in a daemonic process (a Dask worker under its nanny); drawing in-process. "
                  "Run `dask worker --no-nanny` or set DASK_DISTRIBUTED__WORKER__DAEMON=False to have them")
        workers = 0
    with _shared_lock:
        current = _shared
        if current is not None and (current.broken or (current.workers, current.timeout) != (workers, timeout)):
            current.kill()
            current = _shared = None
        if workers == 0:
            return None
        if current is None:
            log.info("plot workers: starting %d (forkserver), kept for this process's jobs", workers)
            current = _shared = RenderPool(workers, method="forkserver" if sys.platform == "linux" else None,
                                           timeout=timeout)  # fmt: skip
        return current


_said: set[str] = set()


def _say_once(message: str) -> None:
    if message not in _said:
        _said.add(message)
        log.info(message)


def before_reload() -> None:
    """nta_devserver.dask calls this before it forgets nta_pipeline: the shared pool's workers hold the old code,
    so they stop, and the reimported module starts new ones with the new code."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.kill()
            _shared = None


class PendingPlots(Mapping[str, bytes]):
    """Plot name -> PNG, drawn by a RenderPool; reading any entry waits for all of them.

    A failed drawing raises StepError naming its step when the plots are read; `on_drawn(step, seconds)` reports
    each figure's drawing time once it has arrived. With a `timeout`, figures not drawn that many seconds after the
    first read raise StepError (TimeoutError) after `on_timeout()` (e.g. RenderPool.kill), so no reader waits for
    ever on a stuck worker.
    """

    def __init__(self, on_drawn: Callable[[str, float], None] | None = None, *, timeout: float | None = None,
                 on_timeout: Callable[[], None] | None = None) -> None:  # fmt: skip
        self._pending: list[tuple[str, str, Future[tuple[float, PNG]]]] = []
        self._done: dict[str, bytes] | None = None
        self._on_drawn = on_drawn or (lambda step, seconds: None)
        self._timeout = timeout
        self._on_timeout = on_timeout or (lambda: None)

    def add(self, step: str, name: str, future: Future[tuple[float, PNG]]) -> None:
        """`name` is the plot's key, or the prefix of `name_1`, `name_2`, ... when the future gives a list."""
        self._pending.append((step, name, future))

    def _plots(self) -> dict[str, bytes]:
        if self._done is None:
            done: dict[str, bytes] = {}
            deadline = None if self._timeout is None else time.monotonic() + self._timeout
            for step, name, future in self._pending:
                try:
                    seconds, png = future.result(None if deadline is None else max(0.0, deadline - time.monotonic()))
                except TimeoutError:
                    self._on_timeout()
                    raise StepError(step, TimeoutError(f"the plot was not drawn within {self._timeout:g} s")) from None
                except Exception as exc:
                    raise StepError(step, exc) from exc
                self._on_drawn(step, seconds)
                if isinstance(png, list):
                    done.update({f"{name}_{i}": p for i, p in enumerate(png, start=1)})
                else:
                    done[name] = png
            self._done = done
        return self._done

    def __getitem__(self, key: str) -> bytes:
        return self._plots()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._plots())

    def __len__(self) -> int:
        return len(self._plots())

"""Drawing the plots in worker processes, so they run on the machine's other core.

Drawing is matplotlib's single-threaded Python, so threads cannot overlap it with the workflow; a process can.
`nta-ms1 run` starts a `RenderPool` before it imports pandas: the worker is forked at once, imports matplotlib and
draws a small warm-up figure (fonts, the mathtext parser, tick machinery) while the main process imports pandas,
reads the tables and computes. The workflow then hands each figure's data to the pool (`run_workflow(...,
renderer=pool)`) and goes on; `Results.plots` is then a `PendingPlots` that waits for the PNGs only when they are
read, so the workbook and CSVs are written while the figures are drawn, and a figure the worker has not started
by then is drawn by the main process instead of waiting its turn.

The Dask job runner draws the same way (`plot_workers("forkserver")`), with one difference: a Dask worker runs
threads, which a fork must not copy, so its render processes are forked from multiprocessing's fork server, a
clean process that imports only what drawing needs from outside our code (`DRAWING_MODULES`), started with the
worker (`start_fork_server`, called by the worker's `--preload nta_pipeline.worker`) so no job waits for it. Each
job gets a new render process, which imports nta_pipeline from disk: a worker whose code was reloaded in place
(nta_devserver.dask) draws its next job with the new code.

With one usable CPU (a pod's `limits.cpu: 1`) there is no render process: the workflow draws in-process.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from .errors import StepError

PNG = bytes | list[bytes]


# Imported once by the fork server (start="forkserver"), so each render process forked from it starts with them
# loaded. Third-party modules only: a module of ours loaded there would be the code of the day the server started.
DRAWING_MODULES = ("numpy", "pandas", "matplotlib.figure", "matplotlib.backends.backend_agg", "matplotlib.mathtext",
                   "matplotlib.lines", "matplotlib.colors", "matplotlib.transforms")  # fmt: skip

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "QUOTA PERIOD", or "max PERIOD" without a limit


def usable_cpus(cpu_max: Path | None = None) -> int:
    """CPUs this process may keep busy: its CPU affinity, capped by a cgroup CPU limit (a container's `--cpus`,
    a pod's `limits.cpu`), which affinity does not show. A fractional limit counts down: 1.5 CPUs leave no second
    whole core to draw on."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = (cpu_max or CGROUP_CPU_MAX).read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(quota) // int(period)))
    except (OSError, ValueError):
        pass  # no cgroup v2 file (not Linux, or cgroup v1): affinity is all there is
    return cpus


def default_workers() -> int:
    """Plot workers for this machine: `NTA_RENDER_WORKERS` if set; else 0 under `NTA_DEBUG` (a debugger attached
    to this process, nta_devserver.debug: its breakpoints in the drawing code would not reach a render process);
    else 1 when a second CPU is usable, else 0 (draw in-process: on one CPU a worker only adds its start-up). One,
    not two, on 2 CPUs: measured, the second worker won 0.3 s on the holdout-size data and lost 1.3 s on the
    shipped export."""
    if (value := os.environ.get("NTA_RENDER_WORKERS", "").strip()) != "":
        return max(0, int(value))
    if os.environ.get("NTA_DEBUG", "").strip():
        return 0
    return 1 if usable_cpus() >= 2 else 0


def _context(start: str) -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context(start)
    if start == "forkserver":
        context.set_forkserver_preload(list(DRAWING_MODULES))  # takes effect when the server starts
    return context


def start_fork_server() -> bool:
    """Start multiprocessing's fork server now, where `plot_workers("forkserver")` will draw in render processes
    (Linux, a second usable CPU, not a daemonic process); returns whether it did. The server imports
    DRAWING_MODULES before it forks its first process, about 1 s, which the first `RenderPool` would otherwise
    wait for. Called once when a Dask worker starts (nta_pipeline.worker)."""
    if sys.platform != "linux" or not _allowed_workers():
        return False
    from multiprocessing import forkserver

    _context("forkserver")
    forkserver.ensure_running()  # returns at once: the server imports the modules in the background
    return True


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

    Figures wait in a queue of its own and go to a worker one at a time, as one becomes free, so a figure no
    worker has started can still be drawn by the process that reads the results once that has nothing else to do
    (`draw_waiting_here`): the two cores share the figures by how long each takes, not by a guess made up front.
    A free worker takes the newest figure and the reader the oldest: the workflow submits the heatmap and the
    scatterplot before the tracer figures, so the warm worker, which reuses its figure scaffolding, gets the
    tracer figures and the reader, which must import matplotlib first, the single-axes figures. Measured on the
    holdout-like data: the reader's first figure costs it 0.6-0.8 s more than the worker.
    """

    def __init__(self, workers: int = 1, *, start: str = "fork") -> None:
        """`start`: "fork" (the worker starts in milliseconds and shares what is already imported; only from a
        process without threads, such as the CLI at start) or "forkserver" (from a process with threads). Off
        Linux, the default start method (spawn) is used either way: it works too, only with a slower start."""
        if start not in ("fork", "forkserver"):
            raise ValueError(f"RenderPool start must be 'fork' or 'forkserver', got {start!r}")
        context = _context(start) if sys.platform == "linux" else None
        self._executor = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_warm_up)
        self._workers = workers
        self._waiting: deque[tuple[Future[tuple[float, PNG]], Callable[..., PNG], tuple, dict[str, Any]]] = deque()
        self._busy = 0
        self._lock = threading.Lock()
        # The first submit forks the workers (all at once under fork); a no-op makes that happen now.
        self._executor.submit(int)

    def submit(self, fn: Callable[..., PNG], /, *args: Any, **kwargs: Any) -> Future[tuple[float, PNG]]:
        """Draw `fn(*args, **kwargs)` in a worker (or here, see `draw_waiting_here`); the future gives (seconds
        spent drawing, PNG or PNGs)."""
        future: Future[tuple[float, PNG]] = Future()
        with self._lock:
            self._waiting.append((future, fn, args, kwargs))
            self._dispatch()
        return future

    def _dispatch(self) -> None:
        """Hand waiting figures to free workers, newest first (under the lock)."""
        while self._busy < self._workers and self._waiting:
            future, fn, args, kwargs = self._waiting.pop()
            if not future.set_running_or_notify_cancel():
                continue
            self._busy += 1
            self._executor.submit(_timed, fn, args, kwargs).add_done_callback(
                lambda drawn, future=future: self._finished(drawn, future))  # fmt: skip

    def _finished(self, drawn: Future[tuple[float, PNG]], future: Future[tuple[float, PNG]]) -> None:
        with self._lock:
            self._busy -= 1
            self._dispatch()
        if drawn.cancelled():
            future.set_exception(CancelledError())
        elif (exc := drawn.exception()) is not None:
            future.set_exception(exc)
        else:
            future.set_result(drawn.result())

    def draw_waiting_here(self) -> None:
        """Draw, in this process, every figure no worker has started: oldest first, while the workers take the
        newest."""
        while True:
            with self._lock:
                if not self._waiting:
                    return
                future, fn, args, kwargs = self._waiting.popleft()
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(_timed(fn, args, kwargs))
                except Exception as exc:  # reported where the plots are read, naming the step
                    future.set_exception(exc)

    def close(self, *, cancel: bool = False) -> None:
        if not cancel:
            self.draw_waiting_here()  # a worker freed after shutdown could not take them
        else:
            with self._lock:
                for future, *_ in self._waiting:
                    future.cancel()
                self._waiting.clear()
        self._executor.shutdown(wait=not cancel, cancel_futures=cancel)

    def __enter__(self) -> RenderPool:
        return self

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.close(cancel=exc_type is not None)  # on an error, do not wait for figures nobody will read


def plot_workers(start: str = "fork") -> AbstractContextManager[RenderPool | None]:
    """`with plot_workers() as renderer:` a RenderPool of `default_workers()` processes, or None (draw in-process)
    where this machine has no second CPU for them or this process may not start any: a daemonic one, such as a
    Dask worker under its nanny unless `distributed.worker.daemon` is off (the ConfigMap turns it off)."""
    workers = _allowed_workers()
    return RenderPool(workers, start=start) if workers else nullcontext()


def _allowed_workers() -> int:
    return 0 if multiprocessing.current_process().daemon else default_workers()


class PendingPlots(Mapping[str, bytes]):
    """Plot name -> PNG, drawn by a RenderPool; reading any entry waits for all of them.

    A failed drawing raises StepError naming its step when the plots are read; `on_drawn(step, seconds)` reports
    each figure's drawing time once it has arrived. `before_wait()` runs once, on the first read, before waiting
    (RenderPool.draw_waiting_here: the reader draws what no worker has started).
    """

    def __init__(self, on_drawn: Callable[[str, float], None] | None = None,
                 before_wait: Callable[[], None] | None = None) -> None:  # fmt: skip
        self._pending: list[tuple[str, str, Future[tuple[float, PNG]]]] = []
        self._done: dict[str, bytes] | None = None
        self._on_drawn = on_drawn or (lambda step, seconds: None)
        self._before_wait = before_wait or (lambda: None)

    def add(self, step: str, name: str, future: Future[tuple[float, PNG]]) -> None:
        """`name` is the plot's key, or the prefix of `name_1`, `name_2`, ... when the future gives a list."""
        self._pending.append((step, name, future))

    def _plots(self) -> dict[str, bytes]:
        if self._done is None:
            self._before_wait()
            done: dict[str, bytes] = {}
            for step, name, future in self._pending:
                try:
                    seconds, png = future.result()
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

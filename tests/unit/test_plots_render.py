"""Plots drawn by the render worker (nta_pipeline.render) are the plots drawn in-process, byte for byte, whether it
was forked from the caller (the CLI) or from the fork server (the job runner); a pool forked from the fork server
runs the code on disk; figures no worker has started are drawn by the reader; a failed drawing names its step; the
worker count follows NTA_RENDER_WORKERS and the CPUs usable (a cgroup CPU limit counts)."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import shutil
import sys
import time
from concurrent.futures import Future, ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest

from nta_pipeline import Inputs, Parameters, StepError, render, run_workflow
from nta_pipeline.render import PendingPlots, RenderPool, default_workers, usable_cpus


def export_with_tracers(tmp_path) -> Inputs:
    """Blank + two sample triplicates, 200 features; features 7 and 40 are tracers in the run sequence."""
    rng = np.random.default_rng(5)
    columns = ["MB1", "MB2", "MB3", "S01_1", "S01_2", "S01_3", "S02_1", "S02_2", "S02_3"]
    values = rng.lognormal(12, 2, size=(200, len(columns)))
    values[rng.random(values.shape) < 0.15] = np.nan
    df = pd.DataFrame(values, columns=columns)
    df["Mass"] = rng.uniform(100, 1000, 200).round(5)
    df["Retention Time"] = rng.uniform(0.5, 20, 200).round(3)
    df.loc[[7, 40], columns] = rng.lognormal(13, 0.1, size=(2, len(columns)))
    df.to_csv(tmp_path / "pos.csv", index=False)
    tracers = pd.DataFrame({"Chemical_Name": ["T7", "T40"], "Ionization_Mode": ["Esi+", "Esi+"],
                            "Monoisotopic_Mass": df.loc[[7, 40], "Mass"].to_numpy(),
                            "Retention_Time": df.loc[[7, 40], "Retention Time"].to_numpy()})  # fmt: skip
    tracers.to_csv(tmp_path / "tracers.csv", index=False)
    order = ["MB1", "S01_1", "S02_1", "MB2", "S01_2", "S02_2", "MB3", "S01_3", "S02_3"]
    groups = ["Blank" if c.startswith("MB") else "Sample" for c in order]
    pd.DataFrame({"Sample Sequence": order, "Sample Group": groups}).to_csv(tmp_path / "rs.csv", index=False)
    return Inputs(pos=tmp_path / "pos.csv", tracers=tmp_path / "tracers.csv", run_sequence_pos=tmp_path / "rs.csv")


@pytest.mark.parametrize("start", ["fork", "forkserver"])
def test_worker_draws_the_same_pngs_as_in_process(tmp_path, start: str) -> None:
    inputs, params = export_with_tracers(tmp_path), Parameters(search_dsstox="no")
    here = run_workflow(inputs, params)
    with RenderPool(1, start=start) as pool:
        there = run_workflow(inputs, params, renderer=pool)
        assert isinstance(there.plots, PendingPlots)
        assert dict(there.plots) == dict(here.plots)  # same names, same bytes
    assert list(here.plots) == ["occurrence_heatmap", "cv_scatterplot", "tracer_plot_pos_1"]
    assert there.summary["plots"] == here.summary["plots"]
    assert there.summary["plots"]["cv_scatterplot"]["tracer_points"] == 6  # 2 tracers x 3 groups
    names = [s["name"] for s in there.summary["steps"]]
    assert names == [s["name"] for s in here.summary["steps"]]
    drawn = {s["name"]: s["seconds"] for s in there.summary["steps"] if s["name"].startswith("Create")}
    assert all(seconds > 0 for seconds in drawn.values())  # the worker's drawing time was added


def _probe_module(folder, version: str):
    """(Re)write and import `nta_probe.py`, whose `version()` returns `version`, as a reload would: no stale bytecode,
    the old module forgotten."""
    (folder / "nta_probe.py").write_text(f"def version():\n    return {version!r}\n")
    shutil.rmtree(folder / "__pycache__", ignore_errors=True)
    sys.modules.pop("nta_probe", None)
    importlib.invalidate_caches()
    return importlib.import_module("nta_probe")


def test_a_pool_forked_from_the_fork_server_runs_the_code_on_disk(tmp_path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        v1 = _probe_module(tmp_path, "v1")
        with RenderPool(1, start="forkserver") as first:
            assert first.submit(v1.version).result()[1] == "v1"
            v2 = _probe_module(tmp_path, "v2")  # the code changes while the first pool is still open
            with RenderPool(1, start="forkserver") as second:  # the next job's pool
                assert second.submit(v2.version).result()[1] == "v2"
            assert first.submit(v2.version).result()[1] == "v1"  # a process keeps what it imported: hence one per job
    finally:
        sys.modules.pop("nta_probe", None)


def test_the_fork_server_holds_the_drawing_libraries_and_none_of_our_code() -> None:
    RenderPool(1, start="forkserver").close()  # starts the fork server (once per process) with its preload
    question = "sorted(m for m in __import__('sys').modules if m.startswith('nta_') or m == 'matplotlib.figure')"
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("forkserver")) as raw:
        loaded = raw.submit(eval, question).result()  # a builtin: unpickling it imports nothing
    assert loaded == ["matplotlib.figure"]  # forked warm, and without a module of ours the day the server started


def _plot_workers_in_a_daemon(answer) -> None:
    with render.plot_workers("forkserver") as renderer:
        answer.put(renderer is None)


def test_a_daemonic_process_draws_in_process(monkeypatch) -> None:
    # A Dask worker under its nanny is daemonic (distributed.worker.daemon), and multiprocessing refuses it children.
    monkeypatch.setenv("NTA_RENDER_WORKERS", "1")
    context = multiprocessing.get_context("fork")
    answer = context.Queue()
    daemon = context.Process(target=_plot_workers_in_a_daemon, args=(answer,), daemon=True)
    daemon.start()
    assert answer.get(timeout=30) is True
    daemon.join(10)
    assert daemon.exitcode == 0
    with render.plot_workers() as renderer:  # and here, not a daemon, the same setting gives a pool
        assert isinstance(renderer, RenderPool)


def test_a_pool_refuses_an_unknown_start_method() -> None:
    with pytest.raises(ValueError, match="'fork' or 'forkserver'"):
        RenderPool(1, start="spawnish")


def _drawn_by(seconds: float = 0.0) -> int:
    time.sleep(seconds)
    return os.getpid()


def _fails() -> bytes:
    raise ValueError("bad figure")


def test_figures_no_worker_has_started_are_drawn_by_the_reader() -> None:
    with RenderPool(1) as pool:
        first = pool.submit(_drawn_by, 1.0)  # keeps the one worker busy
        rest = [pool.submit(_drawn_by) for _ in range(3)]
        rest.append(pool.submit(_fails))
        pool.draw_waiting_here()
        assert all(f.done() for f in rest)  # drawn here, at once, while the worker is still on the first
        assert not first.done()
        assert {f.result()[1] for f in rest[:3]} == {os.getpid()}
        assert isinstance(rest[3].exception(), ValueError)  # a failure here is the future's, as in a worker
        assert first.result()[1] != os.getpid()


def test_a_free_worker_takes_the_newest_figure_and_the_reader_the_oldest() -> None:
    with RenderPool(1) as pool:
        first = pool.submit(_drawn_by, 0.5)
        # The newest is slow, so the worker cannot be free again before the reader has taken the others.
        oldest, middle, newest = pool.submit(_drawn_by), pool.submit(_drawn_by), pool.submit(_drawn_by, 2.0)
        first.result()  # the worker, free again, has taken its next figure before the first one resolves
        pool.draw_waiting_here()
        assert oldest.done() and middle.done()
        assert oldest.result()[1] == middle.result()[1] == os.getpid()
        assert newest.result()[1] == first.result()[1] != os.getpid()


def test_closing_the_pool_resolves_every_figure() -> None:
    pool = RenderPool(1)
    futures = [pool.submit(_drawn_by, 0.2) for _ in range(3)]
    pool.close()
    assert all(f.done() and isinstance(f.result()[1], int) for f in futures)


def test_closing_on_an_error_cancels_what_nobody_started() -> None:
    pool = RenderPool(1)
    first = pool.submit(_drawn_by, 0.5)
    waiting = pool.submit(_drawn_by)
    pool.close(cancel=True)
    assert waiting.cancelled()
    first.exception(timeout=10)  # the one in flight resolves too (drawn, or cancelled with the executor)


def test_a_failed_drawing_names_its_step() -> None:
    failed: Future = Future()
    failed.set_exception(ValueError("bad figure"))
    ok: Future = Future()
    ok.set_result((0.5, [b"png1", b"png2"]))
    reported: list[tuple[str, float]] = []
    plots = PendingPlots(on_drawn=lambda step, seconds: reported.append((step, seconds)))
    plots.add("Create tracer plots", "tracer_plot_pos", ok)
    plots.add("Create heatmap", "occurrence_heatmap", failed)
    with pytest.raises(StepError) as info:
        dict(plots)
    assert info.value.step == "Create heatmap" and isinstance(info.value.cause, ValueError)
    assert reported == [("Create tracer plots", 0.5)]


def test_pending_plots_are_a_mapping_of_names() -> None:
    one: Future = Future()
    one.set_result((0.1, b"heat"))
    many: Future = Future()
    many.set_result((0.2, [b"a", b"b"]))
    plots = PendingPlots()
    plots.add("Create heatmap", "occurrence_heatmap", one)
    plots.add("Create tracer plots", "tracer_plot_neg", many)
    assert dict(plots.items()) == {"occurrence_heatmap": b"heat", "tracer_plot_neg_1": b"a", "tracer_plot_neg_2": b"b"}
    assert len(plots) == 3 and plots["tracer_plot_neg_2"] == b"b"


def test_worker_count(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NTA_RENDER_WORKERS", "0")
    assert default_workers() == 0
    monkeypatch.setenv("NTA_RENDER_WORKERS", "2")
    assert default_workers() == 2
    monkeypatch.setenv("NTA_DEBUG", "127.0.0.1:5680")  # nta_devserver.debug: debugpy listens here
    assert default_workers() == 2  # an explicit count wins over a debugger
    monkeypatch.delenv("NTA_RENDER_WORKERS")
    monkeypatch.setattr(render, "CGROUP_CPU_MAX", tmp_path / "cpu.max")  # no CPU limit (the file is absent)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert default_workers() == 0  # a debugger attached here: its breakpoints must reach the drawing code
    assert not render.start_fork_server()  # nor does a worker start the server for render processes
    monkeypatch.delenv("NTA_DEBUG")
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0})
    assert default_workers() == 0  # one CPU: drawing in-process beats starting a worker
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    assert default_workers() == 1
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert default_workers() == 0  # two CPUs, but a container limited to one: drawn in-process


@pytest.mark.parametrize("cpu_max, cpus", [
    ("max 100000\n", 4),  # no limit: the affinity's 4
    ("100000 100000\n", 1),  # limits.cpu: 1
    ("150000 100000\n", 1),  # 1.5 CPUs: no second whole core
    ("250000 100000\n", 2),
    ("800000 100000\n", 4),  # a limit above the affinity: the affinity
    ("garbage\n", 4),
])  # fmt: skip
def test_usable_cpus_honour_a_cgroup_cpu_limit(tmp_path, monkeypatch: pytest.MonkeyPatch, cpu_max: str,
                                               cpus: int) -> None:  # fmt: skip
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3})
    (tmp_path / "cpu.max").write_text(cpu_max)
    assert usable_cpus(tmp_path / "cpu.max") == cpus
    assert usable_cpus(tmp_path / "absent") == 4

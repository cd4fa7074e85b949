"""Save a file -> the running local stack serves the change: Django, Flask, the Dask worker, nginx.

Bounds are generous (a slow CI machine must not flake); benchmarks/bench_reload.py prints the real timings.
"""

from __future__ import annotations

import os
import py_compile
import time
from collections.abc import Iterator

import pytest

from tests.fixtures.reload import EDITS, dask_probe, http_probe, local_deliver, measure

BOUND_S = 30.0


@pytest.mark.parametrize("service", ["django", "flask", "nginx", "static"])
def test_a_saved_file_is_served_without_a_new_master(local_stack, service: str) -> None:
    edit = EDITS[service]
    original = (local_stack.root / edit.path).read_text()  # a scratch copy: each test edits its own file
    masters = local_stack.gunicorn_masters()
    assert set(masters) == {"django", "flask"}, masters
    seconds = measure(edit, original, local_deliver(local_stack.root), http_probe(local_stack.cfg.base_url, service),
                      timeout=BOUND_S)  # fmt: skip
    print(f"\n{service}: change served after {seconds:.2f} s")
    # gunicorn --reload restarts workers, not the master: connections and the port stay up.
    assert local_stack.gunicorn_masters() == masters


@pytest.fixture
def worker_client(local_stack) -> Iterator[object]:
    from distributed import Client

    client = Client(f"tcp://127.0.0.1:{local_stack.cfg.port('scheduler')}", timeout=10, set_as_default=False)
    yield client
    client.close()


def run_on_worker(client, expr: str) -> object:
    """Evaluate `expr` in a task: the worker imports whatever the expression names, as a job's task does."""
    return client.submit(eval, expr, pure=False).result(timeout=BOUND_S)


def wait_for(client, expr: str, expected: object) -> object:
    deadline = time.monotonic() + BOUND_S
    while (value := run_on_worker(client, expr)) != expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def test_a_pipeline_change_is_reloaded_inside_the_running_worker(local_stack, worker_client) -> None:
    edit = EDITS["worker"]
    original = (local_stack.root / edit.path).read_text()
    pid = run_on_worker(worker_client, "__import__('os').getpid()")
    probe, close = dask_probe(f"tcp://127.0.0.1:{local_stack.cfg.port('scheduler')}")
    try:
        assert not probe("never-served")  # the probe can fail
        seconds = measure(edit, original, local_deliver(local_stack.root), probe, timeout=BOUND_S)
    finally:
        close()
    print(f"\nworker: new code running after {seconds:.2f} s")
    # The same process: its imports of pandas & co. (and an attached debugger) survive the reload.
    assert run_on_worker(worker_client, "__import__('os').getpid()") == pid


def test_a_module_and_the_modules_importing_it_are_both_new(local_stack, worker_client) -> None:
    package = local_stack.root / "services/pipeline/src/nta_pipeline"
    a, b = package / "_reload_probe_a.py", package / "_reload_probe_b.py"
    a.write_text('A = "a1"\n')
    b.write_text('from ._reload_probe_a import A\n\nB = A + "-b1"\n')  # bound at import: stale unless b is new too
    expr = "__import__('nta_pipeline._reload_probe_b', fromlist=['B']).B"
    try:
        assert wait_for(worker_client, expr, "a1-b1") == "a1-b1"
        a.write_text('A = "a2"\n')
        assert wait_for(worker_client, expr, "a2-b1") == "a2-b1"  # b, which imports a, was imported afresh
        b.write_text('from ._reload_probe_a import A\n\nB = A + "-b2"\n')
        assert wait_for(worker_client, expr, "a2-b2") == "a2-b2"
    finally:
        a.unlink(missing_ok=True)
        b.unlink(missing_ok=True)


def test_two_saves_within_a_second_both_arrive(local_stack, worker_client) -> None:
    # Bytecode is trusted by mtime (whole seconds) and size: the same-length second save must not be served stale.
    probe_file = local_stack.root / "services/pipeline/src/nta_pipeline/_reload_probe_c.py"
    expr = "__import__('nta_pipeline._reload_probe_c', fromlist=['C']).C"
    try:
        probe_file.write_text('C = "c1"\n')
        py_compile.compile(str(probe_file))  # its bytecode exists, whether or not the stack writes any
        assert wait_for(worker_client, expr, "c1") == "c1"
        mtime = probe_file.stat().st_mtime
        saved = probe_file.with_suffix(".tmp")  # saved as editors do: a new file moved over the old one
        saved.write_text('C = "c2"\n')
        os.utime(saved, (mtime, mtime))  # same mtime, same size: only the content differs
        os.replace(saved, probe_file)
        assert wait_for(worker_client, expr, "c2") == "c2"
    finally:
        probe_file.unlink(missing_ok=True)


def test_a_dependency_change_restarts_the_worker_process(local_stack, worker_client) -> None:
    pid = run_on_worker(worker_client, "__import__('os').getpid()")
    pyproject = local_stack.root / "services/pipeline/pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n")
    deadline = time.monotonic() + BOUND_S
    new_pid = pid
    while new_pid == pid and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            new_pid = run_on_worker(worker_client, "__import__('os').getpid()")
        except Exception:  # no worker while it restarts
            continue
    assert new_pid != pid  # watchmedo started a new process: dependencies are never swapped in place


@pytest.mark.parametrize("service", ["django", "flask"])
def test_a_dependency_change_restarts_the_gunicorn_master(local_stack, service: str) -> None:
    # The master holds the preloaded libraries: after a pin change it must not fork workers from the old ones.
    master = local_stack.gunicorn_masters()[service]
    pyproject = local_stack.root / f"services/{service}/pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n")
    deadline = time.monotonic() + BOUND_S
    while local_stack.gunicorn_masters().get(service, master) == master and time.monotonic() < deadline:
        time.sleep(0.2)
    assert local_stack.gunicorn_masters().get(service, master) != master
    probe = http_probe(local_stack.cfg.base_url, service)
    while not probe("") and time.monotonic() < deadline:  # and the new master serves
        time.sleep(0.2)
    assert probe("")

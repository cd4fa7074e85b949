"""Save a file -> the running local stack serves the change: Django, Flask, the Dask worker, nginx.

Bounds are generous (a slow CI machine must not flake); benchmarks/bench_reload.py prints the real timings.
"""

from __future__ import annotations

import pytest

from nta_dev.reload import EDITS, dask_probe, http_probe, local_deliver, measure

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


def test_a_pipeline_change_restarts_the_worker_process(local_stack) -> None:
    edit = EDITS["worker"]
    original = (local_stack.root / edit.path).read_text()
    probe, close = dask_probe(f"tcp://127.0.0.1:{local_stack.cfg.port('scheduler')}")
    try:
        assert not probe("never-served")  # the probe can fail
        seconds = measure(edit, original, local_deliver(local_stack.root), probe, timeout=BOUND_S)
    finally:
        close()
    print(f"\nworker: new code running after {seconds:.2f} s")

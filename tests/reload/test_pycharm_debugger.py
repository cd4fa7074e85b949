"""`./inv up --debug django --debug worker --debugger pycharm`: each service dials PyCharm's Python Debug Server
(here the IDE side of its protocol, tests/fixtures/pycharm.py, listening before the stack starts, as PyCharm's
must). A breakpoint stops a request, the IDE reads the frame's locals and resumes; after a save the reloaded
worker connects anew and the same breakpoint stops in the new code. The Dask worker keeps its one connection
across its in-place reload.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from nta_dev.stack.local import DEBUG_PORTS, free_port_offset
from tests.fixtures.dap import http_get, in_background
from tests.fixtures.pycharm import PyCharmDebugServer
from tests.reload.conftest import LocalStack, scratch_stack

from .test_debugger import DJANGO_VIEWS, HEALTHZ_RETURN, PROBE, PROBE_CODE, PROBE_LINE, line_of

BOUND_S = 60.0


@dataclass
class PyCharmStack:
    stack: LocalStack
    ides: dict[str, PyCharmDebugServer]  # service -> the debug server it dials


@pytest.fixture(scope="module")
def pycharm_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PyCharmStack]:
    tmp = tmp_path_factory.mktemp("pycharm")
    offset = free_port_offset()
    ides = {service: PyCharmDebugServer(DEBUG_PORTS[service] + offset) for service in ("django", "worker")}
    try:
        for stack in scratch_stack(tmp, port_offset=offset, debug=("django", "worker"), debugger="pycharm"):
            yield PyCharmStack(stack, ides)
    finally:
        for ide in ides.values():
            ide.close()


def test_a_django_breakpoint_stops_in_pycharm_before_and_after_a_reload(pycharm_stack: PyCharmStack) -> None:
    ide, root = pycharm_stack.ides["django"], pycharm_stack.stack.root
    views = root / DJANGO_VIEWS
    url = pycharm_stack.stack.cfg.base_url + "/nta/healthz"
    ide.wait_connections(1)  # the worker gunicorn forked at start, not its master
    ide.set_breakpoint(str(views), line_of(views, HEALTHZ_RETURN))  # once the stack is up: its probe is healthz

    answer = in_background(http_get, url)
    stop = ide.stopped(BOUND_S, unless=answer)
    assert (stop.frames[0]["name"], stop.frames[0]["file"], int(stop.frames[0]["line"])) == (
        "healthz", str(views), line_of(views, HEALTHZ_RETURN))  # fmt: skip
    assert "WSGIRequest" in stop.connection.variables(stop.thread_id, stop.frames[0]["id"])["request"]
    stop.connection.resume(stop.thread_id)
    assert answer.result(timeout=BOUND_S) == "ok\n"

    # Save: gunicorn forks a new worker, which dials PyCharm and is given the breakpoint again.
    connections = len(ide.connections)
    views.write_text(views.read_text().replace('HttpResponse("ok\\n"', 'HttpResponse("ok in pycharm\\n"', 1))
    ide.wait_connections(connections + 1)
    answer = in_background(http_get, url)
    stop = ide.stopped(BOUND_S, unless=answer)
    assert stop.connection is ide.connections[-1] and stop.frames[0]["name"] == "healthz", stop
    stop.connection.resume(stop.thread_id)
    assert answer.result(timeout=BOUND_S) == "ok in pycharm\n"  # the stop was in the new code's request


def test_a_worker_breakpoint_stops_in_pycharm_across_its_in_place_reload(pycharm_stack: PyCharmStack) -> None:
    from distributed import Client

    ide, probe = pycharm_stack.ides["worker"], pycharm_stack.stack.root / PROBE
    probe.write_text(PROBE_CODE.format(version="v1"))
    ide.wait_connections(1)
    ide.set_breakpoint(str(probe), PROBE_LINE)
    client = Client(f"tcp://127.0.0.1:{pycharm_stack.stack.cfg.port('scheduler')}", timeout=10, set_as_default=False)
    expr = "__import__('nta_pipeline._debug_probe', fromlist=['answer']).answer(21)"
    try:
        # Every task goes to this stack's worker, the process that dialled PyCharm (not another on the scheduler).
        # It dials PyCharm from its preload, before it registers with the scheduler: on a busy machine, seconds
        # before.
        pid = pycharm_stack.stack.dask_worker_pid()
        deadline = time.monotonic() + BOUND_S
        while True:
            pids = client.run(os.getpid)  # address -> pid of every worker on the scheduler
            if worker := [address for address, p in pids.items() if p == pid]:
                break
            assert time.monotonic() < deadline, f"the stack's worker (pid {pid}) is not on the scheduler: {pids}"
            time.sleep(0.2)

        def submit() -> Any:
            return client.submit(eval, expr, pure=False, workers=worker, allow_other_workers=False)

        result = submit()
        stop = ide.stopped(BOUND_S, unless=result)
        assert (stop.frames[0]["name"], int(stop.frames[0]["line"])) == ("answer", PROBE_LINE), stop.frames[0]
        assert stop.connection.variables(stop.thread_id, stop.frames[0]["id"]) == {"x": "21", "doubled": "42"}
        stop.connection.resume(stop.thread_id)
        assert result.result(timeout=BOUND_S) == "v1:42"

        probe.write_text(PROBE_CODE.format(version="v2"))  # reloaded in place: the same process and connection
        answers = []
        for _ in range(50):  # the reloader forgets the module within moments of the save; until then v1 answers
            result = submit()
            stop = ide.stopped(BOUND_S, unless=result)
            stop.connection.resume(stop.thread_id)
            answers.append(result.result(timeout=BOUND_S))
            if answers[-1] == "v2:42":
                break
        assert answers[-1] == "v2:42", answers
        assert len(ide.connections) == 1
    finally:
        client.close()
        probe.unlink(missing_ok=True)


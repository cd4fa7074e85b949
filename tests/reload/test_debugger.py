"""`./inv up --debug django --debug worker`: a DAP client stops at a breakpoint, sees the locals, continues; after a
save reloads the code, the same breakpoint stops in the new code. The client is the one VS Code's protocol implies
(tests/fixtures/dap.py): it follows the subprocesses debugpy reports and gives each the editor's breakpoints.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.dap import Debugger, evaluate, http_get, in_background, local_variables, top_frame
from tests.reload.conftest import LocalStack, scratch_stack

BOUND_S = 60.0
DJANGO_VIEWS = "services/django/src/nta_web/views.py"
HEALTHZ_RETURN = 'return HttpResponse("ok\\n", content_type="text/plain")'
PROBE = "services/pipeline/src/nta_pipeline/_debug_probe.py"
PROBE_CODE = 'def answer(x):\n    doubled = x * 2\n    return "{version}:" + str(doubled)\n'
PROBE_LINE = 3  # the return


@pytest.fixture(scope="module")
def debug_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    tmp = tmp_path_factory.mktemp("debug")
    # debugpy's own logs (adapter, server, pydevd), to read when a stop never comes
    yield from scratch_stack(tmp, debug=("django", "worker"), extra_env={"DEBUGPY_LOG_DIR": str(tmp / "debugpy")})


def line_of(path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def stop_and_continue(debugger: Debugger, function: str, line: int, pending: Any) -> tuple[dict[str, str], str]:
    """Wait for the stop of the `pending` request or task, check where it is, read the locals and the constants of
    the function's code (evaluated in the stopped frame, under any decorators), then continue."""
    session, stopped = debugger.stopped(timeout=BOUND_S, unless=pending)
    assert stopped["reason"] == "breakpoint", stopped
    frame = top_frame(session, stopped["threadId"])
    assert (frame["name"], frame["line"]) == (function, line), frame
    variables = local_variables(session, frame["id"])
    constants = evaluate(session, frame["id"], f"str(__import__('inspect').unwrap({function}).__code__.co_consts)")
    session.resume(stopped["threadId"], pending)
    return variables, constants


def test_a_django_breakpoint_hits_before_and_after_a_reload(debug_stack: LocalStack) -> None:
    views = debug_stack.root / DJANGO_VIEWS
    line = line_of(views, HEALTHZ_RETURN)
    debugger = Debugger("127.0.0.1", debug_stack.cfg.debug_port("django"))
    debugger.breakpoints[str(views)] = [line]
    debugger.attach().wait_sessions(2)  # gunicorn's master and its worker
    url = debug_stack.cfg.base_url + "/nta/healthz"
    try:
        answer = in_background(http_get, url)
        variables, _ = stop_and_continue(debugger, "healthz", line, answer)
        assert "WSGIRequest" in variables["request"]  # the view's local, as the debugger shows it
        assert answer.result(timeout=BOUND_S) == "ok\n"

        # Save: gunicorn forks a new worker with the new code; the debugger follows it with the same breakpoint.
        sessions = len(debugger.sessions)
        views.write_text(views.read_text().replace('HttpResponse("ok\\n"', 'HttpResponse("ok reloaded\\n"', 1))
        debugger.wait_sessions(sessions + 1)  # the new worker, followed as VS Code follows it
        answer = in_background(http_get, url)
        _, code_consts = stop_and_continue(debugger, "healthz", line, answer)
        assert "ok reloaded" in code_consts  # stopped inside the new code
        assert answer.result(timeout=BOUND_S) == "ok reloaded\n"
    finally:
        debugger.close()


def test_a_worker_breakpoint_hits_before_and_after_a_reload(debug_stack: LocalStack) -> None:
    from distributed import Client

    probe = debug_stack.root / PROBE
    probe.write_text(PROBE_CODE.format(version="v1"))
    debugger = Debugger("127.0.0.1", debug_stack.cfg.debug_port("worker"))
    debugger.breakpoints[str(probe)] = [PROBE_LINE]
    debugger.attach()
    client = Client(f"tcp://127.0.0.1:{debug_stack.cfg.port('scheduler')}", timeout=10, set_as_default=False)
    expr = "__import__('nta_pipeline._debug_probe', fromlist=['answer']).answer(21)"
    try:
        # Every task goes to the process under the debugger (by its pid, as debugpy reports it): another worker
        # on this scheduler would run tasks the breakpoint can never stop.
        debugged = debugger.sessions[0].event("process")["systemProcessId"]
        pids = client.run(os.getpid)
        assert debugged in pids.values(), pids
        worker = [address for address, pid in pids.items() if pid == debugged]

        def submit() -> Any:
            return client.submit(eval, expr, pure=False, workers=worker, allow_other_workers=False)

        result = submit()
        variables, _ = stop_and_continue(debugger, "answer", PROBE_LINE, result)
        assert (variables["x"], variables["doubled"]) == ("21", "42")
        assert result.result(timeout=BOUND_S) == "v1:42"

        probe.write_text(PROBE_CODE.format(version="v2"))  # reloaded in place: the same process, the same session
        deadline_result = None
        for _ in range(50):  # the reloader forgets the module within moments of the save; until then v1 answers
            result = submit()
            _, code_consts = stop_and_continue(debugger, "answer", PROBE_LINE, result)
            deadline_result = result.result(timeout=BOUND_S)
            if "v2" in code_consts:
                break
        assert deadline_result == "v2:42"
    finally:
        client.close()
        debugger.close()
        probe.unlink(missing_ok=True)

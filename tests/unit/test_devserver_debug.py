"""NTA_DEBUG's grammar (nta_devserver.debug), the local stack's --debugger switch, and what a PyCharm connection
that finds nothing listening does: the server runs on, and one line says why and what to do."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from nta_devserver.debug import Target, parse

from nta_dev.stack.local import StackConfig, StackError, processes


@pytest.mark.parametrize(("value", "target"), [
    ("5678", Target("dap", "127.0.0.1", 5678)),
    ("0.0.0.0:5678", Target("dap", "0.0.0.0", 5678)),
    ("pycharm:5690", Target("pycharm", "127.0.0.1", 5690)),
    ("pycharm:host.docker.internal:5690", Target("pycharm", "host.docker.internal", 5690)),
])  # fmt: skip
def test_nta_debug_values(value: str, target: Target) -> None:
    assert parse(value) == target


@pytest.mark.parametrize("value", ["", "pycharm", "pycharm:", "pycharm:x", "0", "70000", "host:port"])
def test_bad_nta_debug_values_name_the_expected_forms(value: str) -> None:
    with pytest.raises(ValueError, match=r"expected PORT, HOST:PORT or pycharm:\[HOST:\]PORT"):
        parse(value)


def test_the_local_stack_tells_each_debugged_service_how_to_reach_its_ide() -> None:
    dap = processes(StackConfig(port_offset=100, debug=("django",)))
    pycharm = processes(StackConfig(port_offset=100, debug=("django", "worker"), debugger="pycharm"))
    assert dap["django"].startswith("NTA_DEBUG=127.0.0.1:5778 ")
    assert pycharm["django"].startswith("NTA_DEBUG=pycharm:127.0.0.1:5778 ")
    assert pycharm["worker"].startswith("NTA_DEBUG=pycharm:127.0.0.1:5780 ")
    assert "NTA_DEBUG" not in pycharm["flask"]


def test_an_unknown_debugger_is_refused_with_the_choices() -> None:
    with pytest.raises(StackError, match="--debugger vscode: choose from dap, pycharm"):
        StackConfig(debug=("django",), debugger="vscode")


def test_nothing_listening_for_pycharm_leaves_the_process_running_with_one_line_saying_so() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = ("from nta_devserver.debug import Target, connect_pycharm;"
            f"print('connected:', connect_pycharm(Target('pycharm', '127.0.0.1', {port})))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "connected: False"
    assert f"PyCharm's Python Debug Server does not answer on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr  # pydevd's own traceback is replaced by that line

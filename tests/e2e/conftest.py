"""The e2e suite runs against any stack: `pytest tests/e2e --base-url URL`; without a URL it starts the local stack
(`python -m nta_dev.localstack`) on shifted ports with a short job lease and a small upload limit, and stops it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nta_dev.localstack import StackConfig, ports_in_use
from tests.e2e.client import StackClient

READY_LINE = "nta: the stack is up"
LOCAL_UPLOAD_MB = 16
LOCAL_LEASE_S = 15


@dataclass
class Stack:
    base_url: str
    max_upload_mb: int
    process: subprocess.Popen | None = None  # the local stack, when this suite started it
    log: Path | None = None

    @property
    def local(self) -> bool:
        return self.process is not None


def _free_offset() -> int:
    for offset in range(20000, 30000, 1000):
        if not ports_in_use(StackConfig(port_offset=offset)):
            return offset
    pytest.fail("no free port range for the local stack between offsets 20000 and 30000")


def _start_local(tmp: Path) -> Stack:
    offset = _free_offset()
    log = tmp / "local-stack.log"
    cmd = [sys.executable, "-m", "nta_dev.localstack", "--port-offset", str(offset), "--state-dir", str(tmp / "state"),
           "--lease-seconds", str(LOCAL_LEASE_S), "--max-upload-mb", str(LOCAL_UPLOAD_MB)]  # fmt: skip
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=env)
    stack = Stack(StackConfig(port_offset=offset).base_url, LOCAL_UPLOAD_MB, proc, log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if READY_LINE in text:
            return stack
        if proc.poll() is not None or "nta: not ready" in text:
            break
        time.sleep(0.5)
    _stop(stack)
    pytest.fail(f"the local stack did not come up; its output:\n{log.read_text(errors='replace')[-6000:]}")


def _stop(stack: Stack) -> None:
    if stack.process is None or stack.process.poll() is not None:
        return
    os.killpg(stack.process.pid, signal.SIGINT)  # what Ctrl-C does: honcho stops every process
    try:
        stack.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(stack.process.pid, signal.SIGKILL)
        stack.process.wait()


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base_url = request.config.getoption("--base-url")
    if base_url:
        yield Stack(base_url.rstrip("/"), request.config.getoption("--max-upload-mb") or 100)
        return
    stack = _start_local(tmp_path_factory.mktemp("local-stack"))
    try:
        yield stack
    finally:
        _stop(stack)
        artifacts = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
        artifacts.mkdir(parents=True, exist_ok=True)
        if stack.log:
            (artifacts / "local-stack.log").write_bytes(stack.log.read_bytes())


@pytest.fixture
def client(stack: Stack) -> StackClient:
    return StackClient(stack.base_url)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    path = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path

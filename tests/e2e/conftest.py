"""The e2e suite runs against any stack: `pytest tests/e2e --base-url URL`; without a URL it starts the local stack
(nta_dev.stack.local) on shifted ports with a short job lease and a small upload limit, and stops it afterwards."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nta_dev.stack.local import StackConfig, free_port_offset
from tests.e2e.client import StackClient
from tests.fixtures.stack import background_stack

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
LOCAL_UPLOAD_MB = 16
LOCAL_LEASE_S = 15


@dataclass
class Stack:
    base_url: str
    max_upload_mb: int
    process: subprocess.Popen | None = None  # the local stack, when this suite started it
    mongo_url: str | None = None  # its database, for tests that play a worker

    @property
    def local(self) -> bool:
        return self.process is not None


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base_url = request.config.getoption("--base-url")
    if base_url:
        yield Stack(base_url.rstrip("/"), request.config.getoption("--max-upload-mb") or 100)
        return
    tmp = tmp_path_factory.mktemp("local-stack")
    cfg = StackConfig(port_offset=free_port_offset(), state_dir=tmp / "state", max_upload_mb=LOCAL_UPLOAD_MB,
                      lease_seconds=LOCAL_LEASE_S)  # fmt: skip
    log = tmp / "local-stack.log"
    try:
        with background_stack(cfg, log) as background:
            yield Stack(cfg.base_url, LOCAL_UPLOAD_MB, background.process, cfg.mongo_url)
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        if log.exists():
            (ARTIFACTS / "local-stack.log").write_bytes(log.read_bytes())


@pytest.fixture
def client(stack: Stack) -> StackClient:
    return StackClient(stack.base_url)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

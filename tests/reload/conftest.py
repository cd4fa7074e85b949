from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from nta_dev.stack.local import REPO, BackgroundStack, StackConfig, free_port_offset
from tests.fixtures.stack import background_stack

# What the local stack runs from; copied so the tests edit a scratch tree, never the checkout.
COPIED = ("services/pipeline/src", "services/pipeline/pyproject.toml", "services/django/src",
          "services/django/pyproject.toml", "services/flask/src", "services/flask/pyproject.toml", "services/nginx")


def _is_gunicorn(cmd: list[str]) -> bool:
    # `python .venv/bin/gunicorn ...`; honcho's `/bin/sh -c "gunicorn ..."` around it is not one.
    return any(Path(c).name == "gunicorn" for c in cmd[:2])


@dataclass
class LocalStack:
    cfg: StackConfig
    background: BackgroundStack

    @property
    def root(self) -> Path:
        return self.cfg.source_root

    def gunicorn_masters(self) -> dict[str, int]:
        """Port-named gunicorn master pids: {'django': pid, 'flask': pid}."""
        masters = {}
        ports = {str(self.cfg.port("django")): "django", str(self.cfg.port("flask")): "flask"}
        for proc in psutil.Process(self.background.process.pid).children(recursive=True):
            try:
                cmd, parent = proc.cmdline(), proc.parent().cmdline()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if _is_gunicorn(cmd) and not _is_gunicorn(parent):
                bind = next((c for c in cmd if c.startswith("127.0.0.1:")), "")
                if bind.split(":")[-1] in ports:
                    masters[ports[bind.split(":")[-1]]] = proc.pid
        return masters


    def dask_worker_pid(self) -> int:
        """The pid of this stack's Dask worker process (`dask worker ... --preload nta_devserver.dask`)."""
        for proc in psutil.Process(self.background.process.pid).children(recursive=True):
            try:
                cmd = proc.cmdline()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if "worker" in cmd and "nta_devserver.dask" in cmd and not any("watchmedo" in c for c in cmd):
                return proc.pid
        raise AssertionError("no Dask worker process in this stack")


def scratch_stack(tmp: Path, **options: object) -> Iterator[LocalStack]:
    """The local stack running a scratch copy of the code (the tests edit it, never the checkout), in tmp / "src"."""
    root = tmp / "src"
    for rel in COPIED:
        if (REPO / rel).is_file():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, root / rel)
        else:
            shutil.copytree(REPO / rel, root / rel, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    options.setdefault("port_offset", free_port_offset())
    cfg = StackConfig(state_dir=tmp / "state", source_root=root, **options)
    with background_stack(cfg, tmp / "stack.log") as background:
        yield LocalStack(cfg, background)


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    yield from scratch_stack(tmp_path_factory.mktemp("reload"))

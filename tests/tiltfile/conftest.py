"""Fixtures for the tiltfile layer: the tools it needs and a scratch checkout for the Tiltfile's side effects."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fixtures.require import unavailable

from .fake_tilt import Recording, evaluate

REPO_ROOT = Path(__file__).resolve().parents[2]
TILTFILE = REPO_ROOT / "Tiltfile"
FIXES = {
    "starlark_go": "`.venv/bin/pip install starlark-go` (the root pyproject's test extra has it)",
    "kubectl": "install kubectl >= 1.27 (it bundles kustomize) and put it on PATH, or set KUBECTL=/path/to/kubectl",
}

Evaluator = Callable[..., Recording]


def _missing(tool: str) -> None:
    unavailable(f"{tool} is missing: {FIXES[tool]}")


@pytest.fixture(scope="session")
def starlark() -> None:
    if importlib.util.find_spec("starlark_go") is None:
        _missing("starlark_go")


@pytest.fixture(scope="session")
def kubectl() -> str:
    path = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not path:
        _missing("kubectl")
    return path


@pytest.fixture(scope="session")
def host_env() -> dict[str, str]:
    """The environment of a developer shell without our venv: the Tiltfile's local() must not need it."""
    venv_bin = str(Path(sys.prefix, "bin"))
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin)
    return {"PATH": path, "VIRTUAL_ENV": ""}


@pytest.fixture(scope="session")
def scratch_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkout, symlinked, except k8s/ which is copied without secrets.env: the Tiltfile writes there."""
    root = tmp_path_factory.mktemp("tilt") / "repo"
    root.mkdir()
    for entry in REPO_ROOT.iterdir():
        if entry.name not in {"k8s", ".git", ".venv"}:
            (root / entry.name).symlink_to(entry)
    shutil.copytree(REPO_ROOT / "k8s", root / "k8s", ignore=shutil.ignore_patterns("secrets.env"))
    return root


@pytest.fixture(scope="session")
def run_tiltfile(starlark: None, kubectl: str, scratch_root: Path, host_env: dict[str, str]) -> Evaluator:
    """evaluate(text=None, context=..., args=[...]): the real Tiltfile, or the given text, in the scratch checkout."""
    renders: dict = {}  # k8s/ does not change during the session: render the overlay once

    def run(text: str | None = None, *, context: str = "docker-desktop", args: list[str] | None = None) -> Recording:
        source = TILTFILE.read_text(encoding="utf-8") if text is None else text
        return evaluate(scratch_root / "Tiltfile", text=source, context=context, args=args, kubectl=kubectl,
                        env=host_env, kustomize_cache=renders)

    return run


@pytest.fixture(scope="session")
def recording(run_tiltfile: Evaluator) -> Recording:
    """The real Tiltfile on docker-desktop, no subset."""
    return run_tiltfile()

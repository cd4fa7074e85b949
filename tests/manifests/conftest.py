"""Fixtures for the manifests layer: kubectl, a scratch copy of k8s/ with secrets, rendered overlays."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from nta_dev.kube.secrets import ensure_secrets_env

from .contract import OVERLAYS

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = REPO_ROOT / "k8s"
KUBECTL_FIX = (
    "install kubectl >= 1.27 (it bundles kustomize 5), e.g. `apt-get install kubectl` from the "
    "Kubernetes apt repo or https://kubernetes.io/docs/tasks/tools/, and put it on PATH "
    "(or set KUBECTL=/path/to/kubectl)"
)

Renderer = Callable[[str], list[dict[str, Any]]]


@pytest.fixture(scope="session")
def kubectl() -> str:
    path = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not path or not Path(path).exists():
        # A fail, not a skip: a missing tool must not look like a passing layer.
        pytest.fail(f"kubectl not found: {KUBECTL_FIX}", pytrace=False)
    return path


@pytest.fixture(scope="session")
def k8s_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """k8s/ copied to a temp dir with fresh secrets.env files, so renders never touch the checkout."""
    dst = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S_DIR, dst, ignore=shutil.ignore_patterns("secrets.env"))
    for overlay in OVERLAYS:
        ensure_secrets_env(dst / "overlays" / overlay)
    return dst


def kustomize(kubectl: str, directory: Path) -> list[dict[str, Any]]:
    try:
        proc = subprocess.run(
            [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False
        )
    except OSError as exc:
        pytest.fail(f"cannot run {kubectl}: {exc}; {KUBECTL_FIX}", pytrace=False)
    if proc.returncode != 0:
        pytest.fail(f"`kubectl kustomize {directory}` exited {proc.returncode}:\n{proc.stderr.strip()}", pytrace=False)
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


@pytest.fixture(scope="session")
def rendered(kubectl: str, k8s_copy: Path) -> Renderer:
    """rendered("dev") -> the overlay's objects; each overlay is rendered once per session."""
    cache: dict[str, list[dict[str, Any]]] = {}

    def render(overlay: str) -> list[dict[str, Any]]:
        if overlay not in cache:
            directory = k8s_copy / "base" if overlay == "base" else k8s_copy / "overlays" / overlay
            cache[overlay] = kustomize(kubectl, directory)
        return cache[overlay]

    return render

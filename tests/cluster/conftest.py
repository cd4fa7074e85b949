"""Fixtures of the cluster layer: one real single-node Kubernetes (nta_dev.cluster) per session, of the release
NTA_K8S_VERSION names (else the toolkit's default).

Needs root and a Docker engine; locally the layer is skipped without them, in CI (CI=true) it fails.
A cluster of that release already running (a developer's `./inv cluster-local`) is reused and left running.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nta_dev.cluster import CONTEXT, Cluster, components, down, release, running_pids, running_version, state_dir, up
from nta_dev.cluster.tasks import run_task
from tests.fixtures.require import unavailable

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "nta-base:bookworm"




def require_cluster_prereqs() -> None:
    if os.geteuid() != 0:
        unavailable("the local cluster needs root (kubelet): run the cluster layer as root")
    if not shutil.which("docker") or not shutil.which("dockerd"):
        unavailable("the local cluster needs a Docker engine: `apt-get install -y docker.io`")
    if not shutil.which("kubectl"):
        unavailable("kubectl not found: install kubectl >= 1.27 and put it on PATH")


@pytest.fixture(scope="session")
def base_image() -> str:
    """The offline base image the test pods run (built here when missing: this layer may run before tests/images)."""
    from nta_dev.errors import ToolkitError
    from nta_dev.images.base import ensure_base_image

    try:
        return ensure_base_image(BASE_IMAGE, log=lambda _line: None)
    except ToolkitError as exc:
        unavailable(f"cannot build {BASE_IMAGE}: {exc}")
        raise


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    require_cluster_prereqs()
    state = state_dir()
    state.mkdir(parents=True, exist_ok=True)
    with open(state / "tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one starter, even with several pytest processes
        wanted = release().version
        reuse = set(running_pids()) == set(components(wanted)) and running_version() == wanted
        started = up() if not reuse else Cluster(state / "kubeconfig", version=wanted)
    yield started
    if not reuse:
        down()


Kubectl = Callable[..., subprocess.CompletedProcess]


@pytest.fixture(scope="session")
def kubectl(cluster: Cluster) -> Kubectl:
    """kubectl(*args, check=True, input=None, timeout=120) against the local cluster only (explicit context)."""

    def run(*args: str, check: bool = True, input: str | None = None, timeout: float = 120,
            ) -> subprocess.CompletedProcess:
        cmd = ["kubectl", f"--kubeconfig={cluster.kubeconfig}", f"--context={CONTEXT}", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout)
        if check and proc.returncode != 0:
            pytest.fail(f"`{' '.join(cmd[1:])}` exited {proc.returncode}:\n{proc.stderr}{proc.stdout}",
                        pytrace=False)
        return proc

    return run


@pytest.fixture
def namespace(kubectl: Kubectl) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards (without waiting)."""
    name = f"nta-test-{uuid.uuid4().hex[:8]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


def apply_json(kubectl: Kubectl, *objects: dict[str, Any]) -> None:
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def run_inv(kubeconfig: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real invoke task against the cluster: see nta_dev.cluster.tasks.run_task."""
    return run_task(*args, kubeconfig=kubeconfig, timeout=timeout)

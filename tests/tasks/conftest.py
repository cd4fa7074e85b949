"""Fixtures of the tasks layer (the fakes themselves live in fakes.py)."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from invoke import Context

from nta_dev.kube.context import Kubectl, load_kubeconfig
from tests.fixtures.mongo import mongo_url  # noqa: F401  (a real MongoDB-protocol server for seed and doctor)

from .fakes import FAKE_KUBECTL, KUBECONFIG, REPO, FakeKubectl, require_tool, write_script


@pytest.fixture(scope="session")
def real_kubectl() -> str:
    return require_tool("kubectl")


@pytest.fixture
def kubeconfig(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(path))
    monkeypatch.delenv("NTA_LOCAL_CONTEXTS", raising=False)
    monkeypatch.delenv("KUBECTL", raising=False)
    return path


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    return directory


@pytest.fixture
def fake_kubectl(fake_bin: Path, tmp_path: Path, real_kubectl: str, kubeconfig: Path,
                 monkeypatch: pytest.MonkeyPatch) -> FakeKubectl:  # fmt: skip
    write_script(fake_bin, "kubectl", FAKE_KUBECTL.format(python=sys.executable))
    fake = FakeKubectl(fake_bin, tmp_path / "kubectl-calls.jsonl", tmp_path / "kubectl-responses.json")
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(fake.log))
    monkeypatch.setenv("FAKE_KUBECTL_RESPONSES", str(fake.responses))
    monkeypatch.setenv("REAL_KUBECTL", real_kubectl)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    return fake


@pytest.fixture
def kubectl_on(fake_kubectl: FakeKubectl) -> Callable[[str], Kubectl]:
    """kubectl_on("docker-desktop") -> a Kubectl bound to that context of the test kubeconfig, via the fake."""

    def bind(name: str) -> Kubectl:
        return Kubectl(Context(), load_kubeconfig().require(name), str(fake_kubectl.bin_dir / "kubectl"))

    return bind


@pytest.fixture
def k8s_copy(tmp_path: Path) -> Path:
    """k8s/ copied without secrets.env files, so tasks generate them in the copy, never in the checkout."""
    dst = tmp_path / "k8s"
    shutil.copytree(REPO / "k8s", dst, ignore=shutil.ignore_patterns("secrets.env"))
    return dst

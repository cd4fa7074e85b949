"""`inv metrics-server`: --kubelet-insecure-tls only on local contexts, minikube's addon, a bounded wait."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nta_dev.errors import ToolkitError
from nta_dev.kube.context import Kubectl
from nta_dev.kube.metrics import install_metrics_server

from .fakes import LOCAL, MINIKUBE_PROFILE, REMOTE, FakeKubectl, assert_context_everywhere, recorded, recording_tool

COMPONENTS = """
apiVersion: v1
kind: ServiceAccount
metadata: {name: metrics-server, namespace: kube-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: metrics-server, namespace: kube-system}
spec:
  template:
    spec:
      containers:
        - name: metrics-server
          image: registry.k8s.io/metrics-server/metrics-server:v0.7.2
          args: [--cert-dir=/tmp, --secure-port=10250, --metric-resolution=15s]
"""
TOP = "NAME   CPU(cores)   CPU%   MEMORY(bytes)   MEMORY%\nnode   120m         6%     1200Mi          15%\n"


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "components.yaml"
    path.write_text(COMPONENTS)
    return path


def server_args(fake: FakeKubectl) -> list[str]:
    apply = next(c for c in fake.cluster_calls() if c.args[:1] == ["apply"])
    deployment = next(d for d in apply.docs() if d["kind"] == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]["args"]


@pytest.mark.parametrize(("context", "insecure"), [(LOCAL, True), ("kind-dev", True), (REMOTE, False)])
def test_insecure_tls_only_on_local_contexts(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                             manifest: Path, context: str, insecure: bool) -> None:  # fmt: skip
    fake_kubectl.respond("top nodes", stdout=TOP)
    assert install_metrics_server(kubectl_on(context), manifest, timeout=5, interval=0.1) == TOP
    assert ("--kubelet-insecure-tls" in server_args(fake_kubectl)) is insecure
    assert server_args(fake_kubectl)[:3] == ["--cert-dir=/tmp", "--secure-port=10250", "--metric-resolution=15s"]
    assert [c.args[:2] for c in fake_kubectl.cluster_calls()] == [["apply", "-f"], ["top", "nodes"]]
    assert_context_everywhere(fake_kubectl.calls(), context)


def test_wait_gives_up_and_says_why(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                    manifest: Path) -> None:  # fmt: skip
    fake_kubectl.respond("top nodes", stderr="error: Metrics API not available\n", rc=1)
    with pytest.raises(ToolkitError) as err:
        install_metrics_server(kubectl_on(LOCAL), manifest, timeout=1.0, interval=0.1)
    message = str(err.value)
    assert "Metrics API not available" in message
    assert f"kubectl --context {LOCAL} -n kube-system logs deploy/metrics-server" in message
    tops = [c for c in fake_kubectl.cluster_calls() if c.args[:2] == ["top", "nodes"]]
    assert 2 <= len(tops) <= 11, "polls until the deadline, then stops"


def test_minikube_uses_its_addon(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                 manifest: Path) -> None:  # fmt: skip
    log = recording_tool(fake_kubectl.bin_dir, "minikube")
    fake_kubectl.respond("top nodes", stdout=TOP)
    install_metrics_server(kubectl_on(MINIKUBE_PROFILE), manifest, timeout=5, interval=0.1)
    assert recorded(log) == [["addons", "enable", "metrics-server", "-p", MINIKUBE_PROFILE]]
    assert [c.args[:2] for c in fake_kubectl.cluster_calls()] == [["top", "nodes"]], "no manifest on minikube"


def test_minikube_missing_names_the_install(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                            manifest: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("PATH", str(fake_kubectl.bin_dir))
    with pytest.raises(ToolkitError, match=r"minikube not found on PATH .*minikube\.sigs\.k8s\.io"):
        install_metrics_server(kubectl_on(MINIKUBE_PROFILE), manifest, timeout=1, interval=0.1)

"""`inv dashboard`: skip-login only on local contexts, with a loud warning; a read-only login either way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nta_dev.errors import ToolkitError
from nta_dev.kube.context import Kubectl
from nta_dev.kube.dashboard import install_dashboard

from .fakes import LOCAL, REMOTE, FakeKubectl, assert_context_everywhere

# A trimmed Dashboard v2.7.0 recommended.yaml: the parts the task touches.
DASHBOARD_MANIFEST = """
apiVersion: v1
kind: Namespace
metadata:
  name: kubernetes-dashboard
---
apiVersion: v1
kind: Service
metadata:
  name: kubernetes-dashboard
  namespace: kubernetes-dashboard
spec:
  ports: [{port: 443, targetPort: 8443}]
  selector: {k8s-app: kubernetes-dashboard}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: kubernetes-dashboard
  namespace: kubernetes-dashboard
spec:
  selector: {matchLabels: {k8s-app: kubernetes-dashboard}}
  template:
    metadata: {labels: {k8s-app: kubernetes-dashboard}}
    spec:
      containers:
        - name: kubernetes-dashboard
          image: kubernetesui/dashboard:v2.7.0
          args: [--auto-generate-certificates, --namespace=kubernetes-dashboard]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dashboard-metrics-scraper
  namespace: kubernetes-dashboard
spec:
  template:
    spec:
      containers:
        - name: dashboard-metrics-scraper
          image: kubernetesui/metrics-scraper:v1.0.8
"""

HEADLAMP_MANIFEST = """
kind: Service
apiVersion: v1
metadata: {name: headlamp, namespace: kube-system}
spec:
  ports: [{port: 80, targetPort: 4466}]
---
kind: Deployment
apiVersion: apps/v1
metadata: {name: headlamp, namespace: kube-system}
spec:
  template:
    spec:
      containers:
        - name: headlamp
          image: ghcr.io/headlamp-k8s/headlamp:latest
          args: ["-in-cluster"]
"""


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "recommended.yaml"
    path.write_text(DASHBOARD_MANIFEST)
    return path


def dashboard_args(fake: FakeKubectl) -> list[str]:
    first = fake.cluster_calls()[0]
    deployment = next(d for d in first.docs() if d["kind"] == "Deployment" and
                      d["metadata"]["name"] == "kubernetes-dashboard")  # fmt: skip
    return deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def test_local_context_gets_skip_login_and_the_warning(kubectl_on: Callable[[str], Kubectl],
                                                       fake_kubectl: FakeKubectl, manifest: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    access = install_dashboard(kubectl_on(LOCAL), manifest)
    out = capsys.readouterr().out
    assert dashboard_args(fake_kubectl) == ["--auto-generate-certificates", "--namespace=kubernetes-dashboard",
                                            "--enable-skip-login"]  # fmt: skip
    assert "WARNING" in out and "--enable-skip-login" in out and "LOCAL cluster only" in out
    assert "archived upstream on 2026-01-21" in out and "--headlamp" in out
    assert access.skip_login
    assert_context_everywhere(fake_kubectl.calls(), LOCAL)


def test_remote_context_never_gets_skip_login(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                              manifest: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    access = install_dashboard(kubectl_on(REMOTE), manifest)
    out = capsys.readouterr().out
    assert "--enable-skip-login" not in dashboard_args(fake_kubectl)
    assert all("--enable-skip-login" not in (c.stdin or "") for c in fake_kubectl.cluster_calls())
    assert "WARNING" not in out and "NOT added" in out
    assert not access.skip_login
    assert_context_everywhere(fake_kubectl.calls(), REMOTE)


def test_read_only_account_token_and_url(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                         manifest: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    install_dashboard(kubectl_on(LOCAL), manifest)
    out = capsys.readouterr().out
    applies = [c for c in fake_kubectl.cluster_calls() if c.args[:1] == ["apply"]]
    assert len(applies) == 2
    viewer = {d["kind"]: d for d in applies[1].docs()}
    assert viewer["ServiceAccount"]["metadata"] == {**viewer["ServiceAccount"]["metadata"],
                                                    "name": "nta-dashboard-viewer",
                                                    "namespace": "kubernetes-dashboard"}  # fmt: skip
    binding = viewer["ClusterRoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "nta-dashboard-viewer",
                                    "namespace": "kubernetes-dashboard"}]  # fmt: skip
    assert f"kubectl --context {LOCAL} -n kubernetes-dashboard create token nta-dashboard-viewer" in out
    assert ("http://localhost:8001/api/v1/namespaces/kubernetes-dashboard/services/https:kubernetes-dashboard:/proxy/"
            in out)  # fmt: skip
    assert f"kubectl --context {LOCAL} proxy" in out


def test_headlamp(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl, tmp_path: Path,
                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    manifest = tmp_path / "headlamp.yaml"
    manifest.write_text(HEADLAMP_MANIFEST)
    access = install_dashboard(kubectl_on(LOCAL), manifest, headlamp=True)
    out = capsys.readouterr().out
    applies = [c for c in fake_kubectl.cluster_calls() if c.args[:1] == ["apply"]]
    assert {d["kind"] for d in applies[0].docs()} == {"Service", "Deployment"}
    assert all("--enable-skip-login" not in (c.stdin or "") for c in applies)
    assert applies[1].docs()[0]["metadata"]["namespace"] == "kube-system"
    assert access.url == "http://localhost:4466/"
    assert "port-forward service/headlamp 4466:80" in out and "WARNING" not in out


def test_missing_manifest_file_names_the_option(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                                tmp_path: Path) -> None:  # fmt: skip
    with pytest.raises(ToolkitError, match="--manifest FILE"):
        install_dashboard(kubectl_on(LOCAL), tmp_path / "absent.yaml")
    assert fake_kubectl.calls() == []


def test_manifest_without_the_dashboard_is_refused(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                                   tmp_path: Path) -> None:  # fmt: skip
    other = tmp_path / "other.yaml"
    other.write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n")
    with pytest.raises(ToolkitError, match="recommended.yaml"):
        install_dashboard(kubectl_on(LOCAL), other)
    assert fake_kubectl.cluster_calls() == []


def test_the_toolkits_own_cluster_is_refused_with_the_reason(
    kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl, kubeconfig: Path
) -> None:
    """nta-local pulls no image and neither UI's source is served here: say so before anything is applied."""
    kubeconfig.write_text(kubeconfig.read_text().replace(
        "contexts:\n", "contexts:\n- name: nta-local\n  context: {cluster: local, user: me}\n", 1))
    for headlamp in (False, True):
        with pytest.raises(ToolkitError, match="Go module proxy refuses.*--manifest FILE"):
            install_dashboard(kubectl_on("nta-local"), headlamp=headlamp)
    assert fake_kubectl.cluster_calls() == []

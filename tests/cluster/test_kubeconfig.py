"""The cluster's kubeconfig: context nta-local (treated as local by the toolkit), merged into ~/.kube/config only
when asked and without switching the developer's current context."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from nta_dev.cluster.pki import CONTEXT, ensure_pki, write_kubeconfig
from nta_dev.cluster.runtime import merge_into_default
from nta_dev.kube.context import is_local_context
from tests.fixtures.require import unavailable


def contexts(path: Path) -> tuple[set[str], str]:
    out = subprocess.run(["kubectl", "config", "view", "--kubeconfig", str(path), "-o", "json"], capture_output=True,
                         text=True, check=True)
    config = json.loads(out.stdout)
    return {c["name"] for c in config["contexts"]}, config["current-context"]


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    if not shutil.which("kubectl") or not shutil.which("openssl"):
        unavailable("kubectl and openssl are needed")
    return write_kubeconfig(tmp_path / "kubeconfig", ensure_pki(tmp_path / "pki", "10.96.0.1"))


def test_context_is_local_and_certificate_names_the_server(kubeconfig: Path) -> None:
    assert contexts(kubeconfig) == ({CONTEXT}, CONTEXT)
    assert is_local_context(CONTEXT)
    cert = subprocess.run(["openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
                           str(kubeconfig.parent / "pki" / "apiserver.crt")], capture_output=True, text=True).stdout
    assert "IP Address:127.0.0.1" in cert and "IP Address:10.96.0.1" in cert
    assert oct(kubeconfig.stat().st_mode & 0o777) == "0o600"  # it holds the admin token


def test_merge_keeps_the_current_context(kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".kube").mkdir(parents=True)
    default = home / ".kube" / "config"
    default.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod",
        "clusters": [{"name": "prod", "cluster": {"server": "https://prod.example:6443"}}],
        "users": [{"name": "prod", "user": {"token": "t"}}],
        "contexts": [{"name": "prod", "context": {"cluster": "prod", "user": "prod"}}]}))
    monkeypatch.setenv("HOME", str(home))
    assert merge_into_default(kubeconfig) == default
    assert contexts(default) == ({"prod", CONTEXT}, "prod")

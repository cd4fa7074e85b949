"""`inv context`: show, switch, refuse unknown names; and which contexts count as local."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from invoke import Context

from nta_dev.kube.context import UnknownContext, describe, is_local_context, load_kubeconfig, use_context

from .fakes import LOCAL, MINIKUBE_PROFILE, REMOTE, FakeKubectl, run_inv


@pytest.mark.parametrize(("name", "local"), [
    ("docker-desktop", True), ("docker-for-desktop", True), ("minikube", True), ("kind-kind", True),
    ("kind-nta", True), ("k3d-dev", True), ("rancher-desktop", True), ("colima", True), ("orbstack", True),
    ("microk8s", True), ("nta-local", True),
    ("prod-eks", False), ("arn:aws:eks:eu-west-1:1:cluster/nta", False), ("kindness", False),
    ("my-kind-dev", False), ("gke_project_zone_cluster", False), ("", False),
])  # fmt: skip
def test_local_context_names(name: str, local: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NTA_LOCAL_CONTEXTS", raising=False)
    assert is_local_context(name) is local


def test_extra_local_names_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NTA_LOCAL_CONTEXTS", "lab-vm, other")
    assert is_local_context("lab-vm") and is_local_context("other")
    assert not is_local_context("prod-eks")


def test_kubeconfig_is_read_from_KUBECONFIG(kubeconfig: Path) -> None:
    cfg = load_kubeconfig()
    assert cfg.current == LOCAL
    assert cfg.names == [LOCAL, "kind-dev", REMOTE, MINIKUBE_PROFILE]
    assert cfg.require(MINIKUBE_PROFILE).local, "a minikube profile is local whatever its name"
    assert not cfg.require(REMOTE).local


def test_kubeconfig_list_merges_like_kubectl(kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "extra"
    extra.write_text("apiVersion: v1\nkind: Config\ncurrent-context: k3d-x\ncontexts:\n"
                     "- name: k3d-x\n  context: {cluster: c, user: u}\n")  # fmt: skip
    monkeypatch.setenv("KUBECONFIG", f"{kubeconfig}{os.pathsep}{extra}")
    cfg = load_kubeconfig()
    assert cfg.current == LOCAL, "the first file's current-context wins"
    assert "k3d-x" in cfg.names and LOCAL in cfg.names


def test_missing_kubeconfig_gives_empty_config_and_a_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    cfg = load_kubeconfig()
    assert cfg.contexts == () and cfg.current is None
    assert "kind create cluster" in describe(cfg)


def test_describe_shows_current_and_localness(kubeconfig: Path) -> None:
    text = describe(load_kubeconfig())
    first = text.splitlines()[0]
    assert LOCAL in first and "(local)" in first
    assert f"* {LOCAL}" in text and REMOTE in text


def test_switch_changes_the_current_context(fake_kubectl: FakeKubectl, kubeconfig: Path) -> None:
    ctx = use_context(Context(), "kind-dev")
    assert ctx.name == "kind-dev" and ctx.local
    assert load_kubeconfig().current == "kind-dev"  # written by the real kubectl into the temp kubeconfig
    assert [c.args for c in fake_kubectl.calls()] == [["config", "use-context", "kind-dev"]]


def test_unknown_context_lists_the_available_ones(fake_kubectl: FakeKubectl, kubeconfig: Path) -> None:
    with pytest.raises(UnknownContext) as err:
        use_context(Context(), "nope")
    for name in (LOCAL, "kind-dev", REMOTE, MINIKUBE_PROFILE):
        assert name in str(err.value)
    assert fake_kubectl.calls() == [], "nothing may run for an unknown name"
    assert load_kubeconfig().current == LOCAL


def test_cli_context_show_switch_and_unknown(fake_kubectl: FakeKubectl, kubeconfig: Path) -> None:
    shown = run_inv("context")
    assert shown.returncode == 0, shown.stderr
    assert f"current context: {LOCAL} (local)" in shown.stdout

    switched = run_inv("context", REMOTE)
    assert switched.returncode == 0, switched.stderr
    assert load_kubeconfig().current == REMOTE
    assert "NOT local" in switched.stdout
    assert "NOT local" in run_inv("context").stdout

    unknown = run_inv("context", "nope")
    assert unknown.returncode == 1
    assert "no kube context named 'nope'" in unknown.stderr and "kind-dev" in unknown.stderr
    assert "Traceback" not in unknown.stderr

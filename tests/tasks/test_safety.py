"""The safety rule: a task that changes a cluster refuses a non-local context unless named with --context and --yes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nta_dev.errors import ToolkitError
from nta_dev.kube.context import KubeConfig, UnknownContext, load_kubeconfig
from nta_dev.kube.safety import UnsafeContext, resolve_target

from .fakes import LOCAL, REMOTE, FakeKubectl, run_inv


def remote_current(kubeconfig: Path) -> KubeConfig:
    kubeconfig.write_text(kubeconfig.read_text().replace(f"current-context: {LOCAL}", f"current-context: {REMOTE}"))
    cfg = load_kubeconfig()
    assert cfg.current == REMOTE
    return cfg


def test_local_current_context_needs_no_confirmation(kubeconfig: Path) -> None:
    assert resolve_target(load_kubeconfig(), None, False, action="apply").name == LOCAL


def test_local_context_by_name_needs_no_confirmation(kubeconfig: Path) -> None:
    assert resolve_target(load_kubeconfig(), "kind-dev", False, action="apply").name == "kind-dev"


@pytest.mark.parametrize(("context", "yes"), [(None, False), (None, True), (REMOTE, False)])
def test_remote_is_refused_without_name_and_yes(kubeconfig: Path, context: str | None, yes: bool) -> None:
    cfg = remote_current(kubeconfig)
    with pytest.raises(UnsafeContext) as err:
        resolve_target(cfg, context, yes, action="apply the dev overlay")
    message = str(err.value)
    assert f"--context {REMOTE} --yes" in message, "the refusal must say what to type"
    assert "not a local cluster" in message


def test_remote_is_accepted_with_name_and_yes(kubeconfig: Path) -> None:
    target = resolve_target(remote_current(kubeconfig), REMOTE, True, action="apply")
    assert target.name == REMOTE and not target.local


def test_remote_named_while_a_local_one_is_current_still_needs_yes(kubeconfig: Path) -> None:
    with pytest.raises(UnsafeContext):
        resolve_target(load_kubeconfig(), REMOTE, False, action="apply")


def test_read_only_tasks_may_use_a_remote_context(kubeconfig: Path) -> None:
    cfg = remote_current(kubeconfig)
    assert resolve_target(cfg, None, False, action="show the status", changes_cluster=False).name == REMOTE


def test_unknown_context_is_refused_with_the_list(kubeconfig: Path) -> None:
    with pytest.raises(UnknownContext, match="kind-dev"):
        resolve_target(load_kubeconfig(), "typo", True, action="apply")


def test_no_kubeconfig_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    with pytest.raises(ToolkitError, match="create a local cluster"):
        resolve_target(load_kubeconfig(), None, False, action="apply")


@pytest.mark.parametrize("task", [
    ["apply"], ["down"], ["dashboard"], ["metrics-server"], ["seed"],
    ["apply", "--context", REMOTE], ["dashboard", "--yes"],
])  # fmt: skip
def test_cli_refuses_remote_and_touches_nothing(fake_kubectl: FakeKubectl, kubeconfig: Path, task: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    remote_current(kubeconfig)
    monkeypatch.delenv("NTA_MONGO_URL", raising=False)  # seed would otherwise load into that MongoDB
    before = kubeconfig.read_text()
    done = run_inv(*task)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"--context {REMOTE} --yes" in done.stderr
    assert "Traceback" not in done.stderr
    assert fake_kubectl.calls() == [], "a refused task must not run kubectl at all"
    assert kubeconfig.read_text() == before, "the kubeconfig (current context) must not change"
    assert not os.environ.get("NTA_MONGO_URL")

"""`inv apply` / `inv down`: the real rendered dev overlay, applied kind by kind in the documented order."""

from __future__ import annotations

import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from invoke import UnexpectedExit

from nta_dev.errors import ToolkitError
from nta_dev.kube.apply import apply_overlay, delete_overlay, order_documents
from nta_dev.kube.context import Kubectl

from .fakes import LOCAL, REMOTE, Call, FakeKubectl, assert_context_everywhere

# The documented order (docs/architecture.md#apply-order); anything else comes after, in rendered order.
DOCUMENTED_ORDER = ["Namespace", "ConfigMap", "Secret", "NetworkPolicy", "PersistentVolume", "PersistentVolumeClaim",
                    "Service", "StatefulSet", "Deployment", "HorizontalPodAutoscaler"]  # fmt: skip


def rendered_kinds(real_kubectl: str, overlay: Path) -> list[tuple[str, str]]:
    out = subprocess.run([real_kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True).stdout
    return [(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(out) if d]


def steps(calls: list[Call]) -> list[str]:
    """apply:KIND per apply call (each carries one kind), rollout:TARGET per wait."""
    out = []
    for call in calls:
        if call.args[:1] == ["apply"]:
            kinds = {d["kind"] for d in call.docs()}
            assert len(kinds) == 1, f"one kind per apply call, got {kinds}"
            out.append(f"apply:{kinds.pop()}")
        elif call.args[:2] == ["rollout", "status"]:
            out.append(f"rollout:{call.args[2]}")
        else:
            out.append(" ".join(call.args[:2]))
    return out


def test_dev_overlay_is_applied_in_the_documented_order(kubectl_on: Callable[[str], Kubectl],
                                                        fake_kubectl: FakeKubectl, k8s_copy: Path,
                                                        real_kubectl: str) -> None:  # fmt: skip
    applied = apply_overlay(kubectl_on(LOCAL), k8s_copy, "dev")

    objects = rendered_kinds(real_kubectl, k8s_copy / "overlays" / "dev")  # secrets.env exists now
    kinds = list(dict.fromkeys(kind for kind, _ in objects))
    assert {"Namespace", "Secret", "StatefulSet", "Deployment", "HorizontalPodAutoscaler"} <= set(kinds)
    expected = [k for k in DOCUMENTED_ORDER if k in kinds] + [k for k in kinds if k not in DOCUMENTED_ORDER]
    assert applied == expected

    calls = fake_kubectl.cluster_calls()
    sequence = steps(calls)
    assert [s for s in sequence if s.startswith("apply:")] == [f"apply:{k}" for k in expected]
    # MongoDB is waited for after its StatefulSet and before the first app.
    sts = sequence.index("apply:StatefulSet")
    assert sequence[sts + 1] == "rollout:statefulset/nta-mongodb"
    assert sequence[sts + 2] == "apply:Deployment"
    rollout = calls[sts + 1]
    assert rollout.args[rollout.args.index("-n") + 1] == "nta"
    # Every rendered object is applied exactly once.
    sent = sorted((d["kind"], d["metadata"]["name"]) for c in calls if c.args[:1] == ["apply"] for d in c.docs())
    assert sent == sorted(objects)
    assert_context_everywhere(fake_kubectl.calls(), LOCAL)  # rendering included


def test_apply_creates_the_dev_secrets_once(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                            k8s_copy: Path) -> None:  # fmt: skip
    secrets = k8s_copy / "overlays" / "dev" / "secrets.env"
    assert not secrets.exists()
    apply_overlay(kubectl_on(LOCAL), k8s_copy, "dev")
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    first = secrets.read_text()
    apply_overlay(kubectl_on(LOCAL), k8s_copy, "dev")
    assert secrets.read_text() == first, "MongoDB keeps its first password: the file must never be rewritten"
    secret_calls = [c for c in fake_kubectl.cluster_calls() if "apply:Secret" in steps([c])]
    password = next(line for line in first.splitlines() if line.startswith("MONGO_INITDB_ROOT_PASSWORD="))
    assert all(password.split("=", 1)[1] not in " ".join(c.argv) for c in secret_calls), "secret on a command line"


def test_remote_context_with_confirmation_gets_context_on_every_call(kubectl_on: Callable[[str], Kubectl],
                                                                      fake_kubectl: FakeKubectl,
                                                                      k8s_copy: Path) -> None:  # fmt: skip
    apply_overlay(kubectl_on(REMOTE), k8s_copy, "dev")
    assert_context_everywhere(fake_kubectl.calls(), REMOTE)


def test_apps_are_not_applied_when_mongodb_does_not_become_ready(kubectl_on: Callable[[str], Kubectl],
                                                                 fake_kubectl: FakeKubectl,
                                                                 k8s_copy: Path) -> None:  # fmt: skip
    fake_kubectl.respond("rollout status", stderr="error: timed out waiting for the condition\n", rc=1)
    with pytest.raises(UnexpectedExit):
        apply_overlay(kubectl_on(LOCAL), k8s_copy, "dev")
    assert "apply:Deployment" not in steps(fake_kubectl.cluster_calls())


def test_aws_overlay_without_secrets_names_the_fix(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                                   k8s_copy: Path) -> None:  # fmt: skip
    with pytest.raises(ToolkitError, match=r"secrets\.env\.example"):
        apply_overlay(kubectl_on(REMOTE), k8s_copy, "aws")
    assert fake_kubectl.calls() == []


def test_unknown_overlay_lists_the_overlays(kubectl_on: Callable[[str], Kubectl], k8s_copy: Path) -> None:
    with pytest.raises(ToolkitError, match="no overlay 'prod'") as err:
        apply_overlay(kubectl_on(LOCAL), k8s_copy, "prod")
    available = str(err.value).split("available: ", 1)[1].split(", ")
    assert {"aws", "dev"} <= set(available)


def test_order_is_stable_and_puts_unknown_kinds_last() -> None:
    docs = [{"kind": k, "metadata": {"name": n}} for k, n in [
        ("Ingress", "web"), ("Deployment", "b"), ("HorizontalPodAutoscaler", "h"), ("Deployment", "a"),
        ("ServiceAccount", "sa"), ("Service", "s"), ("StatefulSet", "db"), ("PersistentVolumeClaim", "pvc"),
        ("Secret", "x"), ("PersistentVolume", "pv"), ("ConfigMap", "c"), ("Namespace", "ns"),
    ]]  # fmt: skip
    names = [d["metadata"]["name"] for d in order_documents(docs)]
    assert names == ["ns", "c", "x", "pv", "pvc", "s", "db", "b", "a", "h", "web", "sa"]


def test_down_reverses_the_order_and_keeps_data(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                                k8s_copy: Path) -> None:  # fmt: skip
    delete_overlay(kubectl_on(LOCAL), k8s_copy, "dev")
    (call,) = [c for c in fake_kubectl.cluster_calls()]
    assert call.args[:1] == ["delete"] and "--ignore-not-found" in call.args
    kinds = [d["kind"] for d in call.docs()]
    assert "Namespace" not in kinds, "the namespace (and with it MongoDB's volume) is kept without --purge"
    positions = [DOCUMENTED_ORDER.index(k) for k in kinds if k in DOCUMENTED_ORDER]
    assert positions == sorted(positions, reverse=True)
    assert kinds.index("Deployment") < kinds.index("StatefulSet") < kinds.index("Service")


def test_down_purge_deletes_the_namespace_last(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                               k8s_copy: Path) -> None:  # fmt: skip
    delete_overlay(kubectl_on(LOCAL), k8s_copy, "dev", purge=True)
    (call,) = fake_kubectl.cluster_calls()
    assert [d["kind"] for d in call.docs()][-1] == "Namespace"
    assert_context_everywhere(fake_kubectl.calls(), LOCAL)


def test_overlay_built_on_dev_gets_the_dev_secrets(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                                   k8s_copy: Path) -> None:  # fmt: skip
    extra = k8s_copy / "overlays" / "lab"
    extra.mkdir()
    (extra / "kustomization.yaml").write_text("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                                              "resources:\n  - ../dev\n")  # fmt: skip
    apply_overlay(kubectl_on("kind-dev"), k8s_copy, "lab")
    assert (k8s_copy / "overlays" / "dev" / "secrets.env").is_file()
    assert not (extra / "secrets.env").exists()
    assert "apply:Deployment" in steps(fake_kubectl.cluster_calls())

"""`inv status`, `url`, `logs`: read-only tasks, explicit --context, names from the rendered overlay."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from nta_dev.errors import ToolkitError
from nta_dev.kube.context import Kubectl
from nta_dev.kube.logs import SERVICES, logs_args, show_logs
from nta_dev.kube.secrets import ensure_secrets_env
from nta_dev.kube.status import show_status, stack_url

from .fakes import LOCAL, REMOTE, FakeKubectl, assert_context_everywhere

NODEPORT_SVC = {"spec": {"type": "NodePort", "ports": [{"name": "http", "port": 8080, "nodePort": 31000}]}}
CLUSTERIP_SVC = {"spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 8080}]}}
INGRESSES = {"items": [{"spec": {"tls": [{"hosts": ["nta.example.org"]}],
                                 "rules": [{"host": "nta.example.org"}]}}]}  # fmt: skip


def test_url_of_a_local_nodeport(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.respond("get service nta-nginx -n nta -o json", stdout=json.dumps(NODEPORT_SVC))
    assert stack_url(kubectl_on(LOCAL), "nta") == "http://localhost:31000/nta/"
    assert_context_everywhere(fake_kubectl.calls(), LOCAL)


def test_url_of_a_remote_ingress_needs_no_yes(kubectl_on: Callable[[str], Kubectl],
                                              fake_kubectl: FakeKubectl) -> None:  # fmt: skip
    fake_kubectl.respond("get service nta-nginx -n nta -o json", stdout=json.dumps(CLUSTERIP_SVC))
    fake_kubectl.respond("get ingress -n nta -o json", stdout=json.dumps(INGRESSES))
    assert stack_url(kubectl_on(REMOTE), "nta") == "https://nta.example.org/nta/"
    assert_context_everywhere(fake_kubectl.calls(), REMOTE)


def test_url_when_nothing_is_deployed(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl) -> None:
    fake_kubectl.respond("get service nta-nginx", stderr='Error from server (NotFound): services "nta-nginx"', rc=1)
    with pytest.raises(ToolkitError, match=r"\./inv apply --context docker-desktop"):
        stack_url(kubectl_on(LOCAL), "nta")


def test_status_lists_workloads_then_the_url(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl,
                                             capfd: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    fake_kubectl.respond("get statefulsets,deployments,hpa,pods", stdout="NAME READY\npod/nta-django-1 1/1\n")
    fake_kubectl.respond("get service nta-nginx -n nta -o json", stdout=json.dumps(NODEPORT_SVC))
    show_status(kubectl_on(LOCAL), "nta")
    out = capfd.readouterr().out
    assert "pod/nta-django-1 1/1" in out and "url: http://localhost:31000/nta/" in out
    first = fake_kubectl.cluster_calls()[0]
    assert first.args[:2] == ["get", "statefulsets,deployments,hpa,pods"] and "nta" in first.args
    assert_context_everywhere(fake_kubectl.calls(), LOCAL)


def test_logs_of_every_replica_and_follow(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl) -> None:
    show_logs(kubectl_on(LOCAL), "worker", "nta", follow=True)
    (call,) = fake_kubectl.cluster_calls()
    assert call.args[:3] == ["logs", "-n", "nta"]
    assert "app.kubernetes.io/name=nta-dask-worker" in call.args and "--follow" in call.args
    assert "--follow" not in logs_args("django", "nta")


def test_unknown_service_lists_the_services(kubectl_on: Callable[[str], Kubectl], fake_kubectl: FakeKubectl) -> None:
    with pytest.raises(ToolkitError, match="dask-worker") as err:
        show_logs(kubectl_on(LOCAL), "postgres", "nta")
    assert "unknown service 'postgres'" in str(err.value)
    assert fake_kubectl.calls() == []


def test_log_labels_match_the_rendered_overlay(real_kubectl: str, k8s_copy: Path) -> None:
    overlay = k8s_copy / "overlays" / "dev"
    ensure_secrets_env(overlay)
    out = subprocess.run([real_kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True).stdout
    pod_labels = {d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/name")
                  for d in yaml.safe_load_all(out) if d and d["kind"] in ("Deployment", "StatefulSet")}  # fmt: skip
    assert set(SERVICES.values()) == pod_labels

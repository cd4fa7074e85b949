"""The invariant checks accept a minimal good stack and report each deliberately broken variant."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from . import invariants as inv

Obj = dict[str, Any]
LABELS = {"app.kubernetes.io/name": "web", "app.kubernetes.io/component": "web", "app.kubernetes.io/part-of": "nta"}


def good_stack() -> list[Obj]:
    container = {
        "name": "web",
        "image": "nta-web:dev",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": 8000}],
        "envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "sec"}}],
        "resources": {"requests": {"cpu": "10m", "memory": "1Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
            "template": {
                "metadata": {"labels": dict(LABELS)},
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app.kubernetes.io/name": "web"}, "ports": [{"port": 80, "targetPort": "http"}]},
    }
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1,
            "maxReplicas": 2,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu"}}],
        },
    }
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web"},
        "spec": {
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": "/nta",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    }
                }
            ]
        },
    }
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"NTA_LOG_LEVEL": "INFO"}}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "sec"}, "data": {"DJANGO_SECRET_KEY": "eA=="}}
    return [deployment, service, hpa, ingress, config, secret]


def _pod(objs: list[Obj]) -> Obj:
    return objs[0]["spec"]["template"]["spec"]


def _container(objs: list[Obj]) -> Obj:
    return _pod(objs)["containers"][0]


def _service(objs: list[Obj]) -> Obj:
    return objs[1]


def _config(objs: list[Obj]) -> Obj:
    return objs[4]


ALL_CHECKS: tuple[Callable[[list[Obj]], list[str]], ...] = (
    *inv.GENERIC_CHECKS,
    inv.check_no_node_port,
    lambda objs: inv.check_env_from(objs, "cfg", "sec", image_prefix="nta-"),
    lambda objs: inv.check_keys(objs, "ConfigMap", "cfg", {"NTA_LOG_LEVEL"}),
    lambda objs: inv.check_ingress_route(objs, "/nta", "web", 80),
    lambda objs: inv.check_images(objs, "nta-", "dev", "IfNotPresent"),
)


def test_good_stack_passes_every_check() -> None:
    problems = [p for check in ALL_CHECKS for p in check(good_stack())]
    assert problems == []


# (id, how to break the good stack, check, text expected in a reported problem)
BREAKAGES: list[tuple[str, Callable[[list[Obj]], None], Callable[[list[Obj]], list[str]], str]] = [
    ("no probes", lambda o: [_container(o).pop(p) for p in ("readinessProbe", "livenessProbe")],
     inv.check_probes, "no readinessProbe"),
    ("no limits", lambda o: _container(o)["resources"].pop("limits"), inv.check_resources, "no limits"),
    ("no memory request", lambda o: _container(o)["resources"]["requests"].pop("memory"),
     inv.check_resources, "no requests for memory"),
    ("selector mismatch", lambda o: o[0]["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/name": "x"}),
     inv.check_selectors_match_templates, "does not match pod template labels"),
    ("service selects nothing", lambda o: _service(o)["spec"]["selector"].update({"app.kubernetes.io/name": "gone"}),
     inv.check_services, "matches no workload"),
    ("service without selector", lambda o: _service(o)["spec"].pop("selector"), inv.check_services, "no selector"),
    ("unknown targetPort name", lambda o: _service(o)["spec"]["ports"][0].update({"targetPort": "grpc"}),
     inv.check_services, "targets 'grpc'"),
    ("unknown targetPort number", lambda o: _service(o)["spec"]["ports"][0].update({"targetPort": 9000}),
     inv.check_services, "targets 9000"),
    ("defaulted targetPort", lambda o: _service(o)["spec"]["ports"][0].pop("targetPort"),
     inv.check_services, "targets 80"),
    ("PASSWORD in ConfigMap", lambda o: _config(o)["data"].update({"MONGO_PASSWORD": "x"}),
     inv.check_configmaps_have_no_secrets, "'MONGO_PASSWORD' looks like a secret"),
    ("API key in ConfigMap", lambda o: _config(o)["data"].update({"NTA_API_KEY": "x"}),
     inv.check_configmaps_have_no_secrets, "'NTA_API_KEY' looks like a secret"),
    ("credentials in a URL", lambda o: _config(o)["data"].update({"NTA_DB": "mongodb://user:pass@db:27017/"}),
     inv.check_configmaps_have_no_secrets, "embeds credentials"),
    ("unexpected ConfigMap key", lambda o: _config(o)["data"].update({"EXTRA": "1"}),
     lambda o: inv.check_keys(o, "ConfigMap", "cfg", {"NTA_LOG_LEVEL"}), "unexpected keys ['EXTRA']"),
    ("missing ConfigMap key", lambda o: _config(o)["data"].clear(),
     lambda o: inv.check_keys(o, "ConfigMap", "cfg", {"NTA_LOG_LEVEL"}), "missing keys ['NTA_LOG_LEVEL']"),
    ("Secret not rendered", lambda o: o.pop(5), inv.check_references, "reads Secret/sec, which is not rendered"),
    ("secretKeyRef to a missing key", lambda o: _container(o).update(
        {"env": [{"name": "P", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "NOPE"}}}]}),
     inv.check_references, "reads key 'NOPE'"),
    ("no envFrom Secret", lambda o: _container(o)["envFrom"].pop(1),
     lambda o: inv.check_env_from(o, "cfg", "sec", image_prefix="nta-"), "no envFrom Secret sec"),
    ("proxy gets the Secret", lambda o: None,
     lambda o: inv.check_env_from(o, "cfg", "sec", image_prefix="nta-", no_secret={"web"}), "needs no credentials"),
    ("HPA v1", lambda o: o[2].update({"apiVersion": "autoscaling/v1"}), inv.check_hpas, "want autoscaling/v2"),
    ("HPA targets nothing", lambda o: o[2]["spec"]["scaleTargetRef"].update({"name": "gone"}),
     inv.check_hpas, "not a Deployment here"),
    ("HPA fights replicas", lambda o: o[0]["spec"].update({"replicas": 3}), inv.check_hpas, "sets spec.replicas"),
    ("hostPath volume", lambda o: _pod(o).update({"volumes": [{"name": "code", "hostPath": {"path": "/src"}}]}),
     inv.check_no_host_path, "hostPath volume 'code'"),
    ("pod without part-of", lambda o: o[0]["spec"]["template"]["metadata"]["labels"].pop("app.kubernetes.io/part-of"),
     inv.check_pod_labels, "lacks labels ['app.kubernetes.io/part-of']"),
    ("root user", lambda o: _pod(o)["securityContext"].update({"runAsUser": 0}),
     inv.check_security_context, "not a numeric non-root uid"),
    ("user name, not uid", lambda o: _pod(o)["securityContext"].update({"runAsUser": "nginx"}),
     inv.check_security_context, "not a numeric non-root uid"),
    ("container overrides runAsNonRoot", lambda o: _container(o)["securityContext"].update({"runAsNonRoot": False}),
     inv.check_security_context, "runAsNonRoot is not true"),
    ("privilege escalation", lambda o: _container(o)["securityContext"].pop("allowPrivilegeEscalation"),
     inv.check_security_context, "allowPrivilegeEscalation"),
    ("capabilities kept", lambda o: _container(o)["securityContext"].pop("capabilities"),
     inv.check_security_context, "do not drop ALL"),
    ("no seccomp", lambda o: _pod(o)["securityContext"].pop("seccompProfile"),
     inv.check_security_context, "seccompProfile"),
    ("NodePort Service", lambda o: _service(o)["spec"].update({"type": "NodePort"}),
     inv.check_no_node_port, "type NodePort"),
    ("no Ingress route", lambda o: o.pop(3),
     lambda o: inv.check_ingress_route(o, "/nta", "web", 80), "no networking.k8s.io/v1 Ingress routes /nta"),
    ("wrong image tag", lambda o: _container(o).update({"image": "nta-web:latest"}),
     lambda o: inv.check_images(o, "nta-", "dev", "IfNotPresent"), "is not tagged 'dev'"),
    ("unpinned third-party image", lambda o: _container(o).update({"image": "mongo"}),
     lambda o: inv.check_images(o, "nta-", "dev", "IfNotPresent"), "is not pinned"),
]  # fmt: skip


@pytest.mark.parametrize(("breakage", "check", "expected"), [b[1:] for b in BREAKAGES], ids=[b[0] for b in BREAKAGES])
def test_check_reports_breakage(
    breakage: Callable[[list[Obj]], None], check: Callable[[list[Obj]], list[str]], expected: str
) -> None:
    objs = copy.deepcopy(good_stack())
    breakage(objs)
    problems = check(objs)
    assert any(expected in p for p in problems), problems


def test_node_port_check() -> None:
    objs = good_stack()
    assert inv.check_node_port(objs, "web", 31000) == [
        "Service/web: type ClusterIP, want NodePort",
        "Service/web: no port with nodePort 31000",
    ]
    assert inv.check_node_port(objs, "absent", 31000) == ["Service/absent: missing"]
    _service(objs)["spec"].update({"type": "NodePort", "ports": [{"port": 80, "nodePort": 31000}]})
    assert inv.check_node_port(objs, "web", 31000) == []


def test_secret_values_are_never_echoed() -> None:
    objs = good_stack()
    _config(objs)["data"]["NTA_DB"] = "mongodb://alice:hunter2@db/"
    problems = inv.check_configmaps_have_no_secrets(objs)
    assert problems and not any("hunter2" in p for p in problems)

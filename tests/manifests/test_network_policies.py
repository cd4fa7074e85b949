"""The NetworkPolicies of every overlay, evaluated as a graph: exactly the flows the stack needs are allowed.

For each (source, destination, port) over the rendered workloads plus a few outsiders, netpol.allowed() decides
from the policies alone; the result must equal ALLOWED, written out below (not derived from the manifests).
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import pytest

from . import netpol
from .conftest import Renderer, kustomize
from .contract import K8S_VERSIONS
from .test_schema import validation_problems

RENDERED_OVERLAYS = ("dev", "aws", "cluster-local")
NS = "nta"
NS_LABELS = {NS: {"kubernetes.io/metadata.name": NS}, "default": {"kubernetes.io/metadata.name": "default"},
             "kube-system": {"kubernetes.io/metadata.name": "kube-system"},
             "ingress-nginx": {"kubernetes.io/metadata.name": "ingress-nginx"}}  # fmt: skip
STACK = ("nta-nginx", "nta-django", "nta-flask", "nta-dask-scheduler", "nta-dask-worker", "nta-mongodb")
# A port nothing declares, as a random Dask worker/nanny port would be.
RANDOM_PORT = 40123

OUTSIDERS = {
    # A pod in the namespace without the stack's labels (kubectl run debug ...), and one that copies only part-of.
    "stranger": netpol.Endpoint("stranger", "10.244.1.1", NS, NS_LABELS[NS], {"run": "debug"}),
    "part-of-only": netpol.Endpoint("part-of-only", "10.244.1.2", NS, NS_LABELS[NS],
                                    {"app.kubernetes.io/part-of": "nta"}),  # fmt: skip
    # Another namespace's pod wearing Django's labels: podSelectors mean the policy's own namespace.
    "impostor": netpol.Endpoint("impostor", "10.244.2.1", "default", NS_LABELS["default"],
                                {"app.kubernetes.io/name": "nta-django", "app.kubernetes.io/component": "web",
                                 "app.kubernetes.io/part-of": "nta"}),  # fmt: skip
    "kube-dns": netpol.Endpoint("kube-dns", "10.244.3.1", "kube-system", NS_LABELS["kube-system"],
                                {"k8s-app": "kube-dns"}, {"dns": 53, "dns-tcp": 53}),  # fmt: skip
    # A client on the internet (through the NodePort or the load balancer) and a server there.
    "internet": netpol.Endpoint("internet", "203.0.113.7"),
    # ingress-nginx's controller (the aws Ingress), and a pod of its namespace that is not the controller.
    "ingress-controller": netpol.Endpoint("ingress-controller", "10.244.4.1", "ingress-nginx",
                                          NS_LABELS["ingress-nginx"], {"app.kubernetes.io/name": "ingress-nginx"}),
    "ingress-neighbour": netpol.Endpoint("ingress-neighbour", "10.244.4.2", "ingress-nginx",
                                         NS_LABELS["ingress-nginx"], {"app.kubernetes.io/name": "cert-manager"}),
}
SOURCES = (*STACK, "stranger", "part-of-only", "impostor", "internet", "ingress-controller", "ingress-neighbour")
# Destination -> the (port, protocol) pairs probed: every declared container port, plus RANDOM_PORT.
PROBES: dict[str, tuple[tuple[int, str], ...]] = {
    "nta-nginx": ((8080, "TCP"), (RANDOM_PORT, "TCP")),
    "nta-django": ((8000, "TCP"), (RANDOM_PORT, "TCP")),
    "nta-flask": ((5000, "TCP"), (RANDOM_PORT, "TCP")),
    "nta-dask-scheduler": ((8786, "TCP"), (8787, "TCP"), (RANDOM_PORT, "TCP")),
    "nta-dask-worker": ((8788, "TCP"), (RANDOM_PORT, "TCP")),
    "nta-mongodb": ((27017, "TCP"), (RANDOM_PORT, "TCP")),
    "stranger": ((8080, "TCP"),),
    "kube-dns": ((53, "UDP"), (53, "TCP")),
    "internet": ((443, "TCP"), (53, "UDP")),
}

APPS_WITH_DB = ("nta-django", "nta-flask", "nta-dask-scheduler", "nta-dask-worker")
RESOLVERS = ("nta-nginx", "nta-django", "nta-flask", "nta-dask-scheduler", "nta-dask-worker")
# The way in, on a local cluster: clients outside the namespace reach nginx on 8080 (the NodePort), and nothing
# else. Pods of the namespace have no egress to nginx, and a pod without the stack's labels has no egress at all.
WAY_IN_LOCAL = {(client, "nta-nginx", 8080, "TCP")
                for client in ("impostor", "internet", "ingress-controller", "ingress-neighbour")}
# On the internet (aws): only ingress-nginx's controller, which has checked the user with the sign-in proxy.
WAY_IN_AWS = {("ingress-controller", "nta-nginx", 8080, "TCP")}
INSIDE: set[tuple[str, str, int, str]] = {
    ("nta-nginx", "nta-django", 8000, "TCP"),
    ("nta-nginx", "nta-flask", 5000, "TCP"),
    ("nta-nginx", "nta-dask-scheduler", 8787, "TCP"),
    ("nta-django", "nta-dask-scheduler", 8786, "TCP"),
    ("nta-dask-worker", "nta-dask-scheduler", 8786, "TCP"),
    ("nta-dask-worker", "nta-flask", 5000, "TCP"),
    # The scheduler connects back to workers on their (random) worker and nanny ports.
    ("nta-dask-scheduler", "nta-dask-worker", 8788, "TCP"),
    ("nta-dask-scheduler", "nta-dask-worker", RANDOM_PORT, "TCP"),
    *{(app, "nta-mongodb", 27017, "TCP") for app in APPS_WITH_DB},
    *{(pod, "kube-dns", 53, proto) for pod in RESOLVERS for proto in ("UDP", "TCP")},
}


def _policies(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objs if o["kind"] == "NetworkPolicy"]


def _endpoints(objs: list[dict[str, Any]]) -> dict[str, netpol.Endpoint]:
    pods = netpol.workload_endpoints(objs, NS_LABELS)
    assert set(pods) == set(STACK), f"workloads {sorted(pods)}"
    return {**pods, **OUTSIDERS}


def allowed_set(objs: list[dict[str, Any]]) -> set[tuple[str, str, int, str]]:
    policies, ends = _policies(objs), _endpoints(objs)
    # Only pairs with one end in the namespace: the stack's policies say nothing about the rest.
    return {(src, dst, port, proto) for src in SOURCES for dst, probes in PROBES.items() for port, proto in probes
            if src != dst and NS in (ends[src].namespace, ends[dst].namespace)
            and netpol.allowed(policies, ends[src], ends[dst], port, proto)}  # fmt: skip


ALLOWED = {"dev": INSIDE | WAY_IN_LOCAL, "cluster-local": INSIDE | WAY_IN_LOCAL, "aws": INSIDE | WAY_IN_AWS}


@pytest.mark.parametrize("overlay", RENDERED_OVERLAYS)
def test_exactly_the_needed_flows_are_allowed(rendered: Renderer, overlay: str) -> None:
    got = allowed_set(rendered(overlay))
    assert sorted(got - ALLOWED[overlay]) == [], "allowed but not needed"
    assert sorted(ALLOWED[overlay] - got) == [], "needed but blocked"


def test_on_the_internet_only_the_ingress_controller_of_the_ingress_class_reaches_nginx(rendered: Renderer) -> None:
    """Anyone reaching nginx directly could name any user in the sign-in header: aws admits one source, the
    controller of the class its Ingress names (a policy admitting the internet would pass the graph test only if
    ALLOWED were loosened with it)."""
    objs = rendered("aws")
    (ingress,) = [o for o in objs if o["kind"] == "Ingress"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert "nginx.ingress.kubernetes.io/auth-url" in ingress["metadata"]["annotations"]
    admitted = {src for src, dst, port, _ in allowed_set(objs) if dst == "nta-nginx" and port == 8080}
    assert admitted == {"ingress-controller"}


@pytest.mark.parametrize("overlay", RENDERED_OVERLAYS)
def test_pods_without_stack_labels_reach_neither_scheduler_nor_mongodb(rendered: Renderer, overlay: str) -> None:
    objs = rendered(overlay)
    policies, ends = _policies(objs), _endpoints(objs)
    for outsider in ("stranger", "part-of-only", "impostor", "internet", "ingress-controller", "ingress-neighbour"):
        for dst, port in (("nta-dask-scheduler", 8786), ("nta-dask-scheduler", 8787), ("nta-mongodb", 27017)):
            assert not netpol.allowed(policies, ends[outsider], ends[dst], port), f"{outsider} -> {dst}:{port}"


@pytest.mark.parametrize("overlay", RENDERED_OVERLAYS)
def test_default_deny_both_ways(rendered: Renderer, overlay: str) -> None:
    deny = [p for p in _policies(rendered(overlay)) if p["spec"]["podSelector"] == {}]
    assert [p["metadata"]["namespace"] for p in deny] == [NS]
    assert set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert not deny[0]["spec"].get("ingress") and not deny[0]["spec"].get("egress")


# NTA_AUTH=alb: Django and Flask fetch the load balancer's public keys from AWS's key server, on the internet.
ALB_KEY_FETCHES = {(app, "internet", 443, "TCP") for app in ("nta-django", "nta-flask")}
ALB_EGRESS_LINE = "  # - networkpolicy-alb-keys-egress.yaml\n"


def test_the_alb_variant_opens_https_out_for_django_and_flask_only(kubectl: str, k8s_copy: Path) -> None:
    """The aws overlay offers the ALB variant's egress as a commented-out resource: enabled, it adds exactly HTTPS
    to the internet from Django and Flask, and reaches no address inside the cluster or the VPC."""
    variant = k8s_copy / "overlays" / "aws-with-alb-keys"
    shutil.copytree(k8s_copy / "overlays" / "aws", variant)
    kustomization = variant / "kustomization.yaml"
    text = kustomization.read_text()
    assert text.count(ALB_EGRESS_LINE) == 1, "kustomization.yaml no longer offers networkpolicy-alb-keys-egress.yaml"
    kustomization.write_text(text.replace(ALB_EGRESS_LINE, ALB_EGRESS_LINE.replace("# ", "")))
    objs = kustomize(kubectl, variant)
    (egress,) = [o for o in objs if o["metadata"]["name"] == "nta-alb-keys-egress"]
    for version in K8S_VERSIONS:
        assert validation_problems([egress], version) == [], version
    got = allowed_set(objs)
    assert sorted(got - (ALLOWED["aws"] | ALB_KEY_FETCHES)) == [], "allowed but not needed"
    assert sorted((ALLOWED["aws"] | ALB_KEY_FETCHES) - got) == [], "needed but blocked"
    policies, ends = _policies(objs), _endpoints(objs)
    for address in ("10.0.12.34", "172.20.0.10", "192.168.1.1", "100.64.0.5", "169.254.169.254"):
        inside = netpol.Endpoint("inside", address)
        assert not netpol.allowed(policies, ends["nta-django"], inside, 443), address


def test_a_looser_policy_is_caught(rendered: Renderer) -> None:
    """The graph check fails on a change that opens MongoDB to the namespace or drops the default deny."""
    objs = copy.deepcopy(rendered("dev"))
    mongo = next(p for p in _policies(objs) if p["metadata"]["name"] == "nta-mongodb")
    mongo["spec"]["ingress"][0]["from"].append({"namespaceSelector": {}})
    assert ("impostor", "nta-mongodb", 27017, "TCP") in allowed_set(objs) - ALLOWED["dev"]

    objs = [o for o in copy.deepcopy(rendered("dev")) if o["metadata"]["name"] != "nta-default-deny"]
    objs = [o for o in objs if o["kind"] != "NetworkPolicy" or o["metadata"]["name"] != "nta-dask-worker"]
    assert ("stranger", "nta-dask-worker", RANDOM_PORT, "TCP") in allowed_set(objs) - ALLOWED["dev"]


def test_evaluator_semantics() -> None:
    """netpol itself: selectors, namespaces, named ports, policy types, ipBlock."""
    a = netpol.Endpoint("a", "10.0.0.1", "ns", {"name": "ns"}, {"app": "a"})
    b = netpol.Endpoint("b", "10.0.0.2", "ns", {"name": "ns"}, {"app": "b", "tier": "x"}, {"http": 80})
    c = netpol.Endpoint("c", "10.0.0.3", "other", {"name": "other"}, {"app": "a"})
    assert netpol.allowed([], a, b, 80)  # no policy: open
    ingress_b = {"metadata": {"name": "p", "namespace": "ns"},
                 "spec": {"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["x"]}]},
                          "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "a"}}}],
                                       "ports": [{"port": "http"}]}]}}  # fmt: skip
    assert netpol.policy_types(ingress_b) == {"Ingress"}
    assert netpol.allowed([ingress_b], a, b, 80)
    assert not netpol.allowed([ingress_b], a, b, 81)
    assert not netpol.allowed([ingress_b], a, b, 80, "UDP")
    assert not netpol.allowed([ingress_b], c, b, 80), "podSelector alone is the policy's namespace"
    any_ns = copy.deepcopy(ingress_b)
    any_ns["spec"]["ingress"][0]["from"] = [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "a"}}}]
    assert netpol.allowed([any_ns], c, b, 80)
    egress_a = {"metadata": {"name": "e", "namespace": "ns"},
                "spec": {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Egress"],
                         "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24",
                                                         "except": ["10.0.0.3/32"]}}]}]}}  # fmt: skip
    assert netpol.allowed([egress_a], a, b, 1234)
    outside = netpol.Endpoint("x", "192.0.2.1")
    assert not netpol.allowed([egress_a], a, outside, 443)
    assert netpol.allowed([egress_a], b, outside, 443), "b is not selected by an egress policy"

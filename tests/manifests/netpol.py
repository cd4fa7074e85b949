"""A small NetworkPolicy evaluator (networking.k8s.io/v1 semantics) for the manifests layer.

Traffic from a source to a destination on (port, protocol) is allowed when both ends let it through:
- ingress: the destination is selected by no policy of type Ingress, or one of those policies has a rule whose
  `from` matches the source and whose `ports` match;
- egress: the same for the source, with `to` matched against the destination.
A missing or empty `from`/`to` matches every peer; missing `ports` matches every port. A podSelector peer without a
namespaceSelector means the policy's own namespace. Named ports resolve against the destination pod's container
ports. Traffic from the node (kubelet probes) is always allowed by Kubernetes and not modelled.
https://kubernetes.io/docs/concepts/services-networking/network-policies/
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace set) or an address outside the cluster (namespace None)."""

    name: str
    ip: str
    namespace: str | None = None
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    named_ports: Mapping[str, int] = field(default_factory=dict)


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector: every matchLabels pair and every matchExpressions requirement; {} matches everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def policy_types(policy: Obj) -> set[str]:
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return set(spec["policyTypes"])
    return {"Ingress"} | ({"Egress"} if spec.get("egress") else set())


def _selects(policy: Obj, pod: Endpoint) -> bool:
    ns = policy["metadata"].get("namespace", "default")
    return pod.namespace == ns and selector_matches((policy.get("spec") or {}).get("podSelector"), pod.labels)


def _peer_matches(peer: Obj, endpoint: Endpoint, policy_ns: str) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        address = ipaddress.ip_address(endpoint.ip)
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(e) for e in block.get("except") or [])
    if endpoint.namespace is None:  # pod and namespace selectors match pods only
        return False
    if "namespaceSelector" in peer:
        ns_ok = selector_matches(peer["namespaceSelector"], endpoint.namespace_labels)
    else:
        ns_ok = endpoint.namespace == policy_ns
    pod_ok = selector_matches(peer["podSelector"], endpoint.labels) if "podSelector" in peer else True
    return ns_ok and pod_ok


def _ports_match(ports: list[Obj] | None, port: int, protocol: str, dst: Endpoint) -> bool:
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        wanted = p.get("port")
        if wanted is None:
            return True
        number = dst.named_ports.get(wanted) if isinstance(wanted, str) else wanted
        if number is None:
            continue
        if number == port or (p.get("endPort") is not None and number <= port <= p["endPort"]):
            return True
    return False


def _direction_allows(policies: Iterable[Obj], subject: Endpoint, peer: Endpoint, dst: Endpoint, port: int,
                      protocol: str, direction: str) -> bool:  # fmt: skip
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolating = [p for p in policies if _selects(p, subject) and direction in policy_types(p)]
    if not isolating:
        return True
    for policy in isolating:
        ns = policy["metadata"].get("namespace", "default")
        for rule in (policy.get("spec") or {}).get(rules_key) or []:
            peers = rule.get(peers_key) or []
            if peers and not any(_peer_matches(x, peer, ns) for x in peers):
                continue
            if _ports_match(rule.get("ports"), port, protocol, dst):
                return True
    return False


def allowed(policies: list[Obj], src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
    """Whether src may open a connection to dst:port/protocol under these policies."""
    egress_ok = src.namespace is None or _direction_allows(policies, src, dst, dst, port, protocol, "Egress")
    ingress_ok = dst.namespace is None or _direction_allows(policies, dst, src, dst, port, protocol, "Ingress")
    return egress_ok and ingress_ok


def workload_endpoints(objs: Iterable[Obj], namespace_labels: Mapping[str, Mapping[str, str]],
                       first_ip: str = "10.244.0.10") -> dict[str, Endpoint]:  # fmt: skip
    """One Endpoint per Deployment/StatefulSet: its pod template's labels and container ports."""
    out: dict[str, Endpoint] = {}
    ip = ipaddress.ip_address(first_ip)
    for wl in objs:
        if wl.get("kind") not in ("Deployment", "StatefulSet"):
            continue
        template = wl["spec"]["template"]
        ports = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports") or []
                 if "name" in p}  # fmt: skip
        ns = wl["metadata"].get("namespace", "default")
        name = wl["metadata"]["name"]
        out[name] = Endpoint(name, str(ip), ns, dict(namespace_labels.get(ns, {})),
                             dict(template["metadata"].get("labels") or {}), ports)  # fmt: skip
        ip += 1
    return out

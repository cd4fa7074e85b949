"""Where the deployed stack is and how it is doing (`./inv status`, `./inv url`)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from ..errors import ToolkitError
from ..tools import find
from .context import Kubectl

URL_PREFIX = "/nta/"  # NTA_URL_PREFIX of the configuration contract
NGINX_SERVICE = "nta-nginx"
FORWARD_PORT = 8080  # nginx's container port; a port-forward keeps it


def get_json(kubectl: Kubectl, *args: str) -> dict[str, Any] | None:
    """``kubectl get ARGS -o json`` parsed, or None when the object does not exist / the call fails."""
    result = kubectl.run("get", *args, "-o", "json", hide=True, warn=True)
    if result.exited != 0:
        return None
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        return None


def _node_host(kubectl: Kubectl) -> str:
    ctx = kubectl.context
    if ctx.is_minikube:
        minikube = find("minikube")
        if minikube:
            ip = kubectl.c.run(shlex.join([minikube, "ip", "-p", ctx.name]), hide=True, warn=True, in_stream=False)
            if ip.exited == 0 and ip.stdout.strip():
                return ip.stdout.strip()
    if ctx.local:
        # docker-desktop, kind (with the port mapping of our kind config), k3d, ... publish NodePorts on localhost
        return "localhost"
    nodes = get_json(kubectl, "nodes") or {}
    for wanted in ("ExternalIP", "InternalIP"):
        for node in nodes.get("items", []):
            for addr in node.get("status", {}).get("addresses", []):
                if addr.get("type") == wanted and addr.get("address"):
                    return str(addr["address"])
    raise ToolkitError(f"no node address found on {ctx.name}; use `kubectl --context {ctx.name} -n nta "
                       f"port-forward service/{NGINX_SERVICE} {FORWARD_PORT}` and http://localhost:{FORWARD_PORT}"
                       f"{URL_PREFIX}")  # fmt: skip


def _ingress_url(ingress: dict[str, Any]) -> str | None:
    spec = ingress.get("spec", {})
    scheme = "https" if spec.get("tls") else "http"
    hosts = [r.get("host") for r in spec.get("rules", []) if r.get("host")]
    lb = ingress.get("status", {}).get("loadBalancer", {}).get("ingress") or []
    host = hosts[0] if hosts else next((e.get("hostname") or e.get("ip") for e in lb if e), None)
    return f"{scheme}://{host}{URL_PREFIX}" if host else None


def stack_url(kubectl: Kubectl, namespace: str) -> str:
    """The browser URL of the stack: NodePort on the node, else the Ingress host; errors say how to reach it."""
    name = kubectl.context.name
    svc = get_json(kubectl, "service", NGINX_SERVICE, "-n", namespace)
    if svc is None:
        raise ToolkitError(f"service {NGINX_SERVICE} not found in namespace {namespace} on {name}: deploy the stack "
                           f"with `./inv apply --context {name}` (or `tilt up`)")  # fmt: skip
    spec = svc.get("spec", {})
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        lb = svc.get("status", {}).get("loadBalancer", {}).get("ingress") or []
        if spec["type"] == "LoadBalancer" and lb:
            host = lb[0].get("hostname") or lb[0].get("ip")
            port = spec["ports"][0]["port"]
            return f"http://{host}:{port}{URL_PREFIX}"
        node_port = next((p["nodePort"] for p in spec.get("ports", []) if p.get("nodePort")), None)
        if node_port:
            return f"http://{_node_host(kubectl)}:{node_port}{URL_PREFIX}"
    for ingress in (get_json(kubectl, "ingress", "-n", namespace) or {}).get("items", []):
        url = _ingress_url(ingress)
        if url:
            return url
    raise ToolkitError(f"{NGINX_SERVICE} is a ClusterIP Service without an Ingress address on {name}: run "
                       f"`kubectl --context {name} -n {namespace} port-forward service/{NGINX_SERVICE} "
                       f"{FORWARD_PORT}` and open http://localhost:{FORWARD_PORT}{URL_PREFIX}")  # fmt: skip


def show_status(kubectl: Kubectl, namespace: str) -> None:
    """Workloads, pods (readiness, restarts), HPAs, then the URL."""
    result = kubectl.run("get", "statefulsets,deployments,hpa,pods", "-n", namespace, "-o", "wide", warn=True)
    if result.exited != 0:
        raise ToolkitError(f"`kubectl get` failed on {kubectl.context.name} (exit {result.exited}); is the cluster "
                           "running? `./inv doctor` checks the setup")  # fmt: skip
    try:
        print(f"\nurl: {stack_url(kubectl, namespace)}")
    except ToolkitError as exc:
        print(f"\nurl: unknown - {exc}")

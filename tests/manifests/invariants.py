"""Invariants of rendered Kubernetes manifests.

Every check is a pure function of the rendered objects (dicts as parsed from YAML) that returns a
list of human-readable problems: empty means the invariant holds. Kept free of pytest and kubectl
so the checks can be fed deliberately broken objects (test_invariants_catch.py) and reused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

Obj = dict[str, Any]

WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet"})
REQUIRED_POD_LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/component", "app.kubernetes.io/part-of")
PART_OF = "nta"

SECRET_LIKE_KEY = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL", re.IGNORECASE)
# scheme://user:pass@host, or a PEM private key pasted into a value.
SECRET_LIKE_VALUE = re.compile(r"://[^/\s:@]+:[^/\s@]+@|-----BEGIN [A-Z ]*PRIVATE KEY-----")


def ref(obj: Obj) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def workloads(objs: Iterable[Obj]) -> list[Obj]:
    return [o for o in objs if o.get("kind") in WORKLOAD_KINDS]


def pod_template(workload: Obj) -> Obj:
    return workload.get("spec", {}).get("template", {})


def pod_labels(workload: Obj) -> dict[str, str]:
    return pod_template(workload).get("metadata", {}).get("labels", {}) or {}


def pod_spec(workload: Obj) -> Obj:
    return pod_template(workload).get("spec", {}) or {}


def containers(workload: Obj, *, init: bool = True) -> Iterator[Obj]:
    spec = pod_spec(workload)
    yield from spec.get("containers", []) or []
    if init:
        yield from spec.get("initContainers", []) or []


def _where(workload: Obj, container: Obj) -> str:
    return f"{ref(workload)} container {container.get('name')!r}"


def check_resources(objs: Iterable[Obj]) -> list[str]:
    """Every container sets cpu and memory requests and limits."""
    problems = []
    for wl in workloads(objs):
        for c in containers(wl):
            resources = c.get("resources") or {}
            for section in ("requests", "limits"):
                values = resources.get(section) or {}
                missing = [r for r in ("cpu", "memory") if r not in values]
                if missing:
                    problems.append(f"{_where(wl, c)}: no {section} for {', '.join(missing)}")
    return problems


def check_probes(objs: Iterable[Obj]) -> list[str]:
    """Every (non-init) container has a readiness and a liveness probe."""
    problems = []
    for wl in workloads(objs):
        for c in containers(wl, init=False):
            for probe in ("readinessProbe", "livenessProbe"):
                if not c.get(probe):
                    problems.append(f"{_where(wl, c)}: no {probe}")
    return problems


def check_selectors_match_templates(objs: Iterable[Obj]) -> list[str]:
    """Each workload's selector is non-empty and selects its own pod template."""
    problems = []
    for wl in workloads(objs):
        selector = wl.get("spec", {}).get("selector") or {}
        match = selector.get("matchLabels") or {}
        if not match and not selector.get("matchExpressions"):
            problems.append(f"{ref(wl)}: empty selector")
            continue
        if selector.get("matchExpressions"):
            problems.append(f"{ref(wl)}: matchExpressions not supported by this check; use matchLabels")
        labels = pod_labels(wl)
        wrong = {k: v for k, v in match.items() if labels.get(k) != v}
        if wrong:
            problems.append(f"{ref(wl)}: selector {wrong} does not match pod template labels {labels}")
    return problems


def check_services(objs: Iterable[Obj]) -> list[str]:
    """Each Service selects some workload's pods, and each targetPort is exposed by one of them."""
    objs = list(objs)
    problems = []
    for svc in (o for o in objs if o.get("kind") == "Service"):
        spec = svc.get("spec", {})
        selector = spec.get("selector") or {}
        if not selector:
            problems.append(f"{ref(svc)}: no selector")
            continue
        selected = [wl for wl in workloads(objs) if all(pod_labels(wl).get(k) == v for k, v in selector.items())]
        if not selected:
            problems.append(f"{ref(svc)}: selector {selector} matches no workload's pods")
            continue
        names, numbers = set(), set()
        for wl in selected:
            for c in containers(wl, init=False):
                for p in c.get("ports", []) or []:
                    numbers.add(p.get("containerPort"))
                    if p.get("name"):
                        names.add(p["name"])
        for port in spec.get("ports", []) or []:
            target = port.get("targetPort", port.get("port"))
            if (target not in names) if isinstance(target, str) else (target not in numbers):
                problems.append(
                    f"{ref(svc)}: port {port.get('name') or port.get('port')} targets {target!r}, "
                    f"which no selected container exposes (names {sorted(names)}, numbers {sorted(numbers)})"
                )
    return problems


def check_configmaps_have_no_secrets(objs: Iterable[Obj]) -> list[str]:
    """No ConfigMap key is named like a credential and no value embeds one."""
    problems = []
    for cm in (o for o in objs if o.get("kind") == "ConfigMap"):
        for key, value in (cm.get("data") or {}).items():
            if SECRET_LIKE_KEY.search(key):
                problems.append(f"{ref(cm)}: key {key!r} looks like a secret; put it in a Secret")
            if SECRET_LIKE_VALUE.search(str(value)):
                # Never echo the value: it may be a real credential.
                problems.append(f"{ref(cm)}: value of {key!r} looks like it embeds credentials")
        if cm.get("binaryData"):
            problems.append(f"{ref(cm)}: binaryData cannot be checked for secrets")
    return problems


def check_keys(objs: Iterable[Obj], kind: str, name: str, expected: Iterable[str]) -> list[str]:
    """The ConfigMap/Secret `name` exists and has exactly the `expected` keys (values not inspected)."""
    found = [o for o in objs if o.get("kind") == kind and o.get("metadata", {}).get("name") == name]
    if not found:
        return [f"{kind}/{name}: missing"]
    obj = found[0]
    keys = set(obj.get("data") or {}) | set(obj.get("stringData") or {}) | set(obj.get("binaryData") or {})
    expected = set(expected)
    problems = []
    if expected - keys:
        problems.append(f"{ref(obj)}: missing keys {sorted(expected - keys)}")
    if keys - expected:
        problems.append(f"{ref(obj)}: unexpected keys {sorted(keys - expected)}")
    return problems


def check_references(objs: Iterable[Obj]) -> list[str]:
    """Every ConfigMap/Secret that a container reads (envFrom, keyRefs) exists, with the key."""
    objs = list(objs)
    available: dict[tuple[str, str], set[str]] = {}
    for o in objs:
        if o.get("kind") in ("ConfigMap", "Secret"):
            keys = set(o.get("data") or {}) | set(o.get("stringData") or {})
            available[(o["kind"], o.get("metadata", {}).get("name"))] = keys
    problems = []
    for wl in workloads(objs):
        for c in containers(wl):
            wanted: list[tuple[str, str, str | None]] = []
            for source in c.get("envFrom", []) or []:
                if "configMapRef" in source:
                    wanted.append(("ConfigMap", source["configMapRef"].get("name"), None))
                if "secretRef" in source:
                    wanted.append(("Secret", source["secretRef"].get("name"), None))
            for env in c.get("env", []) or []:
                value_from = env.get("valueFrom") or {}
                if "configMapKeyRef" in value_from:
                    key_ref = value_from["configMapKeyRef"]
                    wanted.append(("ConfigMap", key_ref.get("name"), key_ref.get("key")))
                if "secretKeyRef" in value_from:
                    key_ref = value_from["secretKeyRef"]
                    wanted.append(("Secret", key_ref.get("name"), key_ref.get("key")))
            for kind, name, key in wanted:
                if (kind, name) not in available:
                    problems.append(f"{_where(wl, c)}: reads {kind}/{name}, which is not rendered")
                elif key is not None and key not in available[(kind, name)]:
                    problems.append(f"{_where(wl, c)}: reads key {key!r} missing from {kind}/{name}")
    return problems


def check_env_from(
    objs: Iterable[Obj], config_map: str, secret: str, *, image_prefix: str, no_secret: Iterable[str] = ()
) -> list[str]:
    """App containers (image starts with image_prefix) take envFrom the ConfigMap and the Secret.

    Workloads named in `no_secret` must get the ConfigMap but not the Secret (least privilege).
    """
    no_secret = set(no_secret)
    problems = []
    for wl in workloads(objs):
        for c in containers(wl):
            if not str(c.get("image", "")).startswith(image_prefix):
                continue
            sources = c.get("envFrom", []) or []
            maps = {s["configMapRef"].get("name") for s in sources if "configMapRef" in s}
            secrets = {s["secretRef"].get("name") for s in sources if "secretRef" in s}
            if config_map not in maps:
                problems.append(f"{_where(wl, c)}: no envFrom ConfigMap {config_map}")
            wl_name = wl.get("metadata", {}).get("name")
            if wl_name in no_secret and secret in secrets:
                problems.append(f"{_where(wl, c)}: gets the whole Secret {secret} (envFrom) but needs no credentials "
                                "or only some keys")
            if wl_name not in no_secret and secret not in secrets:
                problems.append(f"{_where(wl, c)}: no envFrom Secret {secret}")
    return problems


def check_hpas(objs: Iterable[Obj]) -> list[str]:
    """HPAs use autoscaling/v2, target an existing Deployment, which leaves replicas to them."""
    objs = list(objs)
    deployments = {o["metadata"]["name"]: o for o in objs if o.get("kind") == "Deployment"}
    problems = []
    for hpa in (o for o in objs if o.get("kind") == "HorizontalPodAutoscaler"):
        if hpa.get("apiVersion") != "autoscaling/v2":
            problems.append(f"{ref(hpa)}: apiVersion {hpa.get('apiVersion')}, want autoscaling/v2")
        spec = hpa.get("spec", {})
        target = spec.get("scaleTargetRef") or {}
        if target.get("kind") != "Deployment" or target.get("name") not in deployments:
            problems.append(f"{ref(hpa)}: targets {target.get('kind')}/{target.get('name')}, not a Deployment here")
        elif "replicas" in deployments[target["name"]].get("spec", {}):
            problems.append(f"{ref(hpa)}: Deployment/{target['name']} sets spec.replicas, which every apply resets")
        if spec.get("minReplicas", 1) > spec.get("maxReplicas", 0):
            problems.append(f"{ref(hpa)}: minReplicas > maxReplicas")
        if not spec.get("metrics"):
            problems.append(f"{ref(hpa)}: no metrics")
    return problems


def check_no_host_path(objs: Iterable[Obj]) -> list[str]:
    """No pod mounts a hostPath volume."""
    return [
        f"{ref(wl)}: hostPath volume {v.get('name')!r}"
        for wl in workloads(objs)
        for v in pod_spec(wl).get("volumes", []) or []
        if "hostPath" in v
    ]


def check_pod_labels(objs: Iterable[Obj], part_of: str = PART_OF) -> list[str]:
    """Every pod template carries the app.kubernetes.io name/component/part-of labels."""
    problems = []
    for wl in workloads(objs):
        labels = pod_labels(wl)
        missing = [k for k in REQUIRED_POD_LABELS if not labels.get(k)]
        if missing:
            problems.append(f"{ref(wl)}: pod template lacks labels {missing}")
        elif labels["app.kubernetes.io/part-of"] != part_of:
            problems.append(f"{ref(wl)}: pod template part-of is {labels['app.kubernetes.io/part-of']!r}")
    return problems


def check_security_context(objs: Iterable[Obj]) -> list[str]:
    """Pods: RuntimeDefault seccomp, non-root numeric user; containers: no escalation, drop ALL."""
    problems = []
    for wl in workloads(objs):
        pod_sc = pod_spec(wl).get("securityContext") or {}
        if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{ref(wl)}: pod seccompProfile is not RuntimeDefault")
        for c in containers(wl):
            sc = c.get("securityContext") or {}
            # A container-level value overrides the pod-level one.
            non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
            user = sc.get("runAsUser", pod_sc.get("runAsUser"))
            if non_root is not True:
                problems.append(f"{_where(wl, c)}: runAsNonRoot is not true")
            if not isinstance(user, int) or isinstance(user, bool) or user <= 0:
                problems.append(f"{_where(wl, c)}: runAsUser {user!r} is not a numeric non-root uid")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{_where(wl, c)}: allowPrivilegeEscalation is not false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{_where(wl, c)}: capabilities do not drop ALL")
            if sc.get("privileged"):
                problems.append(f"{_where(wl, c)}: privileged")
    return problems


def check_no_node_port(objs: Iterable[Obj]) -> list[str]:
    """No Service is of type NodePort or LoadBalancer, or pins a nodePort."""
    problems = []
    for svc in (o for o in objs if o.get("kind") == "Service"):
        spec = svc.get("spec", {})
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            problems.append(f"{ref(svc)}: type {spec['type']}")
        if any("nodePort" in p for p in spec.get("ports", []) or []):
            problems.append(f"{ref(svc)}: sets a nodePort")
    return problems


def check_node_port(objs: Iterable[Obj], service: str, node_port: int) -> list[str]:
    """Service `service` is a NodePort Service exposing `node_port`."""
    found = [o for o in objs if o.get("kind") == "Service" and o["metadata"].get("name") == service]
    if not found:
        return [f"Service/{service}: missing"]
    spec = found[0].get("spec", {})
    problems = []
    if spec.get("type") != "NodePort":
        problems.append(f"Service/{service}: type {spec.get('type', 'ClusterIP')}, want NodePort")
    if node_port not in [p.get("nodePort") for p in spec.get("ports", []) or []]:
        problems.append(f"Service/{service}: no port with nodePort {node_port}")
    return problems


def check_ingress_route(objs: Iterable[Obj], path: str, service: str, port: int) -> list[str]:
    """Some networking.k8s.io/v1 Ingress routes `path` (Prefix) to `service`:`port`."""
    for ing in (o for o in objs if o.get("kind") == "Ingress"):
        if ing.get("apiVersion") != "networking.k8s.io/v1":
            continue
        for rule in ing.get("spec", {}).get("rules", []) or []:
            for p in (rule.get("http") or {}).get("paths", []) or []:
                backend = (p.get("backend") or {}).get("service") or {}
                if (
                    p.get("path") == path
                    and p.get("pathType") == "Prefix"
                    and backend.get("name") == service
                    and (backend.get("port") or {}).get("number") == port
                ):
                    return []
    return [f"no networking.k8s.io/v1 Ingress routes {path} (Prefix) to {service}:{port}"]


def check_images(objs: Iterable[Obj], image_prefix: str, tag: str, pull_policy: str) -> list[str]:
    """Images built from the repo carry `tag` and `pull_policy`; all other images are pinned."""
    problems = []
    for wl in workloads(objs):
        for c in containers(wl):
            image = str(c.get("image", ""))
            # The tag is after the last ":" of the last path segment (a registry may carry a port).
            image_tag = image.split("/")[-1].split("@")[0].partition(":")[2]
            if image.startswith(image_prefix):
                if image_tag != tag:
                    problems.append(f"{_where(wl, c)}: image {image} is not tagged {tag!r}")
                if c.get("imagePullPolicy") != pull_policy:
                    problems.append(f"{_where(wl, c)}: imagePullPolicy {c.get('imagePullPolicy')}, want {pull_policy}")
            elif image_tag in ("", "latest") and "@sha256:" not in image:
                problems.append(f"{_where(wl, c)}: third-party image {image} is not pinned")
    return problems


# The checks that hold for every overlay, for a one-call "everything" run.
GENERIC_CHECKS = (
    check_resources,
    check_probes,
    check_selectors_match_templates,
    check_services,
    check_configmaps_have_no_secrets,
    check_references,
    check_hpas,
    check_no_host_path,
    check_pod_labels,
    check_security_context,
)


def app_user_url(values: dict[str, str]) -> bool:
    """mongodb://<user>:<password>@nta-mongodb:27017/nta?authSource=nta, neither the root user nor its password
    (a bool, so a failure never prints credentials)."""
    match = re.fullmatch(r"mongodb://([A-Za-z0-9_-]+):([A-Za-z0-9_-]{20,})@nta-mongodb:27017/nta\?authSource=nta",
                         values["NTA_MONGO_URL"])  # fmt: skip
    return bool(match) and match.group(1) != values["MONGO_INITDB_ROOT_USERNAME"] and \
        match.group(2) != values["MONGO_INITDB_ROOT_PASSWORD"]

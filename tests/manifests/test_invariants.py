"""Invariants and the name contract, checked on each rendered overlay."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import pytest

from nta_dev.services import health_paths

from . import invariants as inv
from .conftest import Renderer
from .contract import (
    BASE_HPA_MAX_REPLICAS,
    CONFIG_KEYS,
    CONFIG_MAP,
    CONFIG_VALUES,
    DEV_NODE_PORT,
    HPA_MAX_REPLICAS,
    IMAGE_PREFIX,
    MONGO_IMAGE,
    NO_SECRET_WORKLOADS,
    OVERLAYS,
    SECRET,
    SECRET_KEYS,
    SERVICES,
    WORKER_COMMANDS,
    WORKLOADS,
)

Objs = list[dict[str, Any]]


def _get(objs: Objs, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    assert found, f"{kind}/{name} not rendered"
    return found[0]


def _container(objs: Objs, kind: str, name: str) -> dict[str, Any]:
    (container,) = inv.pod_spec(_get(objs, kind, name))["containers"]
    return container


@pytest.mark.parametrize("check", inv.GENERIC_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_generic_invariant(rendered: Renderer, overlay: str, check: Callable[[Objs], list[str]]) -> None:
    problems = check(rendered(overlay))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_and_secret_keys_are_the_contract(rendered: Renderer, overlay: str) -> None:
    objs = rendered(overlay)
    problems = inv.check_keys(objs, "ConfigMap", CONFIG_MAP, CONFIG_KEYS)
    problems += inv.check_keys(objs, "Secret", SECRET, SECRET_KEYS)
    problems += inv.check_env_from(objs, CONFIG_MAP, SECRET, image_prefix=IMAGE_PREFIX, no_secret=NO_SECRET_WORKLOADS)
    assert not problems, "\n".join(problems)
    data = _get(objs, "ConfigMap", CONFIG_MAP)["data"]
    assert {k: data[k] for k in CONFIG_VALUES} == CONFIG_VALUES


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_apps_connect_as_their_own_user(rendered: Renderer, overlay: str) -> None:
    data = {k: base64.b64decode(v).decode() for k, v in _get(rendered(overlay), "Secret", SECRET)["data"].items()}
    assert inv.app_user_url(data), "NTA_MONGO_URL is not mongodb://<app user>:<password>@nta-mongodb:27017/nta?..."
    assert all(data.values()), "empty secret value"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_workloads_services_and_probes_are_the_contract(rendered: Renderer, overlay: str) -> None:
    objs = rendered(overlay)
    for name, (kind, ports, probe_path) in WORKLOADS.items():
        container = _container(objs, kind, name)
        assert {p["name"]: p["containerPort"] for p in container["ports"]} == ports, name
        # Readiness only: liveness paths (which never ask MongoDB) are checked in test_rollouts.py.
        if probe_path is not None:
            assert container["readinessProbe"]["httpGet"]["path"] == probe_path, f"{name} readinessProbe"
    for name, ports in SERVICES.items():
        assert {p["port"] for p in _get(objs, "Service", name)["spec"]["ports"]} == ports, name
    assert _get(objs, "Service", "nta-mongodb")["spec"]["clusterIP"] == "None"
    # Kubernetes expands $(POD_NAME) in commands only if the env var is defined.
    scheduler = _container(objs, "Deployment", "nta-dask-scheduler")
    assert "command" not in scheduler and "args" not in scheduler, "the scheduler runs the image's CMD"
    worker = _container(objs, "Deployment", "nta-dask-worker")
    assert worker["command"] == WORKER_COMMANDS[overlay]
    pod_name = next(e for e in worker["env"] if e["name"] == "POD_NAME")
    assert pod_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_mongodb(rendered: Renderer, overlay: str) -> None:
    objs = rendered(overlay)
    statefulset = _get(objs, "StatefulSet", "nta-mongodb")
    mongo = _container(objs, "StatefulSet", "nta-mongodb")
    assert mongo["image"] == MONGO_IMAGE
    assert inv.pod_spec(statefulset)["securityContext"]["runAsUser"] == 999
    ping = ["mongosh", "--quiet", "--eval", "db.adminCommand('ping')"]
    assert mongo["readinessProbe"]["exec"]["command"] == ping
    assert mongo["livenessProbe"]["exec"]["command"] == ping
    env = {e["name"]: e["valueFrom"] for e in mongo["env"]}
    # NTA_MONGO_URL and NTA_DB_NAME: for its init script (the apps' user).
    keys = ("MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD", "NTA_MONGO_URL")
    assert env == {**{k: {"secretKeyRef": {"name": SECRET, "key": k}} for k in keys},
                   "NTA_DB_NAME": {"configMapKeyRef": {"name": CONFIG_MAP, "key": "NTA_DB_NAME"}}}
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert statefulset["spec"]["serviceName"] == "nta-mongodb"


def test_base_hpa(rendered: Renderer) -> None:
    spec = _get(rendered("base"), "HorizontalPodAutoscaler", "nta-dask-worker")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, BASE_HPA_MAX_REPLICAS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_hpa(rendered: Renderer, overlay: str) -> None:
    spec = _get(rendered(overlay), "HorizontalPodAutoscaler", "nta-dask-worker")["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (1, HPA_MAX_REPLICAS[overlay])
    (metric,) = spec["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}


def test_dev_overlay(rendered: Renderer) -> None:
    objs = rendered("dev")
    problems = inv.check_node_port(objs, "nta-nginx", DEV_NODE_PORT)
    problems += inv.check_images(objs, IMAGE_PREFIX, "dev", "IfNotPresent")
    assert not problems, "\n".join(problems)
    assert _get(objs, "ConfigMap", CONFIG_MAP)["data"]["DJANGO_ALLOWED_HOSTS"] == "*"
    # Only nta-nginx is reachable from outside the cluster.
    others = [o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] != "nta-nginx"]
    assert not inv.check_no_node_port(others)


def _cpu_millis(value: str) -> int:
    return int(value[:-1]) if value.endswith("m") else int(float(value) * 1000)


def test_aws_overlay(rendered: Renderer) -> None:
    objs = rendered("aws")
    problems = inv.check_ingress_route(objs, "/nta", "nta-nginx", 8080)
    problems += inv.check_no_node_port(objs)
    problems += inv.check_images(objs, IMAGE_PREFIX, "prod", "Always")
    assert not problems, "\n".join(problems)

    (ingress,) = [o for o in objs if o["kind"] == "Ingress"]
    assert ingress["spec"]["ingressClassName"] in ("alb", "nginx")
    config = _get(objs, "ConfigMap", CONFIG_MAP)["data"]
    host = ingress["spec"]["rules"][0]["host"]
    assert re.fullmatch(r"[a-z0-9.-]+", host), "DJANGO_ALLOWED_HOSTS must be a single host on aws"
    assert (config["DJANGO_ALLOWED_HOSTS"], config["DJANGO_DEBUG"]) == (host, "0")
    django = _container(objs, "Deployment", "nta-django")
    for probe in ("readinessProbe", "livenessProbe"):
        assert {"name": "Host", "value": host} in django[probe]["httpGet"]["httpHeaders"], probe

    claim = _get(objs, "StatefulSet", "nta-mongodb")["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["storageClassName"] == "gp3"
    # Production sizing is larger than the laptop-sized base (used as is by dev).
    dev = rendered("dev")
    for name, (kind, _, _) in WORKLOADS.items():
        big = _container(objs, kind, name)["resources"]["requests"]["cpu"]
        small = _container(dev, kind, name)["resources"]["requests"]["cpu"]
        assert _cpu_millis(big) > _cpu_millis(small), name


def test_no_storage_class_outside_aws(rendered: Renderer) -> None:
    claim = _get(rendered("dev"), "StatefulSet", "nta-mongodb")["spec"]["volumeClaimTemplates"][0]
    assert "storageClassName" not in claim["spec"], "dev must use the local cluster's default class"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_readiness_probes_ask_the_health_paths_the_toolkit_waits_for(rendered: Renderer, overlay: str) -> None:
    # One source (dev/services.yaml) for the toolkit; the manifests must probe the same paths.
    objs = rendered(overlay)
    paths = health_paths()
    for service in ("nginx", "django", "flask"):
        probe = _container(objs, "Deployment", f"nta-{service}")["readinessProbe"]["httpGet"]["path"]
        assert probe == paths[service], f"nta-{service}: probes {probe}, dev/services.yaml says {paths[service]}"

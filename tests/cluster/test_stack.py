"""The stack's cluster-local overlay deploys on the local 1.20 cluster: every pod Ready, served on NodePort 31000.

The images the overlay names (nta-*:dev, nta-mongo-standin:dev) are built first, as Tilt would (layer cache:
seconds when nothing changed). The full e2e suite runs against the same deployment with
`./inv test-e2e --url http://localhost:31000` (after `./inv seed`).
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Iterator

import pytest

from nta_dev.images import IMAGES as STACK_IMAGES
from nta_dev.images import MONGO_STANDIN, build_many
from nta_dev.secrets import ensure_secrets_env

from .conftest import REPO_ROOT, Kubectl

NAMESPACE = "nta"
IMAGES = ("nta-nginx:dev", "nta-django:dev", "nta-flask:dev", "nta-dask:dev", "nta-mongo-standin:dev")
NODE_PORT = "http://127.0.0.1:31000"


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.read().decode()


def pods_ready(kubectl: Kubectl) -> tuple[bool, list[str]]:
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-o", "json").stdout)["items"]
    states = []
    for p in pods:
        conditions = {c["type"]: c["status"] for c in p["status"].get("conditions", [])}
        states.append((p["metadata"]["name"], conditions.get("Ready") == "True"))
    return bool(states) and all(ok for _, ok in states), [name for name, ok in states if not ok]


@pytest.fixture(scope="module")
def deployed(kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[float]:
    """Apply k8s/overlays/cluster-local (from a temp copy with generated secrets); yield seconds until all Ready."""
    started = time.monotonic()
    build_many([*STACK_IMAGES, MONGO_STANDIN.name], ("dev",))
    print(f"images built in {time.monotonic() - started:.1f} s")
    existed = kubectl("get", "namespace", NAMESPACE, check=False).returncode == 0
    k8s = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(REPO_ROOT / "k8s", k8s, ignore=shutil.ignore_patterns("secrets.env"))
    ensure_secrets_env(k8s / "overlays" / "dev")
    started = time.monotonic()
    kubectl("apply", "-k", str(k8s / "overlays" / "cluster-local"))
    deadline = started + 300
    while not (state := pods_ready(kubectl))[0]:
        if time.monotonic() > deadline:
            described = kubectl("-n", NAMESPACE, "get", "pods,events", check=False).stdout
            pytest.fail(f"pods not Ready within 300 s: {', '.join(state[1])}\n{described}", pytrace=False)
        time.sleep(1)
    elapsed = time.monotonic() - started
    print(f"apply cluster-local -> all pods Ready: {elapsed:.1f} s")
    yield elapsed
    if not existed:  # a developer's own deployment stays
        kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)


def test_every_workload_is_ready_with_the_local_images(kubectl: Kubectl, deployed: float) -> None:
    pods = json.loads(kubectl("-n", NAMESPACE, "get", "pods", "-o", "json").stdout)["items"]
    images = {c["image"] for p in pods for c in p["spec"]["containers"]}
    assert images == set(IMAGES)
    claims = json.loads(kubectl("-n", NAMESPACE, "get", "pvc", "-o", "json").stdout)["items"]
    assert [c["status"]["phase"] for c in claims] == ["Bound"]  # MongoDB's volume, from the default class


def test_the_stack_answers_through_node_port_31000(deployed: float) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            assert get(f"{NODE_PORT}/healthz") == (200, "ok\n")  # nginx itself
            status, body = get(f"{NODE_PORT}/nta/rest/healthz")  # nginx -> Flask -> MongoDB (stand-in)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    assert status == 200 and json.loads(body)["mongo"] == "ok"
    assert get(f"{NODE_PORT}/nta/healthz")[0] == 200  # nginx -> Django
    assert get(f"{NODE_PORT}/nta/dask/health") == (200, "ok")  # nginx -> Dask scheduler dashboard


def test_hpa_is_served_by_the_1_20_api(kubectl: Kubectl, deployed: float) -> None:
    hpa = json.loads(kubectl("-n", NAMESPACE, "get", "hpa.v2beta2.autoscaling", "nta-dask-worker", "-o",
                             "json").stdout)
    assert hpa["spec"]["scaleTargetRef"]["name"] == "nta-dask-worker"

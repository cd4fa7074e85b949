"""Each pod can read only the nta-secrets keys it uses, and MongoDB's init script gives the apps a least-privilege
user (run under node with a stand-in for mongosh's `db`)."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.fixtures.require import unavailable

from .conftest import K8S_DIR, Renderer
from .test_network_policies import RENDERED_OVERLAYS

SECRET = "nta-secrets"
# Workload -> the nta-secrets keys its pods can read (a literal: what each process reads, see the settings modules).
EXPECTED_KEYS: dict[str, set[str]] = {
    "nta-nginx": set(),
    "nta-django": {"DJANGO_SECRET_KEY", "NTA_MONGO_URL"},
    "nta-flask": {"NTA_MONGO_URL"},
    "nta-dask-scheduler": {"NTA_MONGO_URL"},  # the job reaper and retention sweep
    "nta-dask-worker": {"NTA_MONGO_URL"},
    # The image creates the root user; the init script creates NTA_MONGO_URL's user.
    "nta-mongodb": {"MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD", "NTA_MONGO_URL"},
}


def _secret_keys(objs: list[dict[str, Any]]) -> set[str]:
    (secret,) = [o for o in objs if o["kind"] == "Secret" and o["metadata"]["name"] == SECRET]
    return set(secret.get("data") or {}) | set(secret.get("stringData") or {})


def readable_keys(workload: dict[str, Any], all_keys: set[str]) -> set[str]:
    """Every key of nta-secrets the pod can see: env keyRefs, envFrom (all keys) and secret volumes."""
    spec = workload["spec"]["template"]["spec"]
    keys: set[str] = set()
    for c in [*spec.get("initContainers", []), *spec["containers"]]:
        for e in c.get("env") or []:
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref and ref["name"] == SECRET:
                keys.add(ref["key"])
        for source in c.get("envFrom") or []:
            if (source.get("secretRef") or {}).get("name") == SECRET:
                keys |= all_keys
    for volume in spec.get("volumes") or []:
        sources = [volume] + list((volume.get("projected") or {}).get("sources") or [])
        for s in sources:
            secret = s.get("secret")
            if secret and secret.get("secretName", secret.get("name")) == SECRET:
                keys |= {i["key"] for i in secret["items"]} if secret.get("items") else all_keys
    return keys


@pytest.mark.parametrize("overlay", RENDERED_OVERLAYS)
def test_each_pod_reads_only_its_secret_keys(rendered: Renderer, overlay: str) -> None:
    objs = rendered(overlay)
    all_keys = _secret_keys(objs)
    workloads = [o for o in objs if o["kind"] in ("Deployment", "StatefulSet")]
    got = {o["metadata"]["name"]: readable_keys(o, all_keys) for o in workloads}
    assert got == EXPECTED_KEYS


def test_readable_keys_sees_envfrom_and_volumes() -> None:
    """The collector counts a whole-Secret envFrom or volume as every key (so the test above can fail)."""
    pod = {"spec": {"template": {"spec": {"containers": [{"envFrom": [{"secretRef": {"name": SECRET}}]}]}}}}
    assert readable_keys(pod, {"A", "B"}) == {"A", "B"}
    one_key = {"secret": {"name": SECRET, "items": [{"key": "A", "path": "a"}]}}
    pod = {"spec": {"template": {"spec": {"containers": [{}],
                                          "volumes": [{"name": "s", "projected": {"sources": [one_key]}}]}}}}
    assert readable_keys(pod, {"A", "B"}) == {"A"}


@pytest.mark.parametrize("overlay", ("dev", "aws"))
def test_official_mongodb_runs_the_app_user_script(rendered: Renderer, overlay: str) -> None:
    objs = rendered(overlay)
    (sts,) = [o for o in objs if o["kind"] == "StatefulSet"]
    spec = sts["spec"]["template"]["spec"]
    (mongo,) = spec["containers"]
    assert mongo["image"].startswith("mongo:")
    mounts = {m["mountPath"]: m["name"] for m in mongo["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes[mounts["/docker-entrypoint-initdb.d"]]["configMap"]["name"] == "nta-mongodb-init"
    (cm,) = [o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "nta-mongodb-init"]
    assert list(cm["data"]) == ["create-app-user.js"]


def test_cluster_local_standin_has_no_credentials(rendered: Renderer) -> None:
    objs = rendered("cluster-local")
    (secret,) = [o for o in objs if o["kind"] == "Secret"]
    url = base64.b64decode(secret["data"]["NTA_MONGO_URL"]).decode()
    assert url == "mongodb://nta-mongodb:27017/"
    (sts,) = [o for o in objs if o["kind"] == "StatefulSet"]
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "nta-mongo-standin:dev"


# mongosh runs the script with `db` (authenticated as root), `print` and Node's process.env.
RUN_SCRIPT = """
const vm = require("vm");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const calls = [], printed = [];
const db = {getSiblingDB: (name) => ({createUser: (u) => calls.push({db: name, ...u})})};
vm.runInNewContext(input.script, {db, print: (s) => printed.push(String(s)), process: {env: input.env}});
console.log(JSON.stringify({calls, printed}));
"""


def _run_init(env: dict[str, str]) -> dict[str, Any]:
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        unavailable("node is not installed: the MongoDB init script (JavaScript) is not exercised")
    doc = yaml.safe_load((K8S_DIR / "base" / "mongodb-init-configmap.yaml").read_text())
    payload = json.dumps({"script": doc["data"]["create-app-user.js"], "env": env})
    proc = subprocess.run([node, "-e", RUN_SCRIPT], input=payload, capture_output=True, text=True, timeout=30,
                          check=True)  # fmt: skip
    return json.loads(proc.stdout)


ROOT = {"MONGO_INITDB_ROOT_USERNAME": "root_u", "MONGO_INITDB_ROOT_PASSWORD": "root-pw", "NTA_DB_NAME": "nta"}


def test_init_creates_the_url_user_with_read_write_on_nta_only() -> None:
    out = _run_init({**ROOT, "NTA_MONGO_URL": "mongodb://app_u:p%40ss-w0rd@nta-mongodb:27017/nta?authSource=nta"})
    assert out["calls"] == [{"db": "nta", "user": "app_u", "pwd": "p@ss-w0rd",
                             "roles": [{"role": "readWrite", "db": "nta"}]}]  # fmt: skip
    assert not any("p@ss" in line or "p%40ss" in line for line in out["printed"]), "password printed"
    # Without authSource the user lives in the URL's database, without either in admin (MongoDB's rule).
    assert _run_init({**ROOT, "NTA_MONGO_URL": "mongodb://app_u:pw@h:27017/nta"})["calls"][0]["db"] == "nta"
    assert _run_init({**ROOT, "NTA_MONGO_URL": "mongodb://app_u:pw@h:27017/"})["calls"][0]["db"] == "admin"


def test_init_creates_nobody_for_the_root_url_or_no_credentials() -> None:
    root_url = "mongodb://root_u:root-pw@nta-mongodb:27017/?authSource=admin"
    out = _run_init({**ROOT, "NTA_MONGO_URL": root_url})
    assert out["calls"] == [] and "root user" in out["printed"][0]
    assert _run_init({**ROOT, "NTA_MONGO_URL": "mongodb://nta-mongodb:27017/"})["calls"] == []

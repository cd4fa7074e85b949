"""k8s/overlays/cluster-local: the dev overlay with only the change this machine requires (the MongoDB stand-in).
The cluster serves autoscaling/v2, so the HPA stays the dev overlay's."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from nta_dev.kube.secrets import ensure_secrets_env

from .conftest import REPO_ROOT, unavailable

Objects = dict[tuple[str, str], dict[str, Any]]


def render(k8s: Path, overlay: str) -> Objects:
    proc = subprocess.run(["kubectl", "kustomize", str(k8s / "overlays" / overlay)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in yaml.safe_load_all(proc.stdout) if doc}


@pytest.fixture(scope="module")
def k8s_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """k8s/ in a temp dir with a generated secrets.env, so rendering never touches the checkout."""
    if not shutil.which("kubectl"):
        unavailable("kubectl not found: install kubectl >= 1.27 (kustomize built in)")
    dst = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(REPO_ROOT / "k8s", dst, ignore=shutil.ignore_patterns("secrets.env"))
    ensure_secrets_env(dst / "overlays" / "dev")
    return dst


@pytest.fixture(scope="module")
def dev(k8s_copy: Path) -> Objects:
    return render(k8s_copy, "dev")


@pytest.fixture(scope="module")
def local(k8s_copy: Path) -> Objects:
    return render(k8s_copy, "cluster-local")


def test_only_mongodb_and_its_url_differ_from_dev(dev: Objects, local: Objects) -> None:
    assert local.keys() == dev.keys()
    changed = {key for key in dev if dev[key] != local[key]}
    assert changed == {("StatefulSet", "nta-mongodb"), ("Secret", "nta-secrets")}


def test_hpa_is_the_dev_overlays_autoscaling_v2(dev: Objects, local: Objects) -> None:
    key = ("HorizontalPodAutoscaler", "nta-dask-worker")
    assert local[key]["apiVersion"] == "autoscaling/v2"
    assert local[key] == dev[key]


def test_the_namespace_enforces_pod_security_restricted(local: Objects) -> None:
    labels = local[("Namespace", "nta")]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


def test_mongodb_is_the_standin_with_tcp_probes_and_its_volume(dev: Objects, local: Objects) -> None:
    key = ("StatefulSet", "nta-mongodb")
    before, after = dev[key]["spec"]["template"]["spec"], local[key]["spec"]["template"]["spec"]
    container = after["containers"][0]
    assert container["image"] == "nta-mongo-standin:dev"
    assert container["imagePullPolicy"] == "IfNotPresent"
    data_dir = container["command"][container["command"].index("--data-dir") + 1]
    assert data_dir in {m["mountPath"] for m in container["volumeMounts"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["tcpSocket"] == {"port": "mongodb"}
        assert "exec" not in container[probe]
        timing = {k: v for k, v in before["containers"][0][probe].items() if k != "exec"}
        assert {k: v for k, v in container[probe].items() if k != "tcpSocket"} == timing
    rest = {k: v for k, v in container.items() if k not in {"image", "command", "startupProbe", "readinessProbe",
                                                             "livenessProbe"}}
    assert rest == {k: v for k, v in before["containers"][0].items() if k in rest}
    assert local[key]["spec"]["volumeClaimTemplates"] == dev[key]["spec"]["volumeClaimTemplates"]


def test_mongo_url_has_no_credentials_and_other_secrets_stay(dev: Objects, local: Objects) -> None:
    import base64

    before, after = dev[("Secret", "nta-secrets")]["data"], local[("Secret", "nta-secrets")]["data"]
    assert base64.b64decode(after["NTA_MONGO_URL"]).decode() == "mongodb://nta-mongodb:27017/"
    assert {k: v for k, v in after.items() if k != "NTA_MONGO_URL"} == \
        {k: v for k, v in before.items() if k != "NTA_MONGO_URL"}


def test_dev_overlay_keeps_the_official_image(dev: Objects) -> None:
    assert dev[("StatefulSet", "nta-mongodb")]["spec"]["template"]["spec"]["containers"][0]["image"].startswith(
        "mongo:")


def test_validates_against_the_schema_of_the_clusters_minor(local: Objects) -> None:
    # kubernetes-validate ships schemas up to 1.37: the release the local cluster runs (nta_dev.cluster.releases).
    import kubernetes_validate

    for key, doc in local.items():
        try:
            kubernetes_validate.validate(doc, "1.37.0", strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{key}: {exc.message}")

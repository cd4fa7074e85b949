"""metrics-server on the toolkit's cluster (nta_dev.cluster.metrics_server): the module's manifests pointed at the
image built here, never pulled."""

from __future__ import annotations

from nta_dev.cluster.metrics_server import DOCKERFILE, IMAGE, set_local_image


def manifests() -> list[dict]:
    container = {"name": "metrics-server", "image": "registry.k8s.io/metrics-server/metrics-server:v0.8.0",
                 "imagePullPolicy": "IfNotPresent", "args": ["--cert-dir=/tmp"]}
    sidecar = {"name": "other", "image": "busybox"}
    return [{"kind": "ServiceAccount", "metadata": {"name": "metrics-server"}},
            {"kind": "Deployment", "metadata": {"name": "metrics-server"},
             "spec": {"template": {"spec": {"containers": [container, sidecar]}}}}]


def test_the_deployment_runs_the_local_image_without_a_pull() -> None:
    docs = manifests()
    assert set_local_image(docs) == 1
    main, sidecar = docs[1]["spec"]["template"]["spec"]["containers"]
    assert main["image"] == "nta-metrics-server:v0.8.0" == IMAGE
    assert main["imagePullPolicy"] == "Never"
    assert main["args"] == ["--cert-dir=/tmp"]
    assert sidecar == {"name": "other", "image": "busybox"}


def test_no_deployment_changes_nothing() -> None:
    docs = manifests()[:1]
    assert set_local_image(docs) == 0


def test_image_is_built_on_the_local_base_and_runs_unprivileged() -> None:
    lines = DOCKERFILE.splitlines()
    assert "FROM ${BASE_IMAGE}" in lines
    assert "USER 65534:65534" in lines
    assert any("org.nta.local-only=true" in line for line in lines)

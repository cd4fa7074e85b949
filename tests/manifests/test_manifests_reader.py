"""nta_dev.kube.manifests reads k8s/ for the container stack and the local stack: what it reads must be what kustomize
renders, so those stacks run the Kubernetes commands and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from nta_dev.errors import ToolkitError
from nta_dev.kube import manifests

from .conftest import Renderer
from .test_invariants import _container, _get


@pytest.mark.parametrize(("overlay", "patches"), [("dev", "dev"), ("aws", None)])
def test_the_worker_command_is_the_rendered_one(rendered: Renderer, overlay: str, patches: str | None) -> None:
    worker = _container(rendered(overlay), "Deployment", "nta-dask-worker")
    assert manifests.command("nta-dask-worker", patches) == worker["command"]


def test_the_dev_worker_reloads_in_place() -> None:
    assert manifests.command("nta-dask-worker", "dev")[-2:] == ["--preload", "nta_devserver.dask"]
    assert "nta_devserver.dask" not in manifests.command("nta-dask-worker")


def test_the_configuration_is_the_base_configmap(rendered: Renderer) -> None:
    data = _get(rendered("base"), "ConfigMap", "nta-config")["data"]
    assert manifests.config() == {k: str(v) for k, v in data.items()}
    assert manifests.config()["NTA_DASK_SCHEDULER"] == "tcp://nta-dask-scheduler:8786"


def test_a_patch_it_does_not_understand_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    overlay = tmp_path / "overlays" / "odd"
    overlay.mkdir(parents=True)
    (tmp_path / "base").symlink_to(manifests.K8S / "base")
    (overlay / "kustomization.yaml").write_text(
        "resources: [../../base]\npatches:\n  - path: p.yaml\n    target: {kind: Deployment, name: nta-dask-worker}\n")
    (overlay / "p.yaml").write_text("- op: replace\n  path: /spec/template/spec/containers/0/command/0\n  value: x\n")
    monkeypatch.setattr(manifests, "K8S", tmp_path)
    with pytest.raises(ToolkitError, match="overlays/odd.*replace"):
        manifests.command("nta-dask-worker", "odd")

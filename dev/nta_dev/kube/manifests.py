"""The base manifests (k8s/base) as the one statement of the stack's runtime facts, for the ways of running it
without Kubernetes: the non-secret configuration (ConfigMap nta-config) and the containers' commands.

The scheduler's command is the nta-dask image's CMD (services/dask/Dockerfile); the worker's is in
k8s/base/dask-worker-deployment.yaml, and the dev overlay appends its reloader with a JSON patch, read here from
the overlay's kustomization.yaml the way kustomize reads it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from ..errors import ToolkitError
from .yamldocs import Doc, load

K8S = Path(__file__).resolve().parents[3] / "k8s"
COMMAND = "/spec/template/spec/containers/0/command"


@cache
def base_objects() -> tuple[Doc, ...]:
    """Every object of k8s/base, as written (no kustomize needed: the base has no generators)."""
    return tuple(doc for path in sorted((K8S / "base").glob("*.yaml")) if path.name != "kustomization.yaml"
                 for doc in load(path))  # fmt: skip


def _object(kind: str, name: str) -> Doc:
    found = [d for d in base_objects() if d.get("kind") == kind and d.get("metadata", {}).get("name") == name]
    if len(found) != 1:
        raise ToolkitError(f"k8s/base has {len(found)} {kind} objects named {name!r}, expected one")
    return found[0]


def config() -> dict[str, str]:
    """The data of the ConfigMap nta-config: every non-secret setting the apps read."""
    return {key: str(value) for key, value in _object("ConfigMap", "nta-config")["data"].items()}


def command(deployment: str, overlay: str | None = None) -> list[str]:
    """The command of the Deployment's first container in k8s/base, plus what `overlay`'s JSON patches append."""
    argv = [str(a) for a in _object("Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]["command"]]
    for op in _json_patch_ops(overlay, deployment) if overlay else ():
        if op.get("path") == f"{COMMAND}/-" and op.get("op") == "add":
            argv.append(str(op["value"]))
        elif str(op.get("path", "")).startswith(COMMAND):
            raise ToolkitError(f"k8s/overlays/{overlay}: nta_dev.kube.manifests reads only `add` at {COMMAND}/- for "
                               f"{deployment}'s command, not {op}")  # fmt: skip
    return argv


def _json_patch_ops(overlay: str, deployment: str) -> list[Doc]:
    folder = K8S / "overlays" / overlay
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    ops: list[Doc] = []
    for patch in kustomization.get("patches", []):
        target = patch.get("target") or {}
        if target.get("kind") == "Deployment" and target.get("name") == deployment:
            loaded = yaml.safe_load((folder / patch["path"]).read_text())
            ops += loaded if isinstance(loaded, list) else []  # a list is a JSON patch; a mapping merges objects
    return ops

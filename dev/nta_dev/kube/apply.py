"""Plain-kubectl deployment of a kustomize overlay in the documented order (`./inv apply`, `./inv down`).

Tilt applies everything at once and retries; a one-shot ``kubectl apply`` benefits from an order in which every
object's dependencies exist first: the namespace, then configuration and storage, then Services (so DNS names
exist when pods start), then MongoDB, which must be ready before the apps that connect to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from pathlib import Path

import yaml

from ..errors import ToolkitError
from .context import Kubectl
from .secrets import SECRETS_FILENAME, ensure_secrets_env
from .yamldocs import Doc, dump, parse

KIND_ORDER = (
    "Namespace",
    "ConfigMap",
    "Secret",
    "NetworkPolicy",  # before any pod runs: a pod never starts with its traffic unrestricted
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Service",
    "StatefulSet",
    "Deployment",
    "HorizontalPodAutoscaler",
)
GENERATED_SECRETS = ("dev",)  # overlays for local clusters: random credentials on first use
# Kept by `down` unless --purge: deleting them deletes MongoDB's data.
DATA_KINDS = frozenset({"Namespace", "PersistentVolume", "PersistentVolumeClaim"})
ROLLOUT_TIMEOUT = "300s"


def kind_rank(kind: str) -> int:
    """Position of ``kind`` in KIND_ORDER; kinds not listed (Ingress, ...) come after, in rendered order."""
    return KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)


def order_documents(docs: Iterable[Doc]) -> list[Doc]:
    """Documents sorted by KIND_ORDER; stable, so the overlay's own order holds within a kind."""
    return sorted(docs, key=lambda d: kind_rank(str(d.get("kind", ""))))


def overlay_dir(k8s_dir: Path, overlay: str) -> Path:
    directory = k8s_dir / "overlays" / overlay
    if not (directory / "kustomization.yaml").is_file():
        found = sorted(p.name for p in (k8s_dir / "overlays").glob("*") if (p / "kustomization.yaml").is_file())
        raise ToolkitError(f"no overlay {overlay!r} in {k8s_dir / 'overlays'}; available: {', '.join(found)}")
    return directory


def prepare_overlay(directory: Path) -> None:
    """Credentials before rendering: generated for the dev overlay (also when another overlay builds on it),
    written by a person for the others (their ``secrets.env.example`` says which keys)."""
    for layer in _overlay_chain(directory):
        if layer.name in GENERATED_SECRETS:
            ensure_secrets_env(layer)
        elif (layer / f"{SECRETS_FILENAME}.example").is_file() and not (layer / SECRETS_FILENAME).is_file():
            raise ToolkitError(f"{layer / SECRETS_FILENAME} is missing: copy {SECRETS_FILENAME}.example next to it "
                               "and fill in the values from your secret store (see that overlay's README.md)")


def _overlay_chain(directory: Path) -> list[Path]:
    """``directory`` and the sibling overlays it includes as resources (``../dev``), transitively."""
    chain, todo = [], [directory.resolve()]
    while todo:
        layer = todo.pop()
        if layer in chain:
            continue
        chain.append(layer)
        try:
            resources = (yaml.safe_load((layer / "kustomization.yaml").read_text()) or {}).get("resources") or []
        except (OSError, yaml.YAMLError):
            continue
        for entry in resources:
            sibling = (layer / str(entry)).resolve()
            if sibling.parent == directory.resolve().parent and (sibling / "kustomization.yaml").is_file():
                todo.append(sibling)
    return chain


def render(kubectl: Kubectl, directory: Path) -> list[Doc]:
    """``kubectl kustomize DIR`` parsed into documents (rendering is local; nothing reaches the cluster)."""
    result = kubectl.run("kustomize", str(directory), hide="out", warn=True)
    if result.exited != 0:
        raise ToolkitError(f"`kubectl kustomize {directory}` failed (exit {result.exited}): see the error above")
    return parse(result.stdout, str(directory))


def _name(doc: Doc) -> str:
    return str((doc.get("metadata") or {}).get("name", ""))


def _namespace(doc: Doc) -> str:
    return str((doc.get("metadata") or {}).get("namespace", ""))


def apply_overlay(kubectl: Kubectl, k8s_dir: Path, overlay: str) -> list[str]:
    """Render ``overlay`` and apply it kind by kind; returns the kinds in the order applied.

    After the StatefulSets (MongoDB), waits for their rollout before any Deployment is applied.
    """
    directory = overlay_dir(k8s_dir, overlay)
    prepare_overlay(directory)
    docs = order_documents(render(kubectl, directory))
    applied: list[str] = []
    statefulsets: list[Doc] = []
    for kind, group in groupby(docs, key=lambda d: str(d.get("kind", ""))):
        batch = list(group)
        if kind_rank(kind) > KIND_ORDER.index("StatefulSet"):
            for sts in statefulsets:
                print(f"nta: waiting for StatefulSet {_name(sts)} before the apps (at most {ROLLOUT_TIMEOUT})")
                kubectl.run("rollout", "status", f"statefulset/{_name(sts)}", "-n", _namespace(sts),
                            f"--timeout={ROLLOUT_TIMEOUT}")  # fmt: skip
            statefulsets = []
        print(f"nta: {kind}: {', '.join(_name(d) for d in batch)}")
        # stdin, not a temp file: the Secret's values never touch the disk or the echoed command line.
        kubectl.run("apply", "-f", "-", stdin=dump(batch))
        applied.append(kind)
        if kind == "StatefulSet":
            statefulsets = batch
    return applied


def delete_overlay(kubectl: Kubectl, k8s_dir: Path, overlay: str, purge: bool = False) -> list[Doc]:
    """Delete the overlay's objects in reverse order; Namespace and volumes (MongoDB's data) only with ``purge``."""
    directory = overlay_dir(k8s_dir, overlay)
    prepare_overlay(directory)
    docs = list(reversed(order_documents(render(kubectl, directory))))
    doomed = [d for d in docs if purge or d.get("kind") not in DATA_KINDS]
    if doomed:
        kubectl.run("delete", "--ignore-not-found", "-f", "-", stdin=dump(doomed))
    if not purge:
        namespaces = sorted(_name(d) for d in docs if d.get("kind") == "Namespace")
        print(f"nta: kept namespace {', '.join(namespaces) or '-'} and MongoDB's volume (its data); "
              "`./inv down --purge` deletes them too")  # fmt: skip
    return doomed

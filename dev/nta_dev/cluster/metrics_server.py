"""metrics-server for machines that reach no container registry: its image built here, its manifest from its module.

metrics-server's release image and components.yaml live on hosts this machine cannot reach. Its Go module carries
both the code and the kustomize manifests (``manifests/overlays/release``), so ``./inv metrics-server`` on the
toolkit's cluster:

1. builds ``cmd/metrics-server`` from the module (``gobuild``, checked-in wrapper ``gomod/metrics-server-v0.8.0``,
   static, cached in ``~/.cache/nta-dev/kubernetes/metrics-server/v0.8.0``);
2. puts it in ``nta-metrics-server:v0.8.0`` on the local base image ``nta-base:bookworm`` (like every image built
   here; labelled local-only, never pushed), which the cluster's Docker engine runs without a pull;
3. renders the release manifests with ``kubectl kustomize`` and points the Deployment at that image
   (``imagePullPolicy: Never``: a missing image fails visibly instead of trying a registry).
"""

from __future__ import annotations

import json
import logging
import subprocess
import tempfile
from pathlib import Path

from ..errors import ToolkitError
from .paths import cache_root
from .prereq import run
from .releases import METRICS_SERVER

log = logging.getLogger(__name__)

IMAGE = f"nta-metrics-server:{METRICS_SERVER.version}"
BASE_IMAGE = "nta-base:bookworm"
DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
LABEL org.nta.local-only=true org.opencontainers.image.source=sigs.k8s.io/metrics-server
COPY metrics-server /metrics-server
USER 65534:65534
ENTRYPOINT ["/metrics-server"]
"""


def binary_dir() -> Path:
    return cache_root() / "metrics-server" / METRICS_SERVER.version


def image_present(docker: str = "docker") -> bool:
    return subprocess.run([docker, "image", "inspect", IMAGE], capture_output=True).returncode == 0


def ensure_binary(force: bool = False) -> Path:
    """The metrics-server binary, built from its module once (``python -m nta_dev.cluster build --metrics-server``
    builds it ahead, as CI does in the background)."""
    from .gobuild import build_lock, build_tool

    binary = binary_dir() / "metrics-server"
    with build_lock(f"metrics-server-{METRICS_SERVER.version}"):
        if force or not binary.exists():
            build_tool(METRICS_SERVER, binary_dir())
    return binary


def ensure_image(docker: str = "docker", force: bool = False) -> str:
    """``nta-metrics-server:<version>`` in the local engine (binary built once, then only the thin image)."""
    if not force and image_present(docker):
        return IMAGE
    from ..images.base import ensure_base_image

    binary = ensure_binary(force)
    base = ensure_base_image(BASE_IMAGE, log=log.info)
    with tempfile.TemporaryDirectory(prefix="nta-metrics-server-") as ctx:
        Path(ctx, "metrics-server").write_bytes(binary.read_bytes())
        Path(ctx, "metrics-server").chmod(0o755)
        Path(ctx, "Dockerfile").write_text(DOCKERFILE)
        run([docker, "build", "-q", "--build-arg", f"BASE_IMAGE={base}", "-t", IMAGE, ctx])
    return IMAGE


def module_manifests_dir() -> Path:
    """``manifests/`` of the metrics-server module (downloaded into the module cache when missing)."""
    from .gobuild import go_binary, go_env

    ref = f"{METRICS_SERVER.module}@{METRICS_SERVER.version}"
    out = subprocess.run([go_binary(), "mod", "download", "-json", ref], capture_output=True, text=True,
                         env={**go_env(), "GOFLAGS": "-mod=mod"}, cwd="/")
    info = json.loads(out.stdout or "{}")
    manifests = Path(info.get("Dir", "/nonexistent")) / "manifests" / "overlays" / "release"
    if not manifests.is_dir():
        raise ToolkitError(f"`go mod download {ref}` gave no manifests/overlays/release: "
                           f"{info.get('Error') or out.stderr.strip() or 'missing from the module'}")
    return manifests


def set_local_image(docs: list[dict], image: str = IMAGE) -> int:
    """Point every metrics-server container at ``image`` with ``imagePullPolicy: Never``; returns how many."""
    changed = 0
    for doc in docs:
        if doc.get("kind") != "Deployment":
            continue
        for container in doc["spec"]["template"]["spec"].get("containers", []):
            if container.get("name") == "metrics-server":
                container["image"] = image
                container["imagePullPolicy"] = "Never"
                changed += 1
    return changed


def render_manifest(kubectl: str = "kubectl") -> str:
    """The release manifests as YAML text (``kubectl kustomize`` of the module's release overlay)."""
    out = subprocess.run([kubectl, "kustomize", str(module_manifests_dir())], capture_output=True, text=True)
    if out.returncode != 0:
        raise ToolkitError(f"kubectl kustomize of metrics-server's manifests failed: {out.stderr.strip()}")
    return out.stdout

"""cri-dockerd: the CRI runtime of the local cluster, in front of the local Docker engine.

kubelet >= 1.24 has no dockershim; cri-dockerd (Mirantis, built from its Go module) is that shim as a separate
process. With it the kubelet runs pods on the same Docker engine Tilt and ``docker build`` use, so a locally built
image (``nta-django:dev``, ``nta-base:bookworm``) starts in a pod with ``imagePullPolicy: Never`` and no registry,
exactly as with the dockershim of kubelets before 1.24 and with docker-desktop. The alternative, containerd with
its own image store, would need every image pushed and pulled; and the runc wrapper keeps working because the pods
still run under dockerd.

``--network-plugin=no-op`` (its default is ``cni``, and there is no CNI plugin here): pods stay on Docker's default
bridge; the toolkit's agent serves their DNS on docker0. The streaming server (exec, logs, port-forward, which the
kubelet proxies) listens on loopback only.
"""

from __future__ import annotations

from pathlib import Path


def socket_path(state: Path) -> Path:
    return state / "cri-dockerd.sock"


def endpoint(state: Path) -> str:
    return f"unix://{socket_path(state)}"


def command(binary: Path, state: Path, pause_image: str) -> list[str]:
    """argv of cri-dockerd: its socket and root dir under the cluster's state dir (nothing under /var/run)."""
    return [str(binary), f"--container-runtime-endpoint={endpoint(state)}",
            f"--cri-dockerd-root-directory={state / 'cri-dockerd'}", f"--pod-infra-container-image={pause_image}",
            "--docker-endpoint=unix:///var/run/docker.sock", "--network-plugin=no-op",
            "--streaming-bind-addr=127.0.0.1:0", "--log-level=warn"]

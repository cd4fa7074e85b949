"""The cluster's local image registry, announced the way kind and k3d announce theirs (KEP-1755).

Tilt pushes an image only when the cluster cannot run images from the local Docker engine. It knows a few products
by their cluster name (docker-desktop, minikube, kind-*, ...); for any other cluster it reads the ConfigMap
``kube-public/local-registry-hosting`` and pushes to the registry named there. So the cluster runs Debian's
``docker-registry`` (the CNCF distribution registry) on localhost, and ``announce()`` writes that ConfigMap.
The kubelet's Docker engine already holds what Tilt built and tagged, so a pod starts without a pull;
``localhost`` registries need no TLS in Docker.
https://github.com/kubernetes/enhancements/tree/master/keps/sig-cluster-lifecycle/generic/1755-communicating-a-local-registry
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

from ..errors import ToolkitError
from .kubeapi import KubeApi

PORT = 5001  # kind's documented host port for its registry (5000 is often taken, e.g. by macOS AirPlay)
HOST = f"localhost:{PORT}"
CONFIGMAP_PATH = "/api/v1/namespaces/kube-public/configmaps"
HELP = "https://github.com/tilt-dev/tilt (local registry: images are pushed there, the node runs them from Docker)"


def config_text(storage: Path) -> str:
    """The registry's configuration: loopback only, images under ``storage``, deletes allowed (for pruning)."""
    return json.dumps({  # JSON is YAML: the registry reads it as its config.yml
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{PORT}"},
    }, indent=2)


def command(state: Path) -> list[str]:
    """argv of the registry process; writes its config under ``state``."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise ToolkitError("docker-registry not found: `apt-get install -y docker-registry` (Debian's CNCF "
                           "distribution registry), needed so Tilt can hand images to this cluster")
    (state / "registry").mkdir(parents=True, exist_ok=True)
    config = state / "registry.json"
    config.write_text(config_text(state / "registry"))
    return [binary, "serve", str(config)]


def answering() -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}/v2/", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def hosting_configmap() -> dict:
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "local-registry-hosting", "namespace": "kube-public"},
        "data": {"localRegistryHosting.v1": f'host: "{HOST}"\nhelp: "{HELP}"\n'},
    }


def announce(api: KubeApi) -> None:
    """Create (or refresh) kube-public/local-registry-hosting."""
    body = hosting_configmap()
    try:
        api.request("POST", CONFIGMAP_PATH, body)
    except OSError as exc:
        if getattr(exc, "code", None) != 409:
            raise
        api.request("PUT", f"{CONFIGMAP_PATH}/local-registry-hosting", body)

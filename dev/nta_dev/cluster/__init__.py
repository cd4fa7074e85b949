"""A real single-node Kubernetes on the local Docker engine, built from source once and cached by version.

The release (``releases``): 1.37.2 from Go modules, cri-dockerd in front of the Docker engine; ``NTA_K8S_VERSION``
or ``--version`` chooses among the releases listed there. Entry points for the invoke task
(`invoke cluster-local [--down] [--version V]`) and the tests: ``up()`` / ``down()`` (runtime),
``build_binaries()`` / ``build_pause_image()`` (build), ``ensure_dockerd()``.
"""

from .build import build_binaries, build_pause_image
from .dockerd import ensure_dockerd
from .paths import K8S_VERSION, kubeconfig_path, state_dir
from .pki import CONTEXT
from .releases import release
from .runtime import Cluster, components, down, running_pids, running_version, up

__all__ = ["CONTEXT", "K8S_VERSION", "Cluster", "build_binaries", "build_pause_image", "components", "down",
           "ensure_dockerd", "kubeconfig_path", "release", "running_pids", "running_version", "state_dir", "up"]

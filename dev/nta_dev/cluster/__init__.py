"""A real single-node Kubernetes 1.20 on the local Docker engine, built from Debian's source package.

Entry points for the invoke task (`invoke cluster-local [--down]`) and the tests:
``up()`` / ``down()`` (runtime), ``build_binaries()`` / ``build_pause_image()`` (build), ``ensure_dockerd()``.
"""

from .build import build_binaries, build_pause_image
from .dockerd import ensure_dockerd
from .paths import K8S_VERSION, kubeconfig_path, state_dir
from .pki import CONTEXT
from .runtime import Cluster, down, running_pids, up

__all__ = ["CONTEXT", "K8S_VERSION", "Cluster", "build_binaries", "build_pause_image", "down", "ensure_dockerd",
           "kubeconfig_path", "running_pids", "state_dir", "up"]

"""Where the local cluster keeps its binaries (cache, keyed by version) and its state (one running cluster)."""

from __future__ import annotations

import os
from pathlib import Path

from .releases import DEFAULT_VERSION, selected_version

K8S_VERSION = DEFAULT_VERSION  # the default release; NTA_K8S_VERSION selects another (see releases)


def cache_root() -> Path:
    """Binary cache (survives clones and `down`): ``NTA_K8S_CACHE`` or ``~/.cache/nta-dev/kubernetes``."""
    override = os.environ.get("NTA_K8S_CACHE", "").strip()
    return Path(override) if override else Path.home() / ".cache" / "nta-dev" / "kubernetes"


def bin_dir(version: str | None = None) -> Path:
    return cache_root() / (version or selected_version()) / "bin"


def state_dir() -> Path:
    """State of the running cluster (certs, etcd data, logs, kubeconfig): ``NTA_K8S_STATE`` or the XDG state dir."""
    override = os.environ.get("NTA_K8S_STATE", "").strip()
    return Path(override) if override else Path.home() / ".local" / "state" / "nta-dev" / "cluster"


def kubeconfig_path() -> Path:
    return state_dir() / "kubeconfig"

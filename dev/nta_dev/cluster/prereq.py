"""Prerequisite checks and the one subprocess helper of the cluster package; every failure names the fix."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..errors import ToolkitError
from ..tools import port_in_use

log = logging.getLogger(__name__)
APT_LOCK_WAIT = ["-o", "DPkg::Lock::Timeout=600"]  # other helpers may be installing packages at the same time


def run(cmd: Sequence[str], cwd: str | Path | None = None, env: dict[str, str] | None = None) -> None:
    """Run ``cmd`` with its output streaming to ours; raise naming the command when it fails."""
    try:
        result = subprocess.run(list(cmd), cwd=cwd, env=env)
    except FileNotFoundError as exc:
        raise ToolkitError(f"{cmd[0]} not found (needed for `{' '.join(cmd)}`): install it and retry") from exc
    if result.returncode != 0:
        raise ToolkitError(f"`{' '.join(cmd)}` failed with exit code {result.returncode} (output above)")


def require_root(to_do: str) -> None:
    if os.geteuid() != 0:
        raise ToolkitError(f"root is needed to {to_do}: the kubelet mounts volumes and manages cgroups; "
                           "run as root (e.g. `sudo -E ./inv cluster-local`) or use docker-desktop/kind instead")


def require_ports_free(ports: dict[int, str]) -> None:
    """Fail naming every taken port and what the cluster needs it for."""
    taken = [f"{port} ({what})" for port, what in ports.items() if port_in_use(port, "0.0.0.0")]
    if taken:
        raise ToolkitError(f"port(s) already in use: {', '.join(taken)}; stop whatever listens there "
                           "(`ss -ltnp | grep PORT`) or an old cluster (`./inv cluster-local --down`) and retry")


def udp_port_free(port: int, host: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def install_packages(needed: dict[str, str]) -> None:
    """Install the Debian package of each command (command -> package) that is not on PATH."""
    missing = sorted({pkg for cmd, pkg in needed.items() if shutil.which(cmd) is None})
    if not missing:
        return
    require_root(f"install the packages {', '.join(missing)} with apt-get")
    log.info("installing %s", " ".join(missing))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        run(["apt-get", *APT_LOCK_WAIT, "install", "-y", "--no-install-recommends", *missing], env=env)
    except ToolkitError:
        run(["apt-get", *APT_LOCK_WAIT, "update"], env=env)  # a fresh machine may have no package lists yet
        run(["apt-get", *APT_LOCK_WAIT, "install", "-y", "--no-install-recommends", *missing], env=env)

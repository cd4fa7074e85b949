"""External command-line tools the tasks call: find them on PATH, or fail with the install hint (ctlptl style)."""

from __future__ import annotations

import os
import shutil
import socket

from .errors import ToolkitError

# Shown when a tool is missing; each names the fix, not just the problem.
INSTALL_HINTS = {
    "kubectl": "install kubectl >= 1.27 (kustomize is built in): https://kubernetes.io/docs/tasks/tools/ "
    "(or set KUBECTL=/path/to/kubectl)",
    "docker": "install Docker (Docker Desktop, or `apt-get install docker.io`) and start its daemon",
    "tilt": "`./inv tools` builds the pinned Tilt from source with Go (or https://docs.tilt.dev/install.html); "
    "optional: `./inv up` runs the local stack without it",
    "minikube": "install minikube: https://minikube.sigs.k8s.io/docs/start/",
    "kustomize": "kubectl >= 1.14 has kustomize built in (`kubectl kustomize`); or install it from "
    "https://kubectl.docs.kubernetes.io/installation/kustomize/",
}


class MissingTool(ToolkitError):
    """A required tool is not on PATH."""

    def __init__(self, tool: str, needed_for: str) -> None:
        self.tool = tool
        hint = INSTALL_HINTS.get(tool, f"install {tool} and put it on PATH")
        super().__init__(f"{tool} not found on PATH (needed to {needed_for}): {hint}")


def find(tool: str) -> str | None:
    """Absolute path of ``tool``: the env override (``KUBECTL=...``) first, then PATH, then what `./inv tools`
    built into the toolkit's cache (Tilt); None if absent."""
    override = os.environ.get(tool.upper().replace("-", "_"), "").strip()
    if override and os.access(override, os.X_OK):
        return override
    found = shutil.which(tool)
    if found is None and tool == "tilt":
        from .tilt.install import cached_binary

        built = cached_binary()
        found = str(built) if built else None
    return found


def require(tool: str, needed_for: str) -> str:
    """Like :func:`find`, but raise :class:`MissingTool` (with the install hint) when the tool is absent."""
    path = find(tool)
    if path is None:
        raise MissingTool(tool, needed_for)
    return path


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        # SO_REUSEADDR ignores TIME_WAIT leftovers; a live listener still makes bind fail.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False

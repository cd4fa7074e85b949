"""Logs of one service of the stack (`./inv logs SERVICE`), from all of its pods."""

from __future__ import annotations

from ..errors import ToolkitError
from .context import Kubectl

# service name -> the app.kubernetes.io/name label its pods carry (k8s/base)
SERVICES = {
    "nginx": "nta-nginx",
    "django": "nta-django",
    "flask": "nta-flask",
    "dask-scheduler": "nta-dask-scheduler",
    "dask-worker": "nta-dask-worker",
    "mongodb": "nta-mongodb",
}
ALIASES = {"scheduler": "dask-scheduler", "worker": "dask-worker", "mongo": "mongodb", "web": "django", "api": "flask"}


def label_for(service: str) -> str:
    key = service.removeprefix("nta-")
    key = ALIASES.get(key, key)
    if key not in SERVICES:
        raise ToolkitError(f"unknown service {service!r}; choose one of: {', '.join(SERVICES)}")
    return SERVICES[key]


def logs_args(service: str, namespace: str, follow: bool = False, tail: int = 200) -> list[str]:
    # A label selector rather than deploy/NAME: every worker replica's log, each line prefixed with its pod.
    args = ["logs", "-n", namespace, "-l", f"app.kubernetes.io/name={label_for(service)}", "--all-containers",
            "--prefix", f"--tail={tail}", "--max-log-requests=20"]  # fmt: skip
    return [*args, "--follow"] if follow else args


def show_logs(kubectl: Kubectl, service: str, namespace: str, follow: bool = False, tail: int = 200) -> None:
    result = kubectl.run(*logs_args(service, namespace, follow, tail), warn=True)
    if result.exited != 0:
        raise ToolkitError(f"`kubectl logs` failed (exit {result.exited}); `./inv status` shows whether "
                           f"{service} has pods on {kubectl.context.name}")  # fmt: skip

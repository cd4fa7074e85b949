"""dev/services.yaml: the service facts shared with the Tiltfile (read there with read_yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

SERVICES_YAML = Path(__file__).resolve().parents[1] / "services.yaml"


@cache
def _facts() -> dict:
    return yaml.safe_load(SERVICES_YAML.read_text())


def debug_ports() -> dict[str, int]:
    """Service -> the port its debugger listens on (`--debug SERVICE`)."""
    return {name: int(spec["port"]) for name, spec in _facts()["debug"].items()}


def health_paths() -> dict[str, str]:
    """Service (nginx, django, flask, dask) -> the path that answers when it is ready, through nginx."""
    return dict(_facts()["health"])

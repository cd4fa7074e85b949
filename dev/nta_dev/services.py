"""dev/services.yaml: the service facts shared with the Tiltfile (read there with read_yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

SERVICES_YAML = Path(__file__).resolve().parents[1] / "services.yaml"


@cache
def debug_ports() -> dict[str, int]:
    """Service -> the port its debugger listens on (`--debug SERVICE`)."""
    return {name: int(spec["port"]) for name, spec in yaml.safe_load(SERVICES_YAML.read_text())["debug"].items()}

"""Reading the stack's state on the local cluster: pods, readiness, HTTP through the NodePort."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import datetime
from typing import Any

import pytest

from .conftest import Kubectl

NAMESPACE = "nta"
NODE_PORT = "http://127.0.0.1:31000"


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.read().decode()


def items(kubectl: Kubectl, *what: str) -> list[dict[str, Any]]:
    return json.loads(kubectl("-n", NAMESPACE, "get", *what, "-o", "json").stdout)["items"]


def timestamp(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def ready(pod: dict[str, Any]) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def wait_all_ready(kubectl: Kubectl, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not ((pods := items(kubectl, "pods")) and all(ready(p) for p in pods)):
        if time.monotonic() > deadline:
            described = kubectl("-n", NAMESPACE, "get", "pods,events", check=False).stdout
            pytest.fail(f"pods not Ready within {timeout:g} s:\n{described}", pytrace=False)
        time.sleep(0.5)


def pod_states(kubectl: Kubectl) -> dict[str, int]:
    """{pod name: restarts of its containers} of the pods not being deleted."""
    return {p["metadata"]["name"]: sum(s.get("restartCount", 0) for s in p["status"].get("containerStatuses", []))
            for p in items(kubectl, "pods") if not p["metadata"].get("deletionTimestamp")}  # fmt: skip

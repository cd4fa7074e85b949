"""The cluster layer runs after every other layer (CI builds its Kubernetes in the background meanwhile)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_cluster_tests_are_collected_last_even_when_named_first() -> None:
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "tests/cluster/test_cluster.py", "tests/unit/test_inbox.py"],
                          cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    assert proc.returncode == 0 and ids, proc.stdout + proc.stderr
    layers = [line.split("/")[1] for line in ids]
    first_cluster = layers.index("cluster")
    assert "unit" in layers[:first_cluster] and set(layers[first_cluster:]) == {"cluster"}, layers

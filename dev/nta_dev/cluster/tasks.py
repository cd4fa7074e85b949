"""Run the repository's invoke tasks (`./inv ...`) against the local cluster, as a developer types them.

Used by tests/cluster and benchmarks/bench_cluster.py: the real task, through the venv's `inv`, with KUBECONFIG
pointing at the cluster's kubeconfig (current context nta-local).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from .paths import kubeconfig_path

REPO = Path(__file__).resolve().parents[3]
INV = Path(sys.executable).with_name("inv")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_task(*args: str, kubeconfig: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """`./inv ARGS` (without the venv bootstrap); ``stdout`` holds stdout and stderr without colour codes.

    NTA_MONGO_URL is dropped: with it `seed` would load a local MongoDB instead of the cluster's.
    """
    if not INV.is_file():
        raise FileNotFoundError(f"{INV} not found: run `./inv --list` once to create the venv with invoke")
    env = {k: v for k, v in os.environ.items() if k != "NTA_MONGO_URL"}
    env.update(KUBECONFIG=str(kubeconfig or kubeconfig_path()), PATH=f"{INV.parent}{os.pathsep}{env.get('PATH', '')}")
    proc = subprocess.run([str(INV), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    proc.stdout = ANSI.sub("", proc.stdout + proc.stderr)
    return proc

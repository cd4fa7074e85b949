"""`down()` leaves no process, pod container or mount behind; `up()` then starts a working cluster again."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from nta_dev.cluster import Cluster, down, running_pids, state_dir, up
from nta_dev.cluster.paths import bin_dir
from nta_dev.cluster.runtime import mounts_under

from .conftest import Kubectl


def processes_mentioning(*needles: str) -> list[str]:
    """Command lines of live processes that name any of ``needles`` (the state dir, the binary cache)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(n in args for n in needles) and "pytest" not in args:
            found.append(args)
    return found


def test_down_leaves_nothing_and_up_starts_again(cluster: Cluster, kubectl: Kubectl) -> None:
    assert running_pids()  # precondition: the session's cluster is up
    down()
    assert running_pids() == {}
    assert processes_mentioning(str(state_dir()), str(bin_dir())) == []
    assert mounts_under(state_dir()) == []
    containers = subprocess.run(["docker", "ps", "-aq", "--filter", "name=^k8s_"], capture_output=True, text=True)
    assert containers.stdout.split() == []
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert [line for line in rules.splitlines() if "KUBE-" in line] == []

    started = time.monotonic()
    again = up()
    print(f"cluster restart: node Ready in {time.monotonic() - started:.1f} s ({again.timings})")
    assert again.kubeconfig == cluster.kubeconfig
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert {c["type"]: c["status"] for c in nodes[0]["status"]["conditions"]}["Ready"] == "True"

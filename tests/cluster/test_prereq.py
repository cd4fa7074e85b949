"""Prerequisite checks and the runc wrapper, without a cluster."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from nta_dev.cluster.dockerd import WRAPPER, negative_oom_denied
from nta_dev.cluster.prereq import require_ports_free
from nta_dev.errors import ToolkitError
from tests.fixtures.require import unavailable


def test_a_taken_port_is_named_with_its_use() -> None:
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ToolkitError, match=f"{port} \\(kube-apiserver\\)"):
            require_ports_free({port: "kube-apiserver"})
    require_ports_free({port: "kube-apiserver"})  # free again once closed


def write_bundle(tmp_path: Path, oom: int) -> Path:
    (tmp_path / "config.json").write_text(json.dumps({"ociVersion": "1.0.2", "process": {"oomScoreAdj": oom}}))
    return tmp_path / "config.json"


@pytest.mark.parametrize(("given", "expected"), [(-998, 0), (-1, 0), (0, 0), (500, 500)])
def test_runc_wrapper_clamps_negative_oom_score_adj(tmp_path: Path, given: int, expected: int) -> None:
    config = write_bundle(tmp_path, given)
    env = {**os.environ, "NTA_REAL_RUNC": "/bin/echo"}  # the real runc would start a container
    out = subprocess.run([str(WRAPPER), "--root", "/x", "create", "--bundle", str(tmp_path), "cid"], env=env,
                         capture_output=True, text=True, check=True)
    assert json.loads(config.read_text())["process"]["oomScoreAdj"] == expected
    assert out.stdout.split() == ["--root", "/x", "create", "--bundle", str(tmp_path), "cid"]  # args passed on


def test_runc_wrapper_leaves_other_commands_alone(tmp_path: Path) -> None:
    config = write_bundle(tmp_path, -998)
    env = {**os.environ, "NTA_REAL_RUNC": "/bin/true"}
    subprocess.run([str(WRAPPER), "state", "cid"], env=env, check=True, cwd=tmp_path)
    assert json.loads(config.read_text())["process"]["oomScoreAdj"] == -998


def test_oom_probe_matches_the_kernel() -> None:
    # Independent check: a child that lowers its own score (needs root for negative values).
    if os.geteuid() != 0:
        unavailable("only root may lower oom_score_adj")
    lower = "import os; os.write(os.open('/proc/self/oom_score_adj', os.O_WRONLY), b'-5')"  # unbuffered: errors show
    child = subprocess.run(["python3", "-c", lower], capture_output=True)
    assert negative_oom_denied() == (child.returncode != 0)


def test_up_names_the_taken_ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        unavailable("up() checks for root before ports")
    from nta_dev.cluster import up
    from nta_dev.tools import port_in_use

    monkeypatch.setenv("NTA_K8S_STATE", str(tmp_path))  # no cluster recorded here, whatever runs elsewhere
    with socket.socket() as sock:
        if not port_in_use(6443, "0.0.0.0"):  # taken either by a running cluster or by us
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("0.0.0.0", 6443))
            sock.listen()
        with pytest.raises(ToolkitError, match=r"6443 \(kube-apiserver\).*cluster-local --down"):
            up()
    assert not (tmp_path / "pids").exists()  # refused before starting anything


def test_up_as_non_root_says_root_is_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # An unprivileged user cannot run this venv's interpreter here (it lives under /root), so the uid is faked.
    from nta_dev.cluster import up

    monkeypatch.setenv("NTA_K8S_STATE", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(ToolkitError, match="root is needed to run a kubelet.*sudo"):
        up()
    assert list(tmp_path.iterdir()) == []

"""The tasks' safety rules on a real API server: a second, non-local context is never touched unless named.

The kubeconfig holds the local cluster's context (nta-local) and `prod-eks`, whose server is an HTTP listener of
this test that records every request it gets. The real `./inv` tasks run against it as a developer would.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from nta_dev.cluster import CONTEXT, Cluster

from .conftest import run_inv

REMOTE = "prod-eks"


class Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[tuple[str, str]] = []

    def _record(self) -> None:
        self.requests.append((self.command, self.path))
        self.send_response(503)  # whatever it answers, a request that got here already touched "production"
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _record

    def log_message(self, format: str, *args: object) -> None:  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def listener() -> Iterator[list[tuple[str, str]]]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Recorder.requests = []
    yield server.server_address[1], Recorder.requests  # type: ignore[misc]
    server.shutdown()
    server.server_close()


def kubeconfig_with_remote(cluster: Cluster, port: int, current: str, path: Path) -> Path:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["clusters"].append({"name": REMOTE, "cluster": {"server": f"http://127.0.0.1:{port}"}})
    config["users"].append({"name": REMOTE, "user": {"token": "not-a-real-token"}})
    config["contexts"].append({"name": REMOTE, "context": {"cluster": REMOTE, "user": REMOTE}})
    config["current-context"] = current
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("args", [
    ("apply", "--overlay", "cluster-local"),
    ("down", "--overlay", "cluster-local"),
    ("seed",),
    ("apply", "--overlay", "cluster-local", "--context", REMOTE),
    ("down", "--overlay", "cluster-local", "--purge", "--context", REMOTE),
])  # fmt: skip
def test_changes_to_a_remote_context_are_refused_before_any_request(
        cluster: Cluster, listener, tmp_path: Path, args: tuple[str, ...]) -> None:  # fmt: skip
    port, received = listener
    received.clear()
    kubeconfig = kubeconfig_with_remote(cluster, port, REMOTE, tmp_path / "kubeconfig")
    proc = run_inv(kubeconfig, *args, timeout=60)
    assert proc.returncode != 0, proc.stdout
    assert "refusing to" in proc.stdout and REMOTE in proc.stdout, proc.stdout
    assert f"--context {REMOTE} --yes" in proc.stdout, proc.stdout  # the message names the way to confirm
    assert received == []


def test_the_local_cluster_is_used_when_named_and_the_remote_never(cluster: Cluster, listener,
                                                                   tmp_path: Path) -> None:  # fmt: skip
    port, received = listener
    received.clear()
    kubeconfig = kubeconfig_with_remote(cluster, port, REMOTE, tmp_path / "kubeconfig")
    proc = run_inv(kubeconfig, "status", "--context", CONTEXT, timeout=60)
    assert proc.returncode == 0, proc.stdout
    assert f"--context {CONTEXT} get" in proc.stdout  # the task named the context on its kubectl call
    assert received == []


def test_status_reads_the_current_local_context_and_only_reads_a_named_remote(cluster: Cluster, listener,
                                                                             tmp_path: Path) -> None:  # fmt: skip
    port, received = listener
    received.clear()
    kubeconfig = kubeconfig_with_remote(cluster, port, CONTEXT, tmp_path / "kubeconfig")
    assert run_inv(kubeconfig, "status", timeout=60).returncode == 0
    assert received == []
    # Reading a named remote is allowed (read-only tasks need no --yes): it gets requests, and only reads.
    run_inv(kubeconfig, "status", "--context", REMOTE, timeout=60)
    assert received, "status --context prod-eks did not reach the named context"
    assert {method for method, _ in received} == {"GET"}, received

"""Reach the stack on a cluster from this machine: HTTP through the NodePort, the Dask scheduler through a
`kubectl port-forward`. Gives nta_dev.reload probes for every service (tests/cluster, bench_reload --level tilt)."""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

from ..errors import ToolkitError
from ..reload import HTTP_SERVICES, Probe, dask_probe, http_probe

NAMESPACE = "nta"
NODE_PORT_URL = "http://127.0.0.1:31000"
SCHEDULER = ("service/nta-dask-scheduler", 8786)


@contextlib.contextmanager
def port_forward(kubeconfig: Path, context: str, resource: str, port: int, namespace: str = NAMESPACE,
                 timeout: float = 30) -> Iterator[int]:  # fmt: skip
    """``kubectl port-forward RESOURCE :PORT``; yields the local port, stops the forward afterwards."""
    argv = ["kubectl", f"--kubeconfig={kubeconfig}", f"--context={context}", "-n", namespace, "port-forward",
            resource, f":{port}"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + timeout
        line, found = "", None
        while time.monotonic() < deadline and proc.stdout is not None:
            line = proc.stdout.readline()
            if found := re.search(r"Forwarding from 127\.0\.0\.1:(\d+)", line):
                yield int(found.group(1))
                break
            if not line and proc.poll() is not None:
                break
        else:
            line = "(timed out)"
        if not found:
            err = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
            raise ToolkitError(f"`kubectl port-forward {resource} :{port}` did not start: {line}{err}; "
                               "kubectl port-forward needs socat on the node")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def stack_probes(kubeconfig: Path, context: str, base_url: str = NODE_PORT_URL) -> Iterator[dict[str, Probe]]:
    """{service: probe} for every nta_dev.reload.EDITS service: HTTP through the NodePort; the worker through a
    port-forward to the scheduler (a task run on a worker reports the code it has)."""
    from distributed.versions import VersionMismatchWarning

    with port_forward(kubeconfig, context, *SCHEDULER) as port:
        with warnings.catch_warnings():
            # the image's Python may differ from the venv's in the patch level only; the tasks are plain eval()s
            warnings.simplefilter("ignore", VersionMismatchWarning)
            worker, close = dask_probe(f"tcp://127.0.0.1:{port}")
        try:
            yield {**{s: http_probe(base_url, s) for s in HTTP_SERVICES}, "worker": worker}
        finally:
            close()

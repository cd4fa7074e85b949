"""Live update into the pods of a cluster, the way Tilt's live_update does it on Kubernetes.

For every running container whose image has a live_update in the Tiltfile (rules read by nta_dev.livesync, one
table for containers and pods), changed files are mapped to container paths by its sync() pairs, streamed as a tar
archive into ``kubectl exec -i POD -c CONTAINER -- tar -C / -x -f -`` and followed by the run() steps they trigger
(``kubectl exec ... -- sh -c CMD``). No image is built and no pod is replaced: the process in the pod picks the
change up itself (gunicorn --reload, watchmedo around the Dask worker, nta-nginx-reload for nginx).

``bench_cluster_reload(repeat)`` prints the "cluster" rows of benchmarks/bench_reload.py: the stack must already
be deployed on the local cluster (`./inv cluster-local`, `./inv apply --overlay cluster-local`).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolkitError
from ..livesync import LiveSyncError, LiveUpdate, NeedsRebuild, tilt_rules
from ..reload import EDITS, Deliver, Probe, ReloadTimeout, dask_probe, http_probe, measure, percentiles, tar_stream
from .paths import kubeconfig_path
from .pki import CONTEXT

REPO = Path(__file__).resolve().parents[3]
NAMESPACE = "nta"
NODE_PORT_URL = "http://127.0.0.1:31000"
SCHEDULER_SERVICE = "service/nta-dask-scheduler"
SCHEDULER_PORT = 8786
BENCH_SERVICES = ("django", "flask", "worker", "nginx")


@dataclass(frozen=True)
class PodContainer:
    pod: str
    container: str
    image: str  # the docker_build name: `nta-dask:dev` -> `nta-dask`
    restarts: int


def image_name(ref: str) -> str:
    return ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref


class PodSync:
    """kubectl against one context and namespace; delivers files into the pods running there."""

    def __init__(self, kubeconfig: Path | None = None, context: str = CONTEXT, namespace: str = NAMESPACE) -> None:
        self.base = ["kubectl", f"--kubeconfig={kubeconfig or kubeconfig_path()}", f"--context={context}",
                     "-n", namespace]  # fmt: skip
        self.rules = tilt_rules()
        self._mtimes: dict[str, int] = {}
        self._lock = threading.Lock()

    def kubectl(self, *args: str, input: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([*self.base, *args], input=input, capture_output=True, timeout=timeout)

    def containers(self) -> list[PodContainer]:
        """Containers of the Running pods that are not being deleted (Tilt syncs only into those)."""
        proc = self.kubectl("get", "pods", "-o", "json")
        if proc.returncode != 0:
            raise ToolkitError(f"`kubectl get pods` failed: {proc.stderr.decode().strip()}; is the cluster up? "
                               "`./inv status`")  # fmt: skip
        found = []
        for pod in json.loads(proc.stdout)["items"]:
            if pod["status"].get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
                continue
            restarts = {s["name"]: s.get("restartCount", 0) for s in pod["status"].get("containerStatuses", [])}
            for c in pod["spec"]["containers"]:
                found.append(PodContainer(pod["metadata"]["name"], c["name"], image_name(c["image"]),
                                          restarts.get(c["name"], 0)))  # fmt: skip
        return found

    def _exec(self, target: PodContainer, cmd: list[str], stdin: bytes | None = None) -> None:
        args = ["exec", *(["-i"] if stdin is not None else []), target.pod, "-c", target.container, "--", *cmd]
        proc = self.kubectl(*args, input=stdin)
        if proc.returncode != 0:
            output = (proc.stderr + proc.stdout).decode(errors="replace").strip()
            raise LiveSyncError(f"live update of pod {target.pod}: `{' '.join(cmd)}` exited with {proc.returncode}:"
                                f"\n{output or '(no output)'}")  # fmt: skip

    def live_update(self, target: PodContainer, files: dict[str, bytes], rules: LiveUpdate) -> list[str]:
        """Sync {repo path: content} into one container, then its triggered run() steps; returns the paths written."""
        files = {p: data for p, data in files.items() if rules.concerns(p)}
        if not files:
            return []
        archive = {rules.container_path(p): data for p, data in files.items()}
        self._exec(target, ["tar", "-C", "/", "-x", "-f", "-"], tar_stream(archive))
        for command in rules.triggered(files):
            self._exec(target, ["sh", "-c", command])
        return list(archive)

    def _advance_mtime(self, path: str) -> None:
        # tar keeps the archive's whole-second mtime; a reloader that polls mtimes misses a second write within
        # the same second (as it would an editor saving twice in a second), so wait for the next second.
        with self._lock:
            while int(time.time()) <= self._mtimes.get(path, -1):
                time.sleep(0.02)
            self._mtimes[path] = int(time.time())

    def deliver(self, targets: list[PodContainer] | None = None) -> Deliver:
        """A nta_dev.reload Deliver: every given (default: every running) container whose image's build context
        has the file gets it, in parallel, as Tilt updates the containers of several resources at once."""
        chosen = [(t, self.rules[t.image]) for t in (targets or self.containers()) if t.image in self.rules]

        def deliver(path: str, content: bytes) -> None:
            self._advance_mtime(path)
            concerned = [(t, r) for t, r in chosen if r.concerns(path)]
            if not concerned:
                raise NeedsRebuild(f"{path} is in no running pod's build context: nothing to sync")
            with ThreadPoolExecutor(len(concerned)) as pool:
                list(pool.map(lambda tr: self.live_update(tr[0], {path: content}, tr[1]), concerned))

        return deliver

    @contextlib.contextmanager
    def port_forward(self, resource: str, port: int, timeout: float = 30) -> Iterator[int]:
        """``kubectl port-forward RESOURCE :PORT``; yields the local port, stops the forward afterwards."""
        proc = subprocess.Popen([*self.base, "port-forward", resource, f":{port}"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
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


def restore(edit_path: str, original: bytes, deliver: Deliver, probe: Probe, token: str, timeout: float = 60) -> None:
    """Deliver the original file back and wait until the service answers without ``token`` again."""
    deliver(edit_path, original)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe("") and not probe(token):  # answers at all, and no longer with the edit
            return
        time.sleep(0.05)
    raise ReloadTimeout(f"{edit_path}: the original was not served again after {timeout:g} s")


@contextlib.contextmanager
def probes(sync: PodSync, base_url: str = NODE_PORT_URL) -> Iterator[dict[str, Probe]]:
    """{service: probe}: HTTP through the NodePort; the worker through a port-forward to the scheduler."""
    from distributed.versions import VersionMismatchWarning

    with sync.port_forward(SCHEDULER_SERVICE, SCHEDULER_PORT) as port:
        with warnings.catch_warnings():
            # the image's Python may differ from the venv's in the patch level only; the tasks are plain eval()s
            warnings.simplefilter("ignore", VersionMismatchWarning)
            worker, close = dask_probe(f"tcp://127.0.0.1:{port}")
        try:
            yield {**{s: http_probe(base_url, s) for s in ("django", "flask", "nginx")}, "worker": worker}
        finally:
            close()


def measure_cluster(sync: PodSync, service: str, probe: Probe, repeat: int) -> list[float]:
    """Seconds from the tar stream to the change being served, ``repeat`` times; the original file is back after."""
    edit = EDITS[service]
    original = (REPO / edit.path).read_text()
    deliver = sync.deliver()
    sent: list[bytes] = []

    def recording(path: str, content: bytes) -> None:
        sent.append(content)
        deliver(path, content)

    samples = []
    try:
        for _ in range(repeat):
            samples.append(measure(edit, original, recording, probe, timeout=60))
    finally:
        if sent:
            restore(edit.path, original.encode(), deliver, probe, last_token(sent[-1].decode(), original))
    return samples


def last_token(edited: str, original: str) -> str:
    """The token nta_dev.reload.measure put into ``edited`` (``r`` + 10 hex digits, absent from the original)."""
    tokens = set(re.findall(r"r[0-9a-f]{10}", edited)) - set(re.findall(r"r[0-9a-f]{10}", original))
    if len(tokens) != 1:
        raise AssertionError(f"cannot tell the reload token in the edited file: {sorted(tokens)}")
    return tokens.pop()


def bench_cluster_reload(repeat: int = 5) -> None:
    """Print `cluster  SERVICE  p50 ... p90 ...` per service; the stack must be deployed on the local cluster."""
    sync = PodSync()
    before = {(t.pod, t.container): t.restarts for t in sync.containers()}
    if not before:
        raise SystemExit("no pods in namespace nta on the local cluster: `./inv cluster-local`, then "
                         "`./inv apply --overlay cluster-local`")  # fmt: skip
    with probes(sync) as by_service:
        for service in BENCH_SERVICES:
            samples = measure_cluster(sync, service, by_service[service], repeat)
            print(f"cluster     {service:<7} {percentiles(samples)}", flush=True)
    after = {(t.pod, t.container): t.restarts for t in sync.containers()}
    if after != before:
        print(f"warning: pods changed or restarted during the benchmark: {before} -> {after}")

"""Start and stop the single-node cluster: a local image registry, etcd, control plane, kubelet on the local Docker
engine, kube-proxy.

Every process runs in its own session with its log under ``<state>/logs`` and its pid under ``<state>/pids``;
``down()`` stops them in reverse dependency order and leaves no process, container or mount behind.
The flags are the ones measured to work on the build machines (docs/architecture.md#a-local-kubernetes-cluster).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ToolkitError
from . import cridockerd, registry
from .build import build_binaries, build_pause_image
from .commands import CLUSTER_DOMAIN, SERVICE_IP, Layout, command_lines
from .dockerd import ensure_dockerd
from .iptables import remove_kube_chains
from .kubeapi import KubeApi
from .kubelet_config import KubeletSettings, write_kubelet_config
from .paths import bin_dir, kubeconfig_path, state_dir
from .pki import CONTEXT, ensure_pki, write_kubeconfig
from .prereq import install_packages, require_ports_free, require_root, udp_port_free
from .releases import release

log = logging.getLogger(__name__)

NODE_READY_TIMEOUT = 120
# Started in this order, stopped in reverse: the kubelet before the control plane
# (docs/architecture.md#a-local-kubernetes-cluster).
COMPONENTS = ("registry", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "agent",
              "cri-dockerd", "kubelet", "kube-proxy")
PORTS = {registry.PORT: "registry", 2379: "etcd", 2380: "etcd peer", 6443: "kube-apiserver",
         10257: "kube-controller-manager", 10259: "kube-scheduler", 10250: "kubelet", 10248: "kubelet healthz",
         10249: "kube-proxy metrics", 10256: "kube-proxy healthz"}
# command -> Debian package; etcd is built with the release, gcc compiles the pause image.
RUNTIME_PACKAGES = {"socat": "socat", "conntrack": "conntrack", "iptables": "iptables", "openssl": "openssl",
                    "docker-registry": "docker-registry", "gcc": "gcc"}


@dataclass
class Cluster:
    """A running cluster: its kubeconfig, and how long the start took in seconds: ``prepare`` (checks, build or
    cache, dockerd, pause image), then ``apiserver`` and ``node_ready`` counted from etcd's start, and ``total``.
    Empty timings when ``up()`` found the cluster already running."""

    kubeconfig: Path
    context: str = CONTEXT
    timings: dict[str, float] = field(default_factory=dict)
    version: str = ""


def _bridge_gateway() -> str:
    """The docker0 address: pods (on the default bridge, no CNI) reach host services such as the DNS there."""
    out = subprocess.run(["docker", "network", "inspect", "bridge", "--format",
                          "{{range .IPAM.Config}}{{.Gateway}}{{end}}"], capture_output=True, text=True)
    gateway = out.stdout.strip()
    if not gateway:
        addr = subprocess.run(["ip", "-4", "-o", "addr", "show", "docker0"], capture_output=True, text=True).stdout
        gateway = addr.split("inet ", 1)[1].split("/", 1)[0] if "inet " in addr else ""
    if not gateway:
        raise ToolkitError("cannot find the docker bridge address (docker0): is the Docker engine a local dockerd "
                           "with its default bridge network? (`docker network inspect bridge`)")
    return gateway


def _pid_file(name: str) -> Path:
    return state_dir() / "pids" / f"{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie of ours counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ", 1)[-1].startswith("Z"))


def running_pids() -> dict[str, int]:
    """Component -> pid, for every recorded process still alive."""
    pids = {}
    for name in COMPONENTS:
        path = _pid_file(name)
        if path.exists():
            pid = int(path.read_text().strip() or 0)
            if pid and _alive(pid):
                pids[name] = pid
    return pids


def _start(name: str, cmd: list[str], logs: Path) -> subprocess.Popen:
    log_file = logs / f"{name}.log"
    with open(log_file, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    _pid_file(name).write_text(f"{proc.pid}\n")
    return proc


def log_tail(name: str, lines: int = 15) -> str:
    path = state_dir() / "logs" / f"{name}.log"
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _wait(what: str, check: Callable[[], bool], timeout: float, component: str,
          procs: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise ToolkitError(f"{name} exited with code {proc.returncode} while waiting for {what}; "
                                   f"last lines of {state_dir() / 'logs' / (name + '.log')}:\n{log_tail(name)}")
        if check():
            return
        time.sleep(0.5)
    raise ToolkitError(f"timed out after {timeout:.0f} s waiting for {what}; last lines of "
                       f"{state_dir() / 'logs' / (component + '.log')}:\n{log_tail(component)}")


def _node_ready(api: KubeApi) -> bool:
    try:
        nodes = api.get("/api/v1/nodes")["items"]
    except OSError:
        return False
    return any(c["type"] == "Ready" and c["status"] == "True"
               for node in nodes for c in node.get("status", {}).get("conditions", []))


STORAGE_CLASS = {
    "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
    "metadata": {"name": "hostpath", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
    "provisioner": "nta.local/hostpath", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}


def components(version: str | None = None) -> tuple[str, ...]:
    """The processes a cluster of this release runs (the same for every release in ``releases``)."""
    release(version)  # an unknown version fails here, naming the known ones
    return COMPONENTS


def running_version() -> str | None:
    """The release of the cluster recorded in the state dir (None when none was started there)."""
    path = state_dir() / "version"
    return path.read_text().strip() or None if path.exists() else None


def _wait_socket(path: Path) -> Callable[[], bool]:
    def check() -> bool:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(path))
            return True
        return False

    return check


def up(timeout: float = NODE_READY_TIMEOUT, merge_kubeconfig: bool = False, allow_docker_restart: bool = False,
       version: str | None = None) -> Cluster:
    """Start the cluster (building binaries and the pause image on first use) and wait for the node to be Ready.

    ``version`` (else ``NTA_K8S_VERSION``, else the default) picks the release (``releases``).
    """
    rel = release(version)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    require_root("run a kubelet (it mounts volumes and manages cgroups)")
    if running := running_pids():
        recorded = running_version()
        if set(running) == set(COMPONENTS) and recorded == rel.version:
            log.info("the local cluster %s is already running (%s)", rel.version, kubeconfig_path())
            return Cluster(kubeconfig_path(), version=rel.version)
        log.warning("another or a partial cluster is running (%s, version %s): stopping it first",
                    ", ".join(running), recorded or "unknown")
        down()
    require_ports_free(PORTS)
    install_packages(RUNTIME_PACKAGES)
    binaries = build_binaries(rel.version)
    info = ensure_dockerd(allow_restart=allow_docker_restart)
    build_pause_image(rel.version)
    timings["prepare"] = time.monotonic() - t0

    state = state_dir()
    for sub in ("logs", "pids", "etcd", "kubelet", "volumes", "manifests"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    (state / "version").write_text(rel.version + "\n")
    logs = state / "logs"
    pki = ensure_pki(state / "pki", SERVICE_IP)
    kubeconfig = write_kubeconfig(kubeconfig_path(), pki)
    gateway = _bridge_gateway()
    if not udp_port_free(53, gateway):
        raise ToolkitError(f"UDP port 53 on {gateway} (docker0) is taken; the cluster DNS serves pods there: "
                           "stop the DNS server listening on it (`ss -lunp | grep :53`) and retry")
    api = KubeApi(pki)
    lay = Layout(rel, state, pki, binaries, kubeconfig, node=os.uname().nodename.lower(), gateway=gateway,
                 bridge_subnet=_bridge_subnet(), cgroup_driver=info.get("CgroupDriver", "cgroupfs"),
                 python=sys.executable)
    write_kubelet_config(lay.kubelet_config_file, KubeletSettings(
        runtime_endpoint=cridockerd.endpoint(state), client_ca=pki.ca_crt, cluster_dns=gateway,
        static_pods=state / "manifests", cgroup_driver=lay.cgroup_driver, cluster_domain=CLUSTER_DOMAIN))
    argv = command_lines(lay)
    procs: dict[str, subprocess.Popen] = {}
    try:
        t = time.monotonic()
        procs["registry"] = _start("registry", registry.command(state), logs)
        for name in ("etcd", "kube-apiserver"):
            procs[name] = _start(name, argv[name], logs)
        _wait("the apiserver (/readyz)", api.healthy, 60, "kube-apiserver", procs)
        timings["apiserver"] = time.monotonic() - t
        for name in ("kube-controller-manager", "kube-scheduler", "agent"):
            procs[name] = _start(name, argv[name], logs)
        cridockerd.socket_path(state).unlink(missing_ok=True)
        procs["cri-dockerd"] = _start("cri-dockerd", argv["cri-dockerd"], logs)
        _wait("cri-dockerd's socket", _wait_socket(cridockerd.socket_path(state)), 30, "cri-dockerd", procs)
        for name in ("kubelet", "kube-proxy"):
            procs[name] = _start(name, argv[name], logs)
        _wait(f"node {lay.node} to be Ready", lambda: _node_ready(api), timeout, "kubelet", procs)
        try:
            api.request("POST", "/apis/storage.k8s.io/v1/storageclasses", STORAGE_CLASS)
        except OSError as exc:
            if getattr(exc, "code", None) != 409:
                raise
        _wait(f"the image registry on {registry.HOST}", registry.answering, 30, "registry", procs)
        registry.announce(api)
        timings["node_ready"] = time.monotonic() - t
    except BaseException:
        log.error("cluster start failed: stopping what was started (logs kept in %s)", logs)
        down()
        raise
    timings["total"] = time.monotonic() - t0
    if merge_kubeconfig:
        merge_into_default(kubeconfig)
    log.info("local cluster %s ready in %.1f s: export KUBECONFIG=%s (context %s)", rel.version, timings["total"],
             kubeconfig, CONTEXT)
    return Cluster(kubeconfig, timings=timings, version=rel.version)


def _bridge_subnet() -> str:
    out = subprocess.run(["docker", "network", "inspect", "bridge", "--format",
                          "{{range .IPAM.Config}}{{.Subnet}}{{end}}"], capture_output=True, text=True)
    return out.stdout.strip() or "172.17.0.0/16"


def merge_into_default(kubeconfig: Path) -> Path:
    """Merge the ``nta-local`` context into ~/.kube/config (only when asked; the current context is kept)."""
    default = Path.home() / ".kube" / "config"
    default.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "KUBECONFIG": f"{default}:{kubeconfig}" if default.exists() else str(kubeconfig)}
    merged = subprocess.run(["kubectl", "config", "view", "--flatten"], env=env, capture_output=True, text=True)
    if merged.returncode != 0:
        raise ToolkitError(f"merging {kubeconfig} into {default} failed: {merged.stderr.strip()}")
    tmp = default.with_suffix(".nta-tmp")
    tmp.write_text(merged.stdout)
    tmp.chmod(0o600)
    tmp.replace(default)
    return default


def _stop(name: str, pid: int, grace: float = 10.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)  # own session: the group holds the component and any child it forked
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        log.warning("%s (pid %d) ignored SIGTERM: killing it", name, pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap when it was our child (started in this process)


def _remove_pod_containers() -> None:
    """Containers of pods (created through cri-dockerd) are named k8s_*; nothing else on the engine is touched."""
    out = subprocess.run(["docker", "ps", "-aq", "--filter", "name=^k8s_"], capture_output=True, text=True)
    ids = out.stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True)
        log.info("removed %d pod containers", len(ids))


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root`` (from /proc/self/mountinfo; octal escapes decoded)."""
    prefix = str(root.resolve())
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].encode().decode("unicode_escape")
        if point == prefix or point.startswith(prefix + "/"):
            points.append(point)
    return points


def _unmount_all(root: Path) -> None:
    for point in sorted(mounts_under(root), key=len, reverse=True):  # deepest first
        if subprocess.run(["umount", point], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True)
    if left := mounts_under(root):
        raise ToolkitError(f"could not unmount {', '.join(left)}: unmount them by hand (`umount -l PATH`)")


def down(purge: bool = True) -> None:
    """Stop everything ``up()`` started; with ``purge`` drop etcd data, kubelet dir and volumes (not logs/pki)."""
    pids = running_pids()
    was_running = bool(pids)
    if "kubelet" in pids:
        _stop("kubelet", pids.pop("kubelet"))
    if shutil.which("docker"):
        _remove_pod_containers()
    for name in reversed(COMPONENTS):
        if name in pids:
            _stop(name, pids[name])
    state = state_dir()
    for name in COMPONENTS:
        _pid_file(name).unlink(missing_ok=True)
    proxy = bin_dir(running_version()) / "kube-proxy"
    if was_running and proxy.exists():
        # kube-proxy leaves its iptables chains (KUBE-*) behind; its own cleanup mode removes them.
        subprocess.run([str(proxy), "--cleanup"], capture_output=True)
    if was_running:
        remove_kube_chains()
    if (state / "kubelet").exists():
        _unmount_all(state / "kubelet")
    if purge:
        for sub in ("etcd", "kubelet", "volumes"):
            shutil.rmtree(state / sub, ignore_errors=True)
    log.info("local cluster stopped")

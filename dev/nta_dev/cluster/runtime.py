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
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ToolkitError
from . import registry
from .build import build_binaries, build_pause_image, install_packages
from .dockerd import ensure_dockerd
from .iptables import remove_kube_chains
from .kubeapi import KubeApi
from .paths import PAUSE_IMAGE, bin_dir, kubeconfig_path, state_dir
from .pki import CONTEXT, ensure_pki, write_kubeconfig
from .prereq import require_ports_free, require_root, udp_port_free

log = logging.getLogger(__name__)

SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # the `kubernetes` Service: first address of the range
CLUSTER_DOMAIN = "cluster.local"
NODE_READY_TIMEOUT = 120
# Started in this order, stopped in reverse: the kubelet before the control plane
# (docs/architecture.md#a-local-kubernetes-cluster).
COMPONENTS = ("registry", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "agent", "kubelet",
              "kube-proxy")
PORTS = {registry.PORT: "registry", 2379: "etcd", 2380: "etcd peer", 6443: "kube-apiserver",
         10257: "kube-controller-manager", 10259: "kube-scheduler", 10250: "kubelet", 10248: "kubelet healthz",
         10249: "kube-proxy metrics", 10256: "kube-proxy healthz"}
RUNTIME_PACKAGES = {"etcd": "etcd-server", "socat": "socat", "conntrack": "conntrack", "iptables": "iptables",
                    "openssl": "openssl", "docker-registry": "docker-registry"}


@dataclass
class Cluster:
    """A running cluster: its kubeconfig, and how long the start took in seconds: ``prepare`` (checks, build or
    cache, dockerd, pause image), then ``apiserver`` and ``node_ready`` counted from etcd's start, and ``total``.
    Empty timings when ``up()`` found the cluster already running."""

    kubeconfig: Path
    context: str = CONTEXT
    timings: dict[str, float] = field(default_factory=dict)


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


def up(timeout: float = NODE_READY_TIMEOUT, merge_kubeconfig: bool = False, allow_docker_restart: bool = False,
       ) -> Cluster:
    """Start the cluster (building binaries and the pause image on first use) and wait for the node to be Ready."""
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    require_root("run a kubelet (it mounts volumes and manages cgroups)")
    if running := running_pids():
        if len(running) == len(COMPONENTS):
            log.info("the local cluster is already running (%s)", kubeconfig_path())
            return Cluster(kubeconfig_path())
        log.warning("a partial cluster is running (%s): stopping it first", ", ".join(running))
        down()
    require_ports_free(PORTS)
    install_packages(RUNTIME_PACKAGES)
    binaries = build_binaries()
    info = ensure_dockerd(allow_restart=allow_docker_restart)
    build_pause_image()
    timings["prepare"] = time.monotonic() - t0

    state = state_dir()
    for sub in ("logs", "pids", "etcd", "kubelet", "volumes", "manifests"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    logs = state / "logs"
    pki = ensure_pki(state / "pki", SERVICE_IP)
    kubeconfig = write_kubeconfig(kubeconfig_path(), pki)
    gateway = _bridge_gateway()
    if not udp_port_free(53, gateway):
        raise ToolkitError(f"UDP port 53 on {gateway} (docker0) is taken; the cluster DNS serves pods there: "
                           "stop the DNS server listening on it (`ss -lunp | grep :53`) and retry")
    api = KubeApi(pki)
    node = os.uname().nodename.lower()
    procs: dict[str, subprocess.Popen] = {}
    try:
        t = time.monotonic()
        procs["registry"] = _start("registry", registry.command(state), logs)
        procs["etcd"] = _start("etcd", [
            shutil.which("etcd") or "etcd", "--name", "nta-local", "--data-dir", str(state / "etcd"),
            "--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
            "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--initial-cluster", "nta-local=http://127.0.0.1:2380", "--log-level", "warn"], logs)
        procs["kube-apiserver"] = _start("kube-apiserver", [
            str(binaries["kube-apiserver"]), "--etcd-servers=http://127.0.0.1:2379",
            "--bind-address=127.0.0.1", "--secure-port=6443", "--insecure-port=0",
            f"--tls-cert-file={pki.server_crt}", f"--tls-private-key-file={pki.server_key}",
            f"--client-ca-file={pki.ca_crt}", f"--token-auth-file={pki.tokens}",
            f"--service-account-key-file={pki.sa_pub}", f"--service-account-signing-key-file={pki.sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--api-audiences=https://kubernetes.default.svc.cluster.local",
            f"--kubelet-client-certificate={pki.kubelet_client_crt}",
            f"--kubelet-client-key={pki.kubelet_client_key}",
            "--authorization-mode=RBAC", f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-node-port-range=30000-32767", "--allow-privileged=true", "--v=1"], logs)
        _wait("the apiserver (/readyz)", api.healthy, 60, "kube-apiserver", procs)
        timings["apiserver"] = time.monotonic() - t
        common = [f"--kubeconfig={kubeconfig}"]
        procs["kube-controller-manager"] = _start("kube-controller-manager", [
            str(binaries["kube-controller-manager"]), *common, "--controllers=*,-nodeipam", "--leader-elect=false",
            f"--service-account-private-key-file={pki.sa_key}", f"--root-ca-file={pki.ca_crt}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--port=0", "--bind-address=127.0.0.1"], logs)
        procs["kube-scheduler"] = _start("kube-scheduler", [
            str(binaries["kube-scheduler"]), *common, "--leader-elect=false", "--port=0",
            "--bind-address=127.0.0.1"], logs)
        procs["agent"] = _start("agent", [
            sys.executable, "-m", "nta_dev.cluster.agent", "--pki", str(pki.dir), "--volumes", str(state / "volumes"),
            "--listen", gateway], logs)
        procs["kubelet"] = _start("kubelet", [
            str(binaries["kubelet"]), *common, f"--root-dir={state / 'kubelet'}", f"--hostname-override={node}",
            f"--pod-infra-container-image={PAUSE_IMAGE}", f"--cgroup-driver={info.get('CgroupDriver', 'cgroupfs')}",
            "--fail-swap-on=false", "--cgroups-per-qos=false", "--enforce-node-allocatable=",
            # On every address (the node's InternalIP is not its hostname's), so only CA-signed clients get in.
            "--address=0.0.0.0", "--read-only-port=0", "--healthz-bind-address=127.0.0.1",
            "--anonymous-auth=false", f"--client-ca-file={pki.ca_crt}", "--authorization-mode=Webhook",
            f"--cluster-dns={gateway}", f"--cluster-domain={CLUSTER_DOMAIN}",
            # Never garbage-collect or evict on disk pressure: the engine holds everyone's images, not ours alone.
            "--image-gc-high-threshold=100", "--image-gc-low-threshold=99",
            "--eviction-hard=memory.available<100Mi,nodefs.available<1%,imagefs.available<1%",
            f"--pod-manifest-path={state / 'manifests'}", "--v=1"], logs)
        procs["kube-proxy"] = _start("kube-proxy", [
            str(binaries["kube-proxy"]), *common, f"--hostname-override={node}", "--proxy-mode=iptables",
            f"--cluster-cidr={_bridge_subnet()}", "--conntrack-max-per-core=0",
            "--metrics-bind-address=127.0.0.1:10249", "--healthz-bind-address=127.0.0.1:10256"], logs)
        _wait(f"node {node} to be Ready", lambda: _node_ready(api), timeout, "kubelet", procs)
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
    log.info("local cluster ready in %.1f s: export KUBECONFIG=%s (context %s)", timings["total"], kubeconfig,
             CONTEXT)
    return Cluster(kubeconfig, timings=timings)


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
    """Containers the kubelet (dockershim) created are named k8s_*; nothing else on the engine is touched."""
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
    proxy = bin_dir() / "kube-proxy"
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

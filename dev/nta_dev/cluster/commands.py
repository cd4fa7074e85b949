"""The command line of every cluster component; pure (tests/unit/test_cluster_commands.py).

The flags are the ones measured to work on the build machines (docs/architecture.md#a-local-kubernetes-cluster).
The kubelet reads a KubeletConfiguration file (``kubelet_config``) and talks CRI to cri-dockerd; etcd is the one
built for the release. The apiserver gets the aggregation layer (front-proxy certificates), which
metrics-server's ``metrics.k8s.io`` needs, and routes aggregated requests straight to the endpoint (no dependency
on kube-proxy for the apiserver itself). The HPA forgets a scale-down recommendation after 60 s instead of 5
minutes: a dev cluster shows the whole up-and-down cycle while someone watches
(``--horizontal-pod-autoscaler-downscale-stabilization``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import cridockerd
from .pki import Pki
from .releases import Release

SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # the `kubernetes` Service: first address of the range
CLUSTER_DOMAIN = "cluster.local"
ISSUER = "https://kubernetes.default.svc.cluster.local"
HPA_DOWNSCALE_STABILIZATION = "60s"


@dataclass(frozen=True)
class Layout:
    """Everything the command lines depend on."""

    release: Release
    state: Path
    pki: Pki
    binaries: dict[str, Path]
    kubeconfig: Path
    node: str
    gateway: str  # docker0: the pods' DNS server (the agent)
    bridge_subnet: str
    cgroup_driver: str = "cgroupfs"
    python: str = "python3"

    @property
    def kubelet_config_file(self) -> Path:
        return self.state / "kubelet-config.json"


def etcd(lay: Layout) -> list[str]:
    return [str(lay.binaries["etcd"]), "--name", "nta-local", "--data-dir", str(lay.state / "etcd"),
            "--listen-client-urls", "http://127.0.0.1:2379", "--advertise-client-urls", "http://127.0.0.1:2379",
            "--listen-peer-urls", "http://127.0.0.1:2380", "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--initial-cluster", "nta-local=http://127.0.0.1:2380", "--log-level", "warn"]


def apiserver(lay: Layout) -> list[str]:
    pki = lay.pki
    argv = [str(lay.binaries["kube-apiserver"]), "--etcd-servers=http://127.0.0.1:2379",
            "--bind-address=127.0.0.1", "--secure-port=6443",
            f"--tls-cert-file={pki.server_crt}", f"--tls-private-key-file={pki.server_key}",
            f"--client-ca-file={pki.ca_crt}", f"--token-auth-file={pki.tokens}",
            f"--service-account-key-file={pki.sa_pub}", f"--service-account-signing-key-file={pki.sa_key}",
            f"--service-account-issuer={ISSUER}", f"--api-audiences={ISSUER}",
            f"--kubelet-client-certificate={pki.kubelet_client_crt}",
            f"--kubelet-client-key={pki.kubelet_client_key}",
            "--authorization-mode=RBAC", f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-node-port-range=30000-32767", "--allow-privileged=true", "--v=1"]
    # Pods reach the apiserver through the `kubernetes` Service (metrics-server reads its request-header CA there),
    # whose endpoint is the advertised address: the docker0 gateway, where pods on the bridge reach the host. So it
    # listens on every address, like the kubelet; anonymous requests are refused (every client has the token or a
    # CA-signed certificate), so the open port grants nothing.
    argv[argv.index("--bind-address=127.0.0.1")] = "--bind-address=0.0.0.0"
    return [*argv, f"--advertise-address={lay.gateway}", "--anonymous-auth=false",
            f"--requestheader-client-ca-file={pki.front_proxy_ca_crt}",
            "--requestheader-allowed-names=front-proxy-client", "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={pki.front_proxy_client_crt}",
            f"--proxy-client-key-file={pki.front_proxy_client_key}", "--enable-aggregator-routing=true"]


def controller_manager(lay: Layout) -> list[str]:
    argv = [str(lay.binaries["kube-controller-manager"]), f"--kubeconfig={lay.kubeconfig}",
            "--controllers=*,-nodeipam", "--leader-elect=false",
            f"--service-account-private-key-file={lay.pki.sa_key}", f"--root-ca-file={lay.pki.ca_crt}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--bind-address=127.0.0.1"]
    return [*argv, f"--horizontal-pod-autoscaler-downscale-stabilization={HPA_DOWNSCALE_STABILIZATION}"]


def scheduler(lay: Layout) -> list[str]:
    return [str(lay.binaries["kube-scheduler"]), f"--kubeconfig={lay.kubeconfig}", "--leader-elect=false",
            "--bind-address=127.0.0.1"]


def agent(lay: Layout) -> list[str]:
    return [lay.python, "-m", "nta_dev.cluster.agent", "--pki", str(lay.pki.dir), "--volumes",
            str(lay.state / "volumes"), "--listen", lay.gateway]


def kubelet(lay: Layout) -> list[str]:
    return [str(lay.binaries["kubelet"]), f"--kubeconfig={lay.kubeconfig}", f"--root-dir={lay.state / 'kubelet'}",
            f"--hostname-override={lay.node}", f"--config={lay.kubelet_config_file}", "--v=1"]


def kube_proxy(lay: Layout) -> list[str]:
    return [str(lay.binaries["kube-proxy"]), f"--kubeconfig={lay.kubeconfig}", f"--hostname-override={lay.node}",
            "--proxy-mode=iptables", f"--cluster-cidr={lay.bridge_subnet}", "--conntrack-max-per-core=0",
            "--metrics-bind-address=127.0.0.1:10249", "--healthz-bind-address=127.0.0.1:10256"]


def command_lines(lay: Layout) -> dict[str, list[str]]:
    """Component -> argv, in start order after the registry (``registry.command`` writes its config, so the
    runtime starts it); stopped in reverse, the kubelet first (runtime.down)."""
    lines = {"etcd": etcd(lay), "kube-apiserver": apiserver(lay), "kube-controller-manager": controller_manager(lay),
             "kube-scheduler": scheduler(lay), "agent": agent(lay),
             "cri-dockerd": cridockerd.command(lay.binaries["cri-dockerd"], lay.state, lay.release.pause_image)}
    lines["kubelet"] = kubelet(lay)
    lines["kube-proxy"] = kube_proxy(lay)
    return lines

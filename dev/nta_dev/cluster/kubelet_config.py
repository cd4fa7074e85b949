"""The kubelet's configuration file (KubeletConfiguration v1beta1) for the supported release; pure, so it is tested
without a cluster (tests/unit/test_cluster_kubelet_config.py).

Why each unusual value (docs/architecture.md#a-local-kubernetes-cluster):

- ``failCgroupV1: false``: this kernel runs cgroup v1, which kubelets >= 1.35 refuse by default.
- ``cgroupDriver`` from ``docker info`` (cgroupfs here): it must match the engine's, which cri-dockerd drives.
- ``cgroupsPerQOS: false`` and no ``enforceNodeAllocatable``: the kubelet shares the machine (and its cgroup tree)
  with a desktop's processes; it must not move them or reserve resources.
- ``failSwapOn: false``: developer machines may have swap.
- ``address: 0.0.0.0``: the node's InternalIP is not its hostname's, and logs/exec/metrics reach the kubelet there;
  anonymous access is off and only CA-signed clients or tokens the apiserver vouches for (webhook) get in, which is
  how metrics-server reads ``/metrics/resource`` with its service-account token.
- image garbage collection and disk-pressure eviction off: the engine holds everyone's images, not ours alone.
- feature gate ``ExtendWebSocketsToKubelet`` off: with it (beta, on by default since 1.36) the kubelet proxies
  exec/attach to the streaming URL cri-dockerd returns, which has no scheme (``//127.0.0.1:PORT/cri/exec/...``), and
  speaks HTTPS to cri-dockerd's plain-HTTP server: every ``kubectl exec`` fails with "server gave HTTP response to
  HTTPS client" (a known, still open cri-dockerd bug with kubelets >= 1.36; Docker Desktop's 1.36 has it too).
  Off, the kubelet takes the older path that follows the relative URL over HTTP; exec, attach and Tilt's live
  update work (tests/cluster/test_cluster.py execs, test_tilt.py live-updates).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class KubeletSettings:
    runtime_endpoint: str  # unix:///.../cri-dockerd.sock
    client_ca: Path
    cluster_dns: str
    static_pods: Path
    cgroup_driver: str = "cgroupfs"
    cluster_domain: str = "cluster.local"


def kubelet_config(s: KubeletSettings) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "containerRuntimeEndpoint": s.runtime_endpoint,
        "failCgroupV1": False,
        "cgroupDriver": s.cgroup_driver,
        "cgroupsPerQOS": False,
        "enforceNodeAllocatable": [],
        "failSwapOn": False,
        "address": "0.0.0.0",
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(s.client_ca)}},
        "authorization": {"mode": "Webhook"},
        "clusterDNS": [s.cluster_dns],
        "clusterDomain": s.cluster_domain,
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "staticPodPath": str(s.static_pods),
        "featureGates": {"ExtendWebSocketsToKubelet": False},
        # A single-node dev cluster: report status often so pods and the node are Ready sooner.
        "nodeStatusUpdateFrequency": "4s",
        "syncFrequency": "10s",
    }


def write_kubelet_config(path: Path, settings: KubeletSettings) -> Path:
    """JSON is YAML: the kubelet reads the file as its --config."""
    path.write_text(json.dumps(kubelet_config(settings), indent=2) + "\n")
    return path

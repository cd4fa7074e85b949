"""The kubelet configuration of the supported release (nta_dev.cluster.kubelet_config) and the checked-in wrapper
modules it is built from."""

from __future__ import annotations

import json
import re
from pathlib import Path

from nta_dev.cluster.kubelet_config import KubeletSettings, kubelet_config, write_kubelet_config

REPO = Path(__file__).resolve().parents[2]
GOMOD = REPO / "dev" / "nta_dev" / "cluster" / "gomod"


def settings(tmp_path: Path) -> KubeletSettings:
    return KubeletSettings(runtime_endpoint="unix:///state/cri-dockerd.sock", client_ca=tmp_path / "ca.crt",
                           cluster_dns="172.17.0.1", static_pods=tmp_path / "manifests")


def test_runs_on_cgroup_v1_with_cgroupfs_through_cri_dockerd(tmp_path: Path) -> None:
    config = kubelet_config(settings(tmp_path))
    assert config["apiVersion"] == "kubelet.config.k8s.io/v1beta1"
    assert config["kind"] == "KubeletConfiguration"
    assert config["failCgroupV1"] is False  # this kernel is cgroup v1; kubelets >= 1.35 refuse it by default
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["containerRuntimeEndpoint"] == "unix:///state/cri-dockerd.sock"
    assert config["clusterDNS"] == ["172.17.0.1"]
    assert config["staticPodPath"] == str(tmp_path / "manifests")


def test_exec_through_cri_dockerd_keeps_the_http_streaming_path(tmp_path: Path) -> None:
    # cri-dockerd's streaming URL has no scheme; the websocket path of kubelets >= 1.36 takes it for HTTPS.
    assert kubelet_config(settings(tmp_path))["featureGates"] == {"ExtendWebSocketsToKubelet": False}


def test_no_anonymous_access_and_webhook_auth(tmp_path: Path) -> None:
    config = kubelet_config(settings(tmp_path))
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authentication"]["webhook"]["enabled"] is True  # metrics-server's token
    assert config["authentication"]["x509"]["clientCAFile"] == str(tmp_path / "ca.crt")
    assert config["authorization"]["mode"] == "Webhook"
    assert config["readOnlyPort"] == 0


def test_leaves_the_machine_alone(tmp_path: Path) -> None:
    config = kubelet_config(settings(tmp_path))
    assert config["cgroupsPerQOS"] is False
    assert config["enforceNodeAllocatable"] == []
    assert config["failSwapOn"] is False
    assert config["imageGCHighThresholdPercent"] == 100


def test_written_file_is_json_the_kubelet_reads_as_yaml(tmp_path: Path) -> None:
    path = write_kubelet_config(tmp_path / "kubelet.json", settings(tmp_path))
    assert json.loads(path.read_text())["failCgroupV1"] is False


def test_checked_in_kubernetes_wrapper_pins_the_release_and_published_staging_modules() -> None:
    text = (GOMOD / "kubernetes-v1.37.2" / "go.mod").read_text()
    assert re.search(r"^\s*(require\s+)?k8s\.io/kubernetes v1\.37\.2(\s*// indirect)?$", text, re.M)
    assert "\tk8s.io/api => k8s.io/api v0.37.2\n" in text
    assert "\tk8s.io/client-go => k8s.io/client-go v0.37.2\n" in text
    assert "./staging" not in text
    for cmd in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"):
        assert f"\tk8s.io/kubernetes/cmd/{cmd}\n" in text
    sums = (GOMOD / "kubernetes-v1.37.2" / "go.sum").read_text()
    assert "k8s.io/kubernetes v1.37.2 h1:" in sums  # downloads are verified against the checked-in sum


def test_checked_in_etcd_and_cri_dockerd_wrappers() -> None:
    etcd = (GOMOD / "etcd-v3.7.3" / "go.mod").read_text()
    assert "\tgo.etcd.io/etcd/api/v3 => go.etcd.io/etcd/api/v3 v3.7.3\n" in etcd
    assert "../" not in etcd
    cri = (GOMOD / "cri-dockerd-v0.4.4" / "go.mod").read_text()
    assert "github.com/Mirantis/cri-dockerd v0.4.4" in cri
    assert (GOMOD / "cri-dockerd-v0.4.4" / "go.sum").stat().st_size > 0

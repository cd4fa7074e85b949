"""Command lines of the cluster components by release (nta_dev.cluster.commands): 1.20 keeps the flags measured to
work with dockershim; the supported release drops the removed ones and adds what metrics-server and cri-dockerd
need."""

from __future__ import annotations

from pathlib import Path

import pytest

from nta_dev.cluster.commands import Layout, command_lines
from nta_dev.cluster.pki import Pki
from nta_dev.cluster.releases import RELEASES

STATE = Path("/state")


def layout(version: str) -> Layout:
    names = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "etcd",
             "cri-dockerd")
    binaries = {n: Path("/bin-cache") / n for n in names if version != "1.20.2" or n not in ("etcd", "cri-dockerd")}
    return Layout(RELEASES[version], STATE, Pki(STATE / "pki"), binaries, STATE / "kubeconfig", node="box",
                  gateway="172.17.0.1", bridge_subnet="172.17.0.0/16", python="/venv/python")


def test_1_20_keeps_the_dockershim_flags() -> None:
    lines = command_lines(layout("1.20.2"))
    assert list(lines) == ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "agent", "kubelet",
                           "kube-proxy"]
    assert "--insecure-port=0" in lines["kube-apiserver"]
    assert "--port=0" in lines["kube-controller-manager"]
    assert "--port=0" in lines["kube-scheduler"]
    kubelet = lines["kubelet"]
    for flag in ("--pod-infra-container-image=k8s.gcr.io/pause:3.2", "--cgroup-driver=cgroupfs",
                 "--fail-swap-on=false", "--cgroups-per-qos=false", "--enforce-node-allocatable=",
                 "--address=0.0.0.0", "--read-only-port=0", "--anonymous-auth=false",
                 "--cluster-dns=172.17.0.1", f"--pod-manifest-path={STATE / 'manifests'}"):
        assert flag in kubelet
    assert not any(a.startswith("--config=") for a in kubelet)
    assert lines["etcd"][0] != "/bin-cache/etcd"  # Debian's etcd-server


@pytest.mark.parametrize("version", [v for v, r in RELEASES.items() if r.runtime == "cri-dockerd"])
def test_supported_release_runs_cri_dockerd_and_a_kubelet_config(version: str) -> None:
    lines = command_lines(layout(version))
    assert list(lines) == ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "agent",
                           "cri-dockerd", "kubelet", "kube-proxy"]
    everything = [arg for argv in lines.values() for arg in argv]
    # Removed in 1.24: any of them stops the component at start.
    for removed in ("--insecure-port=0", "--port=0", "--pod-infra-container-image=k8s.gcr.io/pause:3.2",
                    "--cgroups-per-qos=false"):
        assert removed not in everything
    assert lines["kubelet"][1:] == ["--kubeconfig=/state/kubeconfig", "--root-dir=/state/kubelet",
                                    "--hostname-override=box", "--config=/state/kubelet-config.json", "--v=1"]
    assert lines["etcd"][0] == "/bin-cache/etcd"  # the one built for the release
    cri = lines["cri-dockerd"]
    assert cri[0] == "/bin-cache/cri-dockerd"
    assert "--container-runtime-endpoint=unix:///state/cri-dockerd.sock" in cri
    assert "--network-plugin=no-op" in cri  # its default is cni; there is no CNI plugin here
    assert any(a.startswith("--pod-infra-container-image=registry.k8s.io/pause:") for a in cri)


@pytest.mark.parametrize("version", [v for v, r in RELEASES.items() if r.runtime == "cri-dockerd"])
def test_supported_release_serves_the_aggregation_layer_for_metrics_server(version: str) -> None:
    api = command_lines(layout(version))["kube-apiserver"]
    assert "--requestheader-client-ca-file=/state/pki/front-proxy-ca.crt" in api
    assert "--proxy-client-cert-file=/state/pki/front-proxy-client.crt" in api
    assert "--requestheader-allowed-names=front-proxy-client" in api
    assert "--enable-aggregator-routing=true" in api
    cm = command_lines(layout(version))["kube-controller-manager"]
    assert "--horizontal-pod-autoscaler-downscale-stabilization=60s" in cm

"""Command lines of the cluster components (nta_dev.cluster.commands): none of the flags removed since 1.24, and what
metrics-server and cri-dockerd need."""

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
    binaries = {n: Path("/bin-cache") / n for n in names}
    return Layout(RELEASES[version], STATE, Pki(STATE / "pki"), binaries, STATE / "kubeconfig", node="box",
                  gateway="172.17.0.1", bridge_subnet="172.17.0.0/16", python="/venv/python")


@pytest.mark.parametrize("version", list(RELEASES))
def test_the_release_runs_cri_dockerd_and_a_kubelet_config(version: str) -> None:
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


@pytest.mark.parametrize("version", list(RELEASES))
def test_the_apiserver_serves_the_aggregation_layer_and_pods_reach_it(version: str) -> None:
    api = command_lines(layout(version))["kube-apiserver"]
    assert "--requestheader-client-ca-file=/state/pki/front-proxy-ca.crt" in api
    assert "--proxy-client-cert-file=/state/pki/front-proxy-client.crt" in api
    assert "--requestheader-allowed-names=front-proxy-client" in api
    assert "--enable-aggregator-routing=true" in api
    # Pods (metrics-server) reach it through the `kubernetes` Service: advertised on docker0, no anonymous access.
    assert "--advertise-address=172.17.0.1" in api
    assert "--bind-address=0.0.0.0" in api and "--bind-address=127.0.0.1" not in api
    assert "--anonymous-auth=false" in api
    cm = command_lines(layout(version))["kube-controller-manager"]
    assert "--horizontal-pod-autoscaler-downscale-stabilization=60s" in cm

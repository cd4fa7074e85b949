"""The local cluster behaves like a real one for what the stack needs: node, pods from local images, exec/logs,
Services by name (DNS) and by NodePort (kube-proxy), and writable volumes from the default StorageClass."""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.error
import urllib.request

import pytest

from nta_dev.cluster import K8S_VERSION, Cluster

from .conftest import BASE_IMAGE, Kubectl, apply_json


def wait_ready(kubectl: Kubectl, namespace: str, *pods: str, timeout: int = 90) -> None:
    kubectl("-n", namespace, "wait", "--for=condition=Ready", *(f"pod/{p}" for p in pods), f"--timeout={timeout}s",
            timeout=timeout + 30)


def pod(name: str, command: str, labels: dict[str, str] | None = None, **spec: object) -> dict:
    """A pod of the locally built base image (never pulled: the engine has it, as on docker-desktop)."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {"test": name}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "main", "image": BASE_IMAGE, "imagePullPolicy": "Never", "command": ["sh", "-c", command],
                **spec.pop("container", {})}], **spec}}


def test_node_is_ready_and_runs_the_selected_release(kubectl: Kubectl) -> None:
    wanted = os.environ.get("NTA_K8S_VERSION", "").lstrip("v") or K8S_VERSION
    nodes = json.loads(kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert len(nodes) == 1
    ready = {c["type"]: c["status"] for c in nodes[0]["status"]["conditions"]}["Ready"]
    assert ready == "True"
    info = nodes[0]["status"]["nodeInfo"]
    assert info["kubeletVersion"] == f"v{wanted}"
    server = json.loads(kubectl("version", "-o", "json", check=False).stdout)["serverVersion"]
    assert server["gitVersion"] == f"v{wanted}"
    assert (server["major"], server["minor"]) == tuple(wanted.split(".")[:2])
    # The runtime behind the kubelet: the local Docker engine, through cri-dockerd.
    assert info["containerRuntimeVersion"].startswith("docker://"), info


@pytest.mark.usefixtures("base_image")
def test_pod_from_local_image_runs_with_logs_and_exec(kubectl: Kubectl, namespace: str) -> None:
    started = time.monotonic()
    apply_json(kubectl, {**pod("sleeper", "echo hello-from-the-pod; exec sleep 3600"),
                         "metadata": {"name": "sleeper", "namespace": namespace}})
    wait_ready(kubectl, namespace, "sleeper")
    print(f"pod Running {time.monotonic() - started:.1f} s after apply")
    assert "hello-from-the-pod" in kubectl("-n", namespace, "logs", "sleeper").stdout
    assert kubectl("-n", namespace, "exec", "sleeper", "--", "sh", "-c", "echo $((6 * 7))").stdout.strip() == "42"
    # Tilt's live update streams a tar through exec: the same path must carry stdin.
    kubectl("-n", namespace, "exec", "-i", "sleeper", "--", "sh", "-c", "cat > /tmp/synced", input="payload\n")
    assert kubectl("-n", namespace, "exec", "sleeper", "--", "cat", "/tmp/synced").stdout == "payload\n"


@pytest.mark.usefixtures("base_image")
def test_services_resolve_by_name_route_and_publish_node_ports(kubectl: Kubectl, namespace: str) -> None:
    server = pod("web", "mkdir -p /srv && echo served-by-web > /srv/index.html && "
                 "exec python3 -m http.server 8000 -d /srv", labels={"app": "web"},
                 container={"readinessProbe": {"tcpSocket": {"port": 8000}, "periodSeconds": 1}})
    client = pod("client", "exec sleep 3600")
    web_svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {
        "type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8000}]}}
    headless = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-headless"}, "spec": {
        "clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 8000}]}}
    for obj in (server, client, web_svc, headless):
        obj["metadata"]["namespace"] = namespace
    apply_json(kubectl, server, client, web_svc, headless)
    wait_ready(kubectl, namespace, "web", "client")
    pod_ip = kubectl("-n", namespace, "get", "pod", "web", "-o", "jsonpath={.status.podIP}").stdout
    svc = json.loads(kubectl("-n", namespace, "get", "service", "web", "-o", "json").stdout)

    def in_client(script: str) -> str:
        return kubectl("-n", namespace, "exec", "client", "--", "python3", "-c", script).stdout.strip()

    # Short names resolve through the pod's search path, as apps use them (nta-mongodb, nta-flask, ...).
    resolved = in_client("import socket; print(socket.gethostbyname('web'), socket.gethostbyname('web-headless'))")
    assert resolved.split() == [svc["spec"]["clusterIP"], pod_ip]
    fqdn = f"web.{namespace}.svc.cluster.local"
    # kube-proxy programs a new Service's rules asynchronously (as on any cluster): retry for a while.
    fetch = ("import urllib.request as u, sys, time\n"
             "for attempt in range(60):\n"
             "    try:\n"
             "        print(u.urlopen(sys.argv[1], timeout=5).read().decode()); break\n"
             "    except OSError:\n"
             "        time.sleep(0.5)\n")
    body = kubectl("-n", namespace, "exec", "client", "--", "python3", "-c", fetch, f"http://{fqdn}/").stdout
    assert body.strip() == "served-by-web"
    # Names outside the cluster still resolve (forwarded to the host's resolvers).
    assert in_client("import socket; print(socket.gethostbyname('localhost'))") == "127.0.0.1"
    node_port = svc["spec"]["ports"][0]["nodePort"]
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{node_port}/", timeout=5) as resp:
                assert resp.read().decode().strip() == "served-by-web"
                break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


@pytest.mark.usefixtures("base_image")
def test_claim_gets_a_volume_a_non_root_pod_can_write(kubectl: Kubectl, namespace: str) -> None:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": namespace},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    writer = pod("writer", "echo written > /data/file && exec sleep 3600",
                 securityContext={"runAsUser": 999, "runAsGroup": 999, "fsGroup": 999},
                 volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
                 container={"volumeMounts": [{"name": "data", "mountPath": "/data"}]})
    writer["metadata"]["namespace"] = namespace
    apply_json(kubectl, claim, writer)
    wait_ready(kubectl, namespace, "writer")
    got = json.loads(kubectl("-n", namespace, "get", "pvc", "data", "-o", "json").stdout)
    assert got["status"]["phase"] == "Bound"
    assert got["spec"]["storageClassName"] == "hostpath"  # the default class, as on docker-desktop
    assert kubectl("-n", namespace, "exec", "writer", "--", "cat", "/data/file").stdout == "written\n"


def test_kubelet_refuses_anonymous_callers(cluster: Cluster) -> None:
    # Port 10250 listens on every address; only the apiserver's CA-signed client may list pods or exec.
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen("https://127.0.0.1:10250/pods", context=insecure, timeout=10)
    assert refused.value.code == 401

"""The stack on the local cluster, driven by the real tasks, in the order a developer works:

`./inv apply --overlay cluster-local` (order checked on the API server) -> PodSecurity `restricted` admits every
pod of the stack and refuses a privileged one -> status / logs / url / seed -> `./inv metrics-server`, `kubectl
top`, the autoscaling/v2 HPA reading CPU -> the e2e suite through NodePort 31000 (`./inv test-e2e --url`) -> a
worker pod deleted mid-job -> the worker HPA scaling up under real jobs and back down. (Live update into the pods
is real Tilt's: test_tilt.py.) The tests share one deployment and run in file order; each puts back what it changed.

The images (nta-*:dev, nta-mongo-standin:dev) are built first, as Tilt would (layer cache: seconds when nothing
changed). A deployment already in namespace nta is replaced: the order can only be checked on fresh objects.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import requests
import yaml

from nta_dev.cluster import Cluster
from nta_dev.images.build import IMAGES as STACK_IMAGES
from nta_dev.images.build import MONGO_STANDIN, build_many
from tests.e2e.client import StackClient
from tests.e2e.data import enlarged_pos, shipped

from .conftest import REPO_ROOT, Kubectl, run_inv
from .helpers import NAMESPACE, NODE_PORT, get, items, ready, timestamp, wait_all_ready

T = TypeVar("T")
OVERLAY = "cluster-local"
IMAGES = ("nta-nginx:dev", "nta-django:dev", "nta-flask:dev", "nta-dask:dev", "nta-mongo-standin:dev")
# The documented order (docs/architecture.md#apply-order), the namespace first; kinds the overlay lacks are skipped.
DOCUMENTED_ORDER = ("Namespace", "ConfigMap", "Secret", "NetworkPolicy", "PersistentVolume", "PersistentVolumeClaim",
                    "Service", "StatefulSet", "Deployment", "HorizontalPodAutoscaler")  # fmt: skip
WORKLOADS = ("statefulset/nta-mongodb", "deployment/nta-dask-scheduler", "deployment/nta-dask-worker",
             "deployment/nta-django", "deployment/nta-flask", "deployment/nta-nginx")  # fmt: skip
WORKER_LABEL = "app.kubernetes.io/name=nta-dask-worker"
SEED_CSV = REPO_ROOT / "services" / "flask" / "seed" / "reference_seed.csv"


@dataclass
class Deployment:
    kubeconfig: Path
    started: float  # wall clock when `./inv apply` began
    ready_seconds: float  # from the task's start until every pod was Ready


@pytest.fixture(scope="module")
def deployed(cluster: Cluster, kubectl: Kubectl) -> Iterator[Deployment]:
    """`./inv apply --overlay cluster-local` on a fresh namespace; `./inv down --purge` afterwards."""
    started = time.monotonic()
    build_many([*STACK_IMAGES, MONGO_STANDIN.name], ("dev",))
    print(f"\nimages built in {time.monotonic() - started:.1f} s")
    if kubectl("get", "namespace", NAMESPACE, check=False).returncode == 0:
        print(f"namespace {NAMESPACE} exists: `./inv down --purge` first (the order is checked on fresh objects)")
        assert run_inv(cluster.kubeconfig, "down", "--overlay", OVERLAY, "--purge").returncode == 0
    wall, started = time.time(), time.monotonic()
    proc = run_inv(cluster.kubeconfig, "apply", "--overlay", OVERLAY)
    assert proc.returncode == 0, proc.stdout
    wait_all_ready(kubectl)
    deployment = Deployment(cluster.kubeconfig, wall, time.monotonic() - started)
    print(f"./inv apply --overlay {OVERLAY} -> all pods Ready: {deployment.ready_seconds:.1f} s")
    yield deployment
    started = time.monotonic()
    down = run_inv(cluster.kubeconfig, "down", "--overlay", OVERLAY, "--purge")
    print(f"./inv down --purge: {time.monotonic() - started:.1f} s")
    assert down.returncode == 0, down.stdout
    assert kubectl("get", "namespace", NAMESPACE, check=False).returncode != 0, "namespace still there after --purge"


def test_apply_creates_the_objects_in_the_documented_order(kubectl: Kubectl, deployed: Deployment) -> None:
    overlay = REPO_ROOT / "k8s" / "overlays" / OVERLAY
    rendered = [d for d in yaml.safe_load_all(kubectl("kustomize", str(overlay)).stdout) if d]
    names: dict[str, list[str]] = {}
    for doc in rendered:
        names.setdefault(doc["kind"], []).append(doc["metadata"]["name"])
    created = {}  # kind -> creation times on the API server (1 s resolution)
    for kind, objs in names.items():
        scope = [] if kind in ("Namespace", "PersistentVolume") else ["-n", NAMESPACE]
        found = json.loads(kubectl(*scope, "get", *(f"{kind.lower()}/{n}" for n in objs), "-o", "json").stdout)
        created[kind] = [timestamp(o["metadata"]["creationTimestamp"]) for o in found.get("items", [found])]
    assert set(created) >= {"Namespace", "ConfigMap", "Secret", "Service", "StatefulSet", "Deployment",
                            "HorizontalPodAutoscaler"}, names  # fmt: skip
    assert min(min(v) for v in created.values()) >= int(deployed.started), "objects older than this apply"
    kinds = [k for k in DOCUMENTED_ORDER if k in created]
    for before, after in zip(kinds, kinds[1:], strict=False):
        assert max(created[before]) <= min(created[after]), (
            f"a {after} ({names[after]}) was created before a {before} ({names[before]})")
    # MongoDB was Ready before the first app was created
    mongo = items(kubectl, "pods", "-l", "app.kubernetes.io/name=nta-mongodb")
    ready_at = [timestamp(c["lastTransitionTime"]) for c in mongo[0]["status"]["conditions"] if c["type"] == "Ready"]
    assert ready_at and ready_at[0] <= min(created["Deployment"]), "the apps were created before MongoDB was Ready"


def test_every_workload_is_ready_with_the_local_images(kubectl: Kubectl, deployed: Deployment) -> None:
    pods = items(kubectl, "pods")
    assert all(ready(p) for p in pods)
    assert {c["image"] for p in pods for c in p["spec"]["containers"]} == set(IMAGES)
    owners = {o["name"].rsplit("-", 1)[0] if o["kind"] == "ReplicaSet" else o["name"]
              for p in pods for o in p["metadata"]["ownerReferences"]}  # fmt: skip
    assert owners == {w.split("/")[1] for w in WORKLOADS}
    claims = items(kubectl, "pvc")
    assert [c["status"]["phase"] for c in claims] == ["Bound"]  # MongoDB's volume, from the default class


def test_the_stack_answers_through_node_port_31000(deployed: Deployment) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            assert get(f"{NODE_PORT}/healthz") == (200, "ok\n")  # nginx itself
            status, body = get(f"{NODE_PORT}/nta/rest/healthz")  # nginx -> Flask -> MongoDB (stand-in)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    assert status == 200 and json.loads(body)["mongo"] == "ok"
    assert get(f"{NODE_PORT}/nta/healthz")[0] == 200  # nginx -> Django
    assert get(f"{NODE_PORT}/nta/dask/health") == (200, "ok")  # nginx -> Dask scheduler dashboard


def test_hpa_is_served_as_autoscaling_v2(kubectl: Kubectl, deployed: Deployment) -> None:
    versions = kubectl("api-versions").stdout.split()
    assert "autoscaling/v2" in versions
    assert "autoscaling/v2beta2" not in versions  # removed in 1.26: the overlay no longer needs its patch
    hpa = json.loads(kubectl("-n", NAMESPACE, "get", "hpa.v2.autoscaling", "nta-dask-worker", "-o", "json").stdout)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "nta-dask-worker"
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"


def privileged_pod(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"containers": [{"name": "main", "image": "nta-base:bookworm", "imagePullPolicy": "Never",
                                     "command": ["sleep", "3600"], "securityContext": {"privileged": True}}]}}


def test_pod_security_restricted_refuses_a_privileged_pod_in_nta(kubectl: Kubectl, deployed: Deployment) -> None:
    labels = json.loads(kubectl("get", "namespace", NAMESPACE, "-o", "json").stdout)["metadata"]["labels"]
    assert labels.get("pod-security.kubernetes.io/enforce") == "restricted"
    proc = kubectl("create", "-f", "-", input=json.dumps(privileged_pod("psa-privileged")), check=False)
    assert proc.returncode != 0, "a privileged pod was admitted into the restricted namespace"
    assert 'violates PodSecurity "restricted:' in proc.stderr, proc.stderr
    assert "privileged" in proc.stderr, proc.stderr
    assert kubectl("-n", NAMESPACE, "get", "pod", "psa-privileged", check=False).returncode != 0
    # The same pod is admitted where nothing is enforced: the refusal above is PodSecurity's, not an invalid pod.
    other = privileged_pod("psa-privileged")
    other["metadata"]["namespace"] = "default"
    assert kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(other), check=False).returncode == 0


def test_pod_security_restricted_admits_every_pod_of_the_stack(kubectl: Kubectl, deployed: Deployment) -> None:
    for workload in WORKLOADS:
        spec = json.loads(kubectl("-n", NAMESPACE, "get", workload, "-o", "json").stdout)["spec"]
        name = workload.split("/")[1]
        pod_spec = dict(spec["template"]["spec"])
        # A StatefulSet's claim templates become volumes of its pods; emptyDir stands in (allowed by restricted).
        claims = [{"name": t["metadata"]["name"], "emptyDir": {}} for t in spec.get("volumeClaimTemplates", [])]
        pod_spec["volumes"] = [*pod_spec.get("volumes", []), *claims]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"psa-{name}", "namespace": NAMESPACE},
               "spec": pod_spec}
        proc = kubectl("create", "--dry-run=server", "-f", "-", input=json.dumps(pod), check=False)
        assert proc.returncode == 0, f"{workload}'s pod is refused: {proc.stderr}"
        assert "PodSecurity" not in proc.stderr, proc.stderr
    refused = [e for e in items(kubectl, "events") if e.get("reason") == "FailedCreate"]
    assert refused == [], [e["message"] for e in refused]


def test_status_names_every_workload_with_ready_counts_and_the_url(kubectl: Kubectl, deployed: Deployment) -> None:
    proc = run_inv(deployed.kubeconfig, "status", timeout=60)
    assert proc.returncode == 0, proc.stdout
    for workload in WORKLOADS:
        kind, name = workload.split("/")
        spec = json.loads(kubectl("-n", NAMESPACE, "get", workload, "-o", "json").stdout)
        counts = f"{spec['status'].get('readyReplicas', 0)}/{spec['spec']['replicas']}"
        assert re.search(rf"^{kind}\.apps/{name}\s+{counts}\s", proc.stdout, re.M), (workload, counts, proc.stdout)
    for pod in items(kubectl, "pods"):
        assert re.search(rf"^pod/{pod['metadata']['name']}\s+1/1\s+Running\s", proc.stdout, re.M), proc.stdout
    assert "horizontalpodautoscaler.autoscaling/nta-dask-worker" in proc.stdout
    assert "url: http://localhost:31000/nta/" in proc.stdout


def test_logs_django_shows_gunicorns_startup(kubectl: Kubectl, deployed: Deployment) -> None:
    proc = run_inv(deployed.kubeconfig, "logs", "django", timeout=60)
    assert proc.returncode == 0, proc.stdout
    pod = items(kubectl, "pods", "-l", "app.kubernetes.io/name=nta-django")[0]["metadata"]["name"]
    prefix = f"[pod/{pod}/django] "
    lines = [line.removeprefix(prefix) for line in proc.stdout.splitlines() if line.startswith(prefix)]
    assert any("Starting gunicorn" in line for line in lines), proc.stdout
    assert any("Listening at: http://0.0.0.0:8000" in line for line in lines), proc.stdout
    assert any("Booting worker" in line for line in lines), proc.stdout


def test_url_is_the_node_port_and_serves_the_upload_page(kubectl: Kubectl, deployed: Deployment) -> None:
    proc = run_inv(deployed.kubeconfig, "url", timeout=60)
    assert proc.returncode == 0, proc.stdout
    node_port = json.loads(kubectl("-n", NAMESPACE, "get", "service", "nta-nginx", "-o", "json").stdout)[
        "spec"]["ports"][0]["nodePort"]
    url = proc.stdout.strip().splitlines()[-1]
    assert url == f"http://localhost:{node_port}/nta/"
    status, body = get(url)
    assert status == 200 and 'enctype="multipart/form-data"' in body


def test_seed_loads_the_reference_into_the_cluster(deployed: Deployment) -> None:
    with SEED_CSV.open(newline="") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))
    assert json.loads(get(f"{NODE_PORT}/nta/rest/healthz")[1])["reference_compounds"] == 0  # a fresh MongoDB
    proc = run_inv(deployed.kubeconfig, "seed", timeout=120)
    assert proc.returncode == 0, proc.stdout
    assert "exec -i -n nta deploy/nta-flask" in proc.stdout  # through the Flask pod, not a local MongoDB
    assert json.loads(get(f"{NODE_PORT}/nta/rest/healthz")[1])["reference_compounds"] == rows


@pytest.fixture(scope="module")
def metrics(deployed: Deployment) -> str:
    """`./inv metrics-server` (built from its Go module on this cluster); its `kubectl top nodes` output."""
    started = time.monotonic()
    proc = run_inv(deployed.kubeconfig, "metrics-server", "--timeout", "300", timeout=1200)
    print(f"\n./inv metrics-server -> `kubectl top nodes` answers: {time.monotonic() - started:.1f} s")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "--kubelet-insecure-tls" in proc.stdout  # a local context
    return proc.stdout


def test_kubectl_top_answers_for_the_node_and_every_pod_of_the_stack(kubectl: Kubectl, metrics: str) -> None:
    node = kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}").stdout
    top_nodes = kubectl("top", "nodes", "--no-headers").stdout.split()
    assert top_nodes[0] == node and top_nodes[1].endswith("m"), top_nodes  # CPU in millicores
    pods = {p["metadata"]["name"] for p in items(kubectl, "pods")}
    deadline = time.monotonic() + 120  # a pod has a sample after its first scrape (15 s resolution)
    while True:
        top = kubectl("-n", NAMESPACE, "top", "pods", "--no-headers", check=False)
        rows = {line.split()[0]: line.split()[1:] for line in top.stdout.splitlines() if line.strip()}
        if top.returncode == 0 and pods <= rows.keys():
            break
        assert time.monotonic() < deadline, f"kubectl top pods lacks {pods - rows.keys()}: {top.stderr}{top.stdout}"
        time.sleep(5)
    for name in pods:
        cpu, memory = rows[name][:2]
        assert cpu.endswith("m") and memory.endswith("Mi"), (name, rows[name])


def hpa_status(kubectl: Kubectl) -> dict:
    return json.loads(kubectl("-n", NAMESPACE, "get", "hpa.v2.autoscaling", "nta-dask-worker", "-o",
                              "json").stdout)["status"]


def test_the_worker_hpa_reads_cpu_from_metrics_server(kubectl: Kubectl, metrics: str) -> None:
    deadline = time.monotonic() + 180
    while True:
        status = hpa_status(kubectl)
        current = [m["resource"]["current"] for m in status.get("currentMetrics") or [] if m.get("resource")]
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        if current and "averageUtilization" in current[0] and conditions.get("ScalingActive") == "True":
            break
        assert time.monotonic() < deadline, f"the HPA has no CPU utilization after 180 s: {status}"
        time.sleep(5)
    assert isinstance(current[0]["averageUtilization"], int)


def test_the_e2e_suite_passes_through_the_node_port(deployed: Deployment) -> None:
    started = time.monotonic()
    proc = run_inv(deployed.kubeconfig, "test-e2e", "--url", "http://localhost:31000", timeout=900)
    print(f"\n./inv test-e2e --url http://localhost:31000: {time.monotonic() - started:.1f} s")
    assert proc.returncode == 0, proc.stdout[-5000:]
    summary = re.search(r"^=*\s*(\d+) passed(?:, (\d+) skipped)?(?:, \d+ warnings?)? in [\d.]+s", proc.stdout, re.M)
    assert summary, proc.stdout[-3000:]
    assert int(summary.group(1)) >= 40  # the whole suite ran, not a selection
    # Only tests that need a stack the suite starts itself skip (the worker kill, the MongoDB freeze, the stack
    # with authentication on, ...; this layer deletes pods instead): -rs lists each skip with its reason.
    skips = re.findall(r"^SKIPPED \[(\d+)\] [^:]+:\d+: (.*)$", proc.stdout, re.M)  # [count] file:line: reason
    assert sum(int(count) for count, _ in skips) == int(summary.group(2) or 0), proc.stdout[-3000:]
    assert all("local stack" in reason for _, reason in skips), skips


def test_a_worker_pod_deleted_mid_job_retries_and_a_worker_takes_new_jobs(kubectl: Kubectl,
                                                                          deployed: Deployment) -> None:  # fmt: skip
    client = StackClient(NODE_PORT)
    for _ in range(3):  # a loaded machine may let the job finish between the poll and the delete: try again
        job_id = client.submit({"pos": enlarged_pos(12)}, {"project_name": "pod deleted", "search_dsstox": "no"})
        deadline = time.monotonic() + 60
        while (status := client.status(job_id))["status"] != "processing" or status["progress"] < 0.01:
            assert status["status"] in ("queued", "processing"), status
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        victims = [p["metadata"]["name"] for p in items(kubectl, "pods", "-l", WORKER_LABEL)]
        kubectl("-n", NAMESPACE, "delete", "pod", "--wait=false", *victims)
        deleted_at = time.monotonic()
        if client.status(job_id)["status"] != "completed":
            break
    else:
        pytest.fail("the job finished before the worker pod could be deleted, three times")
    final, _ = client.wait(job_id, timeout=240, interval=0.5)
    waited = time.monotonic() - deleted_at
    assert final["status"] in ("completed", "failed"), f"still {final['status']} {waited:.0f} s after the delete"
    if final["status"] == "failed":
        assert final["error"]["message"] and final["error"]["step"], final
    else:
        assert final["attempts"] >= 2, final
    print(f"\nworker pod deleted: job {final['status']} after attempt {final['attempts']}, {waited:.1f} s later")

    deadline = time.monotonic() + 90  # the deleted pod may still be terminating (grace period): wait it out
    while set(workers := [p["metadata"]["name"] for p in items(kubectl, "pods", "-l", WORKER_LABEL)]) & set(victims):
        assert time.monotonic() < deadline, f"deleted worker pod {victims} still exists after 90 s"
        time.sleep(1)
    assert workers, "no replacement worker pod"  # so the next job can only run on the replacement
    print(f"deleted worker pod gone after {time.monotonic() - deleted_at:.1f} s")
    fresh = client.submit(shipped("pos", "run_sequence_pos"), {"project_name": "after delete", "search_dsstox": "no"})
    status, _ = client.wait(fresh, timeout=180, interval=0.5)
    assert status["status"] == "completed" and status["attempts"] == 1, status


def worker_replicas(kubectl: Kubectl) -> tuple[int, int]:
    """(replicas the worker Deployment asks for, Ready worker pods)."""
    spec = json.loads(kubectl("-n", NAMESPACE, "get", "deployment/nta-dask-worker", "-o", "json").stdout)
    return spec["spec"]["replicas"], spec["status"].get("readyReplicas", 0)


def through_load(call: Callable[[], T], seconds: float = 60) -> T:
    """``call()``, resent while nginx answers 502/503: with two workers busy on 2 cores, Django's readiness probe
    can miss and take it out of the Service for a few seconds (the subject here is the HPA, not the web tier)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return call()
        except (AssertionError, requests.HTTPError) as exc:
            if not re.search(r"\b50[23]\b", str(exc)) or time.monotonic() > deadline:
                raise
            time.sleep(2)


def test_the_worker_hpa_scales_up_under_real_jobs_and_back_down(kubectl: Kubectl, metrics: str) -> None:
    """Jobs keep the one worker busy until the HPA adds workers up to its maximum; then it scales back to its
    minimum once they are done. Seconds are printed (benchmarks/bench_cluster.py --hpa measures them); the bounds
    here only stop a test that would otherwise wait forever."""
    hpa = json.loads(kubectl("-n", NAMESPACE, "get", "hpa.v2.autoscaling", "nta-dask-worker", "-o", "json").stdout)
    low, high = hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]
    assert high > low, hpa["spec"]
    settle = time.monotonic()  # the e2e suite before may have scaled up already: start from the minimum
    while worker_replicas(kubectl) != (low, low):
        assert time.monotonic() - settle < 900, f"workers not back at {low} before the test: {hpa_status(kubectl)}"
        time.sleep(2)
    client = StackClient(NODE_PORT)
    started = time.monotonic()
    jobs: list[str] = []
    while worker_replicas(kubectl)[1] < high:
        assert time.monotonic() - started < 600, f"workers never reached {high}: {hpa_status(kubectl)}"
        assert len(jobs) < 40, "40 jobs did not make the HPA scale up"
        # Keep two jobs queued or running, so the worker is busy whatever the size of one job.
        if sum(through_load(lambda j=j: client.status(j))["status"] in ("queued", "processing") for j in jobs) < 2:
            jobs.append(through_load(lambda: client.submit({"pos": enlarged_pos(12)},
                                                           {"project_name": "hpa load", "search_dsstox": "no"})))
        time.sleep(2)
    up = time.monotonic() - started
    print(f"\nHPA scale-up {low} -> {high} Ready workers under load: {up:.1f} s ({len(jobs)} jobs)")
    for job in jobs:
        final, _ = through_load(lambda job=job: client.wait(job, timeout=600, interval=1), seconds=600)
        assert final["status"] == "completed", final
    idle = time.monotonic()
    while worker_replicas(kubectl)[0] > low:
        assert time.monotonic() - idle < 900, f"workers never went back to {low}: {hpa_status(kubectl)}"
        time.sleep(2)
    print(f"HPA scale-down {high} -> {low} after the last job: {time.monotonic() - idle:.1f} s")

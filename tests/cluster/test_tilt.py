"""Real Tilt on the local cluster, the way a developer uses it, from an empty namespace:

`tilt ci` (build every image FROM the offline base, push to the cluster's registry, deploy, seed) -> all healthy;
then `tilt up` in the background: a saved Django view, Flask handler, pipeline module, nginx template and static
file are each served by the running pods (same pod names, no restart), a debugger's breakpoint in Django stops
before and after a live update, the e2e suite passes through NodePort 31000 meanwhile, a Dockerfile change
rebuilds the image and replaces the pod, `tilt down` removes the stack (keeping
MongoDB's data, as `./inv down` does) and `tilt down --delete-namespaces` the rest.

Runs after test_stack.py (file order), which leaves the namespace purged. The edits are made in this checkout and
always put back.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from nta_dev.cluster import CONTEXT, Cluster
from nta_dev.cluster.registry import HOST as REGISTRY
from nta_dev.tilt.run import CI_SUCCESS, Tilt, TiltUp
from nta_dev.tools import find
from tests.fixtures.dap import DapError, Debugger, http_get, in_background, local_variables, top_frame
from tests.fixtures.reload import EDITS, Probe
from tests.fixtures.require import unavailable
from tests.fixtures.stack_probes import stack_probes

from .conftest import REPO_ROOT, Kubectl, run_inv
from .helpers import NAMESPACE, NODE_PORT, get, items, pod_states, ready

WORKLOADS = {"nta-mongodb", "nta-dask-scheduler", "nta-dask-worker", "nta-django", "nta-flask", "nta-nginx"}
BUILT = {"nta-nginx", "nta-django", "nta-flask", "nta-dask", "nta-mongo-standin"}  # the Tiltfile's docker_builds
SEED_CSV = REPO_ROOT / "services" / "flask" / "seed" / "reference_seed.csv"
FLASK_LABEL = "app.kubernetes.io/name=nta-flask"
SERVE_TIMEOUT_S = 60


@dataclass
class CiRun:
    output: str
    code: int
    seconds: float


@pytest.fixture(scope="module")
def tilt(cluster: Cluster, base_image: str) -> Tilt:
    binary = find("tilt")
    if binary is None:
        unavailable("tilt not found: `./inv tools` builds the pinned Tilt from source (needs Go)")
    return Tilt(cluster.kubeconfig, CONTEXT, binary=str(binary))


def wait_gone(kubectl: Kubectl, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while kubectl("get", "namespace", NAMESPACE, check=False).returncode == 0:
        assert time.monotonic() < deadline, f"namespace {NAMESPACE} still there after {timeout:g} s"
        time.sleep(1)


@pytest.fixture(scope="module")
def ci_run(tilt: Tilt, kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> CiRun:
    wait_gone(kubectl)  # a fresh namespace, as on a new machine
    log = tmp_path_factory.mktemp("tilt") / "tilt-ci.log"
    started = time.monotonic()
    done = tilt.ci(log=log)
    run = CiRun(done.stdout, done.returncode, time.monotonic() - started)
    print(f"\ntilt ci: exit {run.code} after {run.seconds:.1f} s (log {log})")
    return run


def test_tilt_ci_reaches_all_healthy(ci_run: CiRun, kubectl: Kubectl) -> None:
    assert ci_run.code == 0 and CI_SUCCESS in ci_run.output, ci_run.output[-4000:]
    pods = items(kubectl, "pods")
    assert pods and all(ready(p) for p in pods)
    owners = {o["name"].rsplit("-", 1)[0] if o["kind"] == "ReplicaSet" else o["name"]
              for p in pods for o in p["metadata"]["ownerReferences"]}  # fmt: skip
    assert owners == WORKLOADS


def test_the_tiltfile_chose_the_overlay_and_base_for_this_cluster(ci_run: CiRun) -> None:
    assert "nta: context nta-local -> deploying k8s/overlays/cluster-local" in ci_run.output
    # no registry reaches the public base here: the offline base is detected and named in Tilt's log
    assert "nta: images build FROM nta-base:bookworm" in ci_run.output


def test_images_reach_the_cluster_through_its_announced_registry(ci_run: CiRun, kubectl: Kubectl) -> None:
    images = {c["image"] for p in items(kubectl, "pods") for c in p["spec"]["containers"]}
    names = {re.sub(r":tilt-[0-9a-f]+$", "", image.removeprefix(f"{REGISTRY}/")) for image in images}
    assert names == BUILT, images
    assert all(image.startswith(f"{REGISTRY}/") and ":tilt-" in image for image in images), images
    with urllib.request.urlopen(f"http://{REGISTRY}/v2/_catalog", timeout=10) as resp:
        assert set(json.load(resp)["repositories"]) >= BUILT


def answers(url: str) -> bool:
    try:
        return get(url)[0] == 200
    except OSError:  # URLError included: the NodePort may be programmed a moment after Tilt reports healthy
        return False


def test_a_fresh_stack_has_the_reference_seed(ci_run: CiRun) -> None:
    with SEED_CSV.open(newline="") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))
    wait_for(lambda: answers(f"{NODE_PORT}/nta/rest/healthz"), "the search API through NodePort 31000")
    assert json.loads(get(f"{NODE_PORT}/nta/rest/healthz")[1])["reference_compounds"] == rows


def test_the_mongo_stand_in_no_longer_logs_every_command(ci_run: CiRun, kubectl: Kubectl) -> None:
    # the probes and the apps' heartbeats have run commands for a while by now
    log = kubectl("-n", NAMESPACE, "logs", "statefulset/nta-mongodb").stdout
    assert "per-command logging off" in log
    assert "Calling db.command" not in log and "Command response" not in log, log[-2000:]


@pytest.fixture(scope="module")
def up(ci_run: CiRun, tilt: Tilt, kubectl: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TiltUp]:
    if ci_run.code != 0:
        pytest.fail("tilt ci failed (see test_tilt_ci_reaches_all_healthy)", pytrace=False)
    # Django under debugpy (test_a_breakpoint_survives_a_live_update); the other tests see it running as usual.
    session = tilt.up(tmp_path_factory.mktemp("tilt") / "tilt-up.log", "--debug", "django")
    try:
        print(f"\ntilt up: every resource healthy after {session.wait_healthy():.1f} s")
        wait_for(lambda: debugged_django_only(kubectl), "one nta-django pod, the one under debugpy", timeout=180)
        yield session
    finally:
        session.stop()


def debugged_django_only(kubectl: Kubectl) -> bool:
    """The rollout `--debug django` caused is over: one Django pod left, Ready, with NTA_DEBUG set."""
    pods = items(kubectl, "pods", "-l", "app.kubernetes.io/name=nta-django")
    env = [{e["name"] for e in p["spec"]["containers"][0].get("env", [])} for p in pods]
    return len(pods) == 1 and ready(pods[0]) and "NTA_DEBUG" in env[0]


@pytest.fixture(scope="module")
def probes(up: TiltUp, cluster: Cluster) -> Iterator[dict[str, Probe]]:
    with stack_probes(cluster.kubeconfig, CONTEXT) as found:
        yield found


def wait_for(check: Callable[[], bool], what: str, timeout: float = SERVE_TIMEOUT_S) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"{what} not seen after {timeout:g} s"
        time.sleep(0.05)
    return time.monotonic() - started


@pytest.mark.parametrize("service", ["django", "flask", "worker", "nginx", "static"])
def test_a_saved_file_is_served_by_the_same_pods(up: TiltUp, probes: dict[str, Probe], kubectl: Kubectl,
                                                 service: str) -> None:  # fmt: skip
    edit, probe = EDITS[service], probes[service]
    path = REPO_ROOT / edit.path
    original = path.read_text()
    assert probe(""), f"{service} does not answer before the change"
    before = pod_states(kubectl)
    token = f"r{uuid.uuid4().hex[:10]}"
    try:
        path.write_text(edit.apply(original, token))  # as an editor saves it; Tilt does the rest
        seconds = wait_for(lambda: probe(token), f"{service}: {edit.path} with {token}")
    finally:
        path.write_text(original)
    wait_for(lambda: probe("") and not probe(token), f"{service}: the original {edit.path} served again")
    print(f"\ntilt live update {service}: served {seconds:.2f} s after the save")
    assert pod_states(kubectl) == before  # same pods, no container restarted


def test_the_e2e_suite_passes_while_tilt_up_runs(up: TiltUp, cluster: Cluster) -> None:
    started = time.monotonic()
    proc = run_inv(cluster.kubeconfig, "test-e2e", "--url", "http://localhost:31000", timeout=900)
    print(f"\n./inv test-e2e --url http://localhost:31000 under tilt up: {time.monotonic() - started:.1f} s")
    assert proc.returncode == 0, proc.stdout[-5000:]
    summary = re.search(r"^=*\s*(\d+) passed", proc.stdout, re.M)
    assert summary and int(summary.group(1)) >= 40, proc.stdout[-3000:]


def test_a_breakpoint_survives_a_live_update(up: TiltUp, kubectl: Kubectl) -> None:
    """`tilt up -- --debug django`: a DAP client on Tilt's forward of port 5678 (paths mapped to /app, as in the
    README's VS Code configuration) stops in the view; after a save Tilt syncs, gunicorn forks a new worker, and the
    same breakpoint stops again in the new code."""
    views = REPO_ROOT / EDITS["django"].path
    original = views.read_text()
    line = next(n for n, text in enumerate(original.splitlines(), 1) if 'HttpResponse("ok\\n"' in text)
    mapping = {"localRoot": str(REPO_ROOT), "remoteRoot": "/app"}
    debugger = Debugger("127.0.0.1", 5678, options={"pathMappings": [mapping]})
    # The kubelet's readiness probe reaches the same line every 10 s: only the test's own request may stop there,
    # or a probe stopped at it, which nobody continues, would hold Django's worker (and fail the probes).
    debugger.breakpoints[str(views)] = [(line, "request.GET.get('debugger') == 'test'")]
    debugger.attach().wait_sessions(2)  # gunicorn's master and its worker, in the pod
    url = f"{NODE_PORT}/nta/healthz?debugger=test"
    before = pod_states(kubectl)
    try:
        answer = in_background(http_get, url)
        session, stopped = debugger.stopped(timeout=SERVE_TIMEOUT_S, unless=answer)
        frame = top_frame(session, stopped["threadId"])
        assert (frame["name"], frame["line"], frame["source"]["path"]) == ("healthz", line, str(views)), frame
        assert "WSGIRequest" in local_variables(session, frame["id"])["request"]
        session.resume(stopped["threadId"], answer)
        assert answer.result(timeout=SERVE_TIMEOUT_S) == "ok\n"
        # Every thread of the worker runs again (none left suspended by debugpy): another page is served.
        assert "<html" in http_get(f"{NODE_PORT}/nta/jobs/", 20).lower(), "Django stopped answering after continue"

        sessions = len(debugger.sessions)
        views.write_text(original.replace('HttpResponse("ok\\n"', 'HttpResponse("ok via tilt\\n"', 1))
        with what_django_and_tilt_said(kubectl, up):
            debugger.wait_sessions(sessions + 1, timeout=SERVE_TIMEOUT_S)  # Tilt synced, gunicorn forked, followed
            answer = in_background(http_get, url)
            session, stopped = debugger.stopped(timeout=SERVE_TIMEOUT_S, unless=answer)
            frame = top_frame(session, stopped["threadId"])
            assert (frame["name"], frame["line"]) == ("healthz", line), frame
            session.resume(stopped["threadId"], answer)
        assert answer.result(timeout=SERVE_TIMEOUT_S) == "ok via tilt\n"  # the stop was in the new code's request
    finally:
        views.write_text(original)
        debugger.close()
    assert pod_states(kubectl) == before  # the same pod: no restart for the debugger


@contextlib.contextmanager
def what_django_and_tilt_said(kubectl: Kubectl, up: TiltUp) -> Iterator[None]:
    """A debugger wait that fails shows the ends of Django's and Tilt's logs: did Tilt sync, did gunicorn fork?"""
    try:
        yield
    except DapError as exc:
        django = kubectl("-n", NAMESPACE, "logs", "deploy/nta-django", "--tail", "40", check=False)
        tilt = up.log.read_text(errors="replace")[-3000:] if up.log.exists() else "(no Tilt log)"
        said = f"--- nta-django log ---\n{django.stdout}{django.stderr}\n--- tilt up log ---\n{tilt}"
        raise DapError(f"{exc}\n{said}") from exc


def flask_pods(kubectl: Kubectl) -> dict[str, str]:
    """{pod: image} of the Flask pods that are Ready and not being deleted."""
    return {p["metadata"]["name"]: p["spec"]["containers"][0]["image"]
            for p in items(kubectl, "pods", "-l", FLASK_LABEL)
            if ready(p) and not p["metadata"].get("deletionTimestamp")}  # fmt: skip


def test_a_dockerfile_change_rebuilds_the_image_and_replaces_the_pod(up: TiltUp, kubectl: Kubectl) -> None:
    dockerfile = REPO_ROOT / "services" / "flask" / "Dockerfile"
    original = dockerfile.read_text()
    before = flask_pods(kubectl)
    assert len(before) == 1, before
    stage = "FROM deps AS dev\n"
    assert stage in original
    token = uuid.uuid4().hex[:10]
    try:  # a new label changes the image (a comment would not): Tilt must rebuild it, not live-update
        dockerfile.write_text(original.replace(stage, f"{stage}LABEL org.nta.rebuild-test={token}\n", 1))
        seconds = wait_for(lambda: (now := flask_pods(kubectl)) and not set(now) & set(before)
                           and set(now.values()) != set(before.values()), "a new Flask pod with a new image", 420)
    finally:
        dockerfile.write_text(original)
    print(f"\nDockerfile change -> new image, new Flask pod Ready: {seconds:.1f} s")
    inspect = kubectl("-n", NAMESPACE, "get", "pods", "-l", FLASK_LABEL, "-o", "json").stdout
    assert token not in inspect  # the label is in the image, not the pod spec: the image itself changed
    up.wait_healthy(420)  # the original Dockerfile builds (from cache) and rolls out again


def stack_objects(kubectl: Kubectl) -> list[str]:
    """What Tilt deployed (or its pods) still in the namespace; not what Kubernetes puts in every namespace."""
    names = kubectl("-n", NAMESPACE, "get", "deployments,statefulsets,services,pods,configmaps,secrets",
                    "-o", "name").stdout.split()  # fmt: skip
    return [n for n in names if n != "configmap/kube-root-ca.crt" and not n.startswith("secret/default-token-")]


def test_tilt_down_removes_the_stack_and_keeps_the_data(up: TiltUp, tilt: Tilt, kubectl: Kubectl) -> None:
    up.stop()
    done = tilt.down()
    assert done.returncode == 0, done.stdout + done.stderr
    deadline = time.monotonic() + 180
    while left := stack_objects(kubectl):
        assert time.monotonic() < deadline, f"left after tilt down: {left}"
        time.sleep(1)
    # as with `./inv down`: the namespace and MongoDB's volume claim stay (Tilt never deletes namespaces unasked)
    claims = [c["metadata"]["name"] for c in items(kubectl, "pvc")]
    assert claims == ["data-nta-mongodb-0"], claims
    purge = tilt.down(delete_namespaces=True)
    assert purge.returncode == 0, purge.stdout + purge.stderr
    wait_gone(kubectl)


@pytest.fixture(scope="module", autouse=True)
def checkout_unchanged() -> Iterator[None]:
    """Every edit of this module is put back: the checkout ends as it began."""
    paths = [REPO_ROOT / e.path for e in EDITS.values()] + [REPO_ROOT / "services" / "flask" / "Dockerfile"]
    before = {p: p.read_bytes() for p in paths}
    yield
    changed = [str(p.relative_to(REPO_ROOT)) for p in paths if p.read_bytes() != before[p]]
    for p in paths:
        p.write_bytes(before[p])
    assert not changed, f"left edited: {changed}"

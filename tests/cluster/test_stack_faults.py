"""Faults on the cluster, nothing lost: the MongoDB pod deleted mid-job, the scheduler restarted with jobs queued,
Django rolled out under an upload in flight.

Every job ends completed, or failed naming its step and why, within a bound; none stays "queued" or "processing".
The local stack's versions of these faults are tests/e2e/test_faults.py; here the pods really go away (the MongoDB
stand-in keeps its data on its volume, as MongoDB would). This module deploys its own stack (test_stack.py's
`deployed` fixture, run again: `./inv apply` on a fresh namespace, `./inv down --purge` after), so the faults leave
nothing behind for test_tilt.py. Seconds are printed; the bounds only stop a test that would wait forever.
"""

from __future__ import annotations

import json
import time

import requests

from tests.e2e.client import SlowUpload, StackClient
from tests.e2e.data import enlarged_pos, shipped

from .conftest import Kubectl
from .helpers import NAMESPACE, NODE_PORT, items, ready
from .test_stack import Deployment, deployed  # noqa: F401  (the fixture, instanced for this module)

FINISHED = ("completed", "failed")
# A job lost with the scheduler is resubmitted once it has been queued a lease (NTA_JOB_LEASE_SECONDS, 60 s) with
# no task; the reaper looks every quarter lease. Twice that, plus the run itself, bounds the wait.
LEASE_S = 60


def status_or_none(client: StackClient, job_id: str) -> dict | None:
    """The job's status, or None while the stack cannot answer (its database or a pod is coming back)."""
    try:
        return client.status(job_id)
    except (requests.RequestException, ValueError):
        return None


def wait_finished(client: StackClient, job_ids: list[str], timeout: float) -> dict[str, dict]:
    deadline, finished, last = time.monotonic() + timeout, {}, {}
    while len(finished) < len(job_ids):
        for job_id in set(job_ids) - set(finished):
            if (status := status_or_none(client, job_id)) is not None:
                last[job_id] = status
                if status["status"] in FINISHED:
                    finished[job_id] = status
        assert time.monotonic() < deadline, f"not finished after {timeout:g} s: " + "; ".join(
            f"{j}: {s['status']} ({s['step']})" for j, s in last.items() if j not in finished)  # fmt: skip
        time.sleep(1)
    return finished


def assert_ended_well(status: dict) -> None:
    """Completed, or failed with the step and the reason (a fault may cost a job, never silently)."""
    if status["status"] == "failed":
        assert status["error"] and status["error"]["step"] and status["error"]["message"], status
    else:
        assert status["status"] == "completed", status


def wait_pods_ready(kubectl: Kubectl, label: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not ((pods := items(kubectl, "pods", "-l", label)) and all(ready(p) for p in pods)):
        assert time.monotonic() < deadline, f"pods {label} not Ready after {timeout:g} s"
        time.sleep(1)


def test_the_mongodb_pod_deleted_mid_job_loses_no_job(kubectl: Kubectl, deployed: Deployment) -> None:  # noqa: F811
    client = StackClient(NODE_PORT)
    job_id = client.submit({"pos": enlarged_pos(12)}, {"project_name": "mongodb deleted", "search_dsstox": "no"})
    client.wait_running(job_id, timeout=120)
    kubectl("-n", NAMESPACE, "delete", "pod", "nta-mongodb-0", "--wait=false")
    deleted_at = time.monotonic()

    final = wait_finished(client, [job_id], timeout=360)[job_id]
    print(f"\nMongoDB pod deleted mid-job: the job {final['status']} {time.monotonic() - deleted_at:.1f} s later "
          f"(attempt {final['attempts']})")  # fmt: skip
    assert_ended_well(final)
    wait_pods_ready(kubectl, "app.kubernetes.io/name=nta-mongodb")
    fresh = client.submit(shipped("pos", "run_sequence_pos"), {"project_name": "after mongo", "search_dsstox": "no"})
    assert wait_finished(client, [fresh], timeout=240)[fresh]["status"] == "completed"


def test_jobs_queued_when_the_scheduler_restarts_end_instead_of_waiting_forever(kubectl: Kubectl,
                                                                                 deployed: Deployment) -> None:  # noqa: F811,E501  # fmt: skip
    client = StackClient(NODE_PORT)
    # More jobs than the one worker thread runs at once: the later ones wait in the scheduler, "queued".
    jobs = [client.submit({"pos": enlarged_pos(8)}, {"project_name": f"queued {i}", "search_dsstox": "no"})
            for i in range(4)]  # fmt: skip
    queued = [j for j in jobs if client.status(j)["status"] == "queued"]
    assert queued, "every job started at once: nothing was queued when the scheduler restarted"
    kubectl("-n", NAMESPACE, "delete", "pod", "-l", "app.kubernetes.io/name=nta-dask-scheduler", "--wait=false")
    restarted_at = time.monotonic()

    finished = wait_finished(client, jobs, timeout=4 * LEASE_S + 300)
    print(f"\nscheduler restarted with {len(queued)} of {len(jobs)} jobs queued: all ended "
          f"{time.monotonic() - restarted_at:.1f} s later: " + ", ".join(f"{s['status']}" for s in finished.values()))
    for status in finished.values():
        assert_ended_well(status)
    assert any(finished[j]["status"] == "completed" for j in queued), finished  # a lost job was run again


def pod_names(kubectl: Kubectl, label: str) -> set[str]:
    return {p["metadata"]["name"] for p in items(kubectl, "pods", "-l", label)}


def test_a_django_rollout_cuts_no_upload_in_flight(kubectl: Kubectl, deployed: Deployment) -> None:  # noqa: F811
    """An upload still being sent while Django rolls out (new pod Ready, old pod drained and gone) lands whole."""
    client, label = StackClient(NODE_PORT), "app.kubernetes.io/name=nta-django"
    old = pod_names(kubectl, label)
    upload = SlowUpload(client.prepare_upload(shipped("pos", "run_sequence_pos"),
                                              {"project_name": "rollout", "search_dsstox": "no"}))  # fmt: skip
    try:
        upload.send(len(upload.body) // 2)
        kubectl("-n", NAMESPACE, "rollout", "restart", "deployment/nta-django")
        started = time.monotonic()
        while old & pod_names(kubectl, label):  # until every old pod is deleted, not just terminating
            assert time.monotonic() - started < 300, f"the old Django pods {old} are still there after 300 s"
            upload.send(256)  # a trickle: nginx's client_body_timeout (60 s) is between two reads
            time.sleep(1)
        print(f"\nDjango rolled out under an upload in flight: old pods gone {time.monotonic() - started:.1f} s "
              f"after the restart, {upload.left} bytes of {len(upload.body)} still to send")  # fmt: skip
        status, body = upload.finish()
    finally:
        upload.close()
    assert status == 201, f"HTTP {status}: {body[:500]!r}"
    job_id = json.loads(body)["job_id"]
    assert wait_finished(client, [job_id], timeout=240)[job_id]["status"] == "completed"

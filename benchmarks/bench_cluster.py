"""Local Kubernetes cluster benchmark: binary build (cold / cached), start -> node Ready, apply -> all Ready,
the e2e suite through the NodePort, the worker HPA up and down, real `tilt ci` (build, push to the cluster's
registry, deploy, healthy).

Numbers only: this never passes or fails. Needs root and a Docker engine. Run:
`python benchmarks/bench_cluster.py [--version V] [--cold] [--apply] [--hpa] [--tilt] [--keep]`.
- `--version` picks the release (default: NTA_K8S_VERSION, else the toolkit's default);
- `--cold` also builds the binaries from scratch into a temporary binary cache, with an empty Go build cache and
  module cache (everything downloaded and compiled, as on a fresh CI machine);
- `--apply` runs `./inv apply --overlay cluster-local` (images nta-*:dev and nta-mongo-standin:dev must exist)
  and times until every pod is Ready and http://localhost:31000/nta/healthz answers through the NodePort; then
  `./inv seed` and times `./inv test-e2e --url http://localhost:31000`;
- `--hpa` (with `--apply`) installs metrics-server (`./inv metrics-server`), then keeps two jobs queued on the
  worker until the HPA has its maximum of workers Ready, and times that and the way back to the minimum after the
  last job (the local cluster's HPA forgets a scale-down recommendation after 60 s);
- `--tilt` times `tilt ci` from an empty namespace (live-update numbers: `bench_reload.py --level tilt`);
- a cluster already running is stopped first and, unless `--keep`, stopped again at the end.
Times are wall-clock seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

from nta_dev.cluster import CONTEXT, build_binaries, down, release, running_pids, up
from nta_dev.cluster.tasks import run_task

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.e2e: the stack's HTTP client and data

T = TypeVar("T")
NODE_PORT_URL = "http://127.0.0.1:31000/nta/healthz"


def timed(label: str, rows: list[tuple[str, float]], func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    started = time.monotonic()
    result = func(*args, **kwargs)
    rows.append((label, time.monotonic() - started))
    print(f"{label:<34} {rows[-1][1]:8.1f} s", flush=True)
    return result


def cold_build() -> None:
    with tempfile.TemporaryDirectory(prefix="nta-k8s-cold-") as cache:
        empty = {"NTA_K8S_CACHE": f"{cache}/bin", "GOCACHE": f"{cache}/go-build", "GOMODCACHE": f"{cache}/mod"}
        try:
            with mock.patch.dict(os.environ, empty):  # put back as it was, even after a failed build
                build_binaries()
        finally:
            subprocess.run(["chmod", "-R", "u+w", cache])  # the module cache is read-only


def kubectl(kubeconfig: Path, *args: str, timeout: float = 600) -> str:
    proc = subprocess.run(["kubectl", f"--kubeconfig={kubeconfig}", f"--context={CONTEXT}", *args],
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"kubectl {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def task(kubeconfig: Path, *args: str) -> str:
    proc = run_task(*args, kubeconfig=kubeconfig, timeout=1200)
    if proc.returncode != 0:
        raise SystemExit(f"./inv {' '.join(args)} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}")
    return proc.stdout


def apply_until_ready(kubeconfig: Path) -> None:
    task(kubeconfig, "apply", "--overlay", "cluster-local")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        pods = json.loads(kubectl(kubeconfig, "-n", "nta", "get", "pods", "-o", "json"))["items"]
        ready = [all(c["status"] == "True" for c in p["status"].get("conditions", []) if c["type"] == "Ready")
                 and p["status"].get("conditions") for p in pods]
        if pods and all(ready):
            break
        time.sleep(1)
    else:
        raise SystemExit("pods not Ready within 600 s: `kubectl -n nta get pods`")
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(NODE_PORT_URL, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"{NODE_PORT_URL} did not answer within 600 s")


def worker_replicas(kubeconfig: Path) -> tuple[int, int]:
    spec = json.loads(kubectl(kubeconfig, "-n", "nta", "get", "deployment/nta-dask-worker", "-o", "json"))
    return spec["spec"]["replicas"], spec["status"].get("readyReplicas", 0)


def hpa_cycle(kubeconfig: Path, rows: list[tuple[str, float]]) -> None:
    """Scale-up under real jobs to the HPA's maximum (Ready workers), then back to its minimum after the last job."""
    from tests.e2e.client import StackClient
    from tests.e2e.data import enlarged_pos

    hpa = json.loads(kubectl(kubeconfig, "-n", "nta", "get", "hpa.v2.autoscaling", "nta-dask-worker", "-o", "json"))
    low, high = hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]
    while worker_replicas(kubeconfig) != (low, low):
        time.sleep(2)
    client = StackClient("http://127.0.0.1:31000")
    jobs: list[str] = []
    started = time.monotonic()
    while worker_replicas(kubeconfig)[1] < high:
        if sum(client.status(j)["status"] in ("queued", "processing") for j in jobs) < 2:
            jobs.append(client.submit({"pos": enlarged_pos(12)}, {"project_name": "bench hpa", "search_dsstox": "no"}))
        time.sleep(1)
        if time.monotonic() - started > 900:
            raise SystemExit(f"no scale-up to {high} within 900 s")
    rows.append((f"HPA scale-up {low} -> {high} Ready", time.monotonic() - started))
    print(f"{rows[-1][0]:<34} {rows[-1][1]:8.1f} s  ({len(jobs)} jobs)", flush=True)
    for job in jobs:
        client.wait(job, timeout=900, interval=1)
    idle = time.monotonic()
    while worker_replicas(kubeconfig)[0] > low:
        time.sleep(1)
    rows.append((f"HPA scale-down {high} -> {low}", time.monotonic() - idle))
    print(f"{rows[-1][0]:<34} {rows[-1][1]:8.1f} s  (after the last job)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", help="Kubernetes release (default: NTA_K8S_VERSION, else the default)")
    parser.add_argument("--cold", action="store_true", help="also time a build from scratch")
    parser.add_argument("--hpa", action="store_true", help="with --apply: metrics-server, then HPA up and down")
    parser.add_argument("--apply", action="store_true", help="also deploy the stack and wait for all Ready")
    parser.add_argument("--tilt", action="store_true", help="also time `tilt ci` from an empty namespace")
    parser.add_argument("--keep", action="store_true", help="leave the cluster running at the end")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.version:
        os.environ["NTA_K8S_VERSION"] = args.version
    print(f"Kubernetes {release().version}", flush=True)
    rows: list[tuple[str, float]] = []
    if args.cold:
        timed("binary build (cold)", rows, cold_build)
    timed("binary build (cached)", rows, build_binaries)
    if running_pids():
        timed("stop running cluster", rows, down)
    cluster = timed("cluster start -> node Ready", rows, up)
    for phase, seconds in cluster.timings.items():
        print(f"  {phase:<32} {seconds:8.1f} s")
    if args.apply:
        timed("apply cluster-local -> all Ready", rows, apply_until_ready, cluster.kubeconfig)
        task(cluster.kubeconfig, "seed")
        out = timed("e2e suite (./inv test-e2e --url)", rows, task, cluster.kubeconfig, "test-e2e", "--url",
                    "http://localhost:31000")  # fmt: skip
        print(f"  {out.strip().splitlines()[-1]}")
        if args.hpa:
            timed("./inv metrics-server -> top nodes", rows, task, cluster.kubeconfig, "metrics-server", "--timeout",
                  "300")
            hpa_cycle(cluster.kubeconfig, rows)
        if args.keep:
            print("stack left deployed: `./inv down --overlay cluster-local --purge` removes it")
        else:
            timed("./inv down --purge", rows, task, cluster.kubeconfig, "down", "--overlay", "cluster-local",
                  "--purge")  # fmt: skip
    if args.tilt:
        from nta_dev.tilt.run import CI_SUCCESS, Tilt

        tilt = Tilt(cluster.kubeconfig, CONTEXT)
        done = timed("tilt ci (build, push, deploy, healthy)", rows, tilt.ci)
        print(f"  {CI_SUCCESS if CI_SUCCESS in done.stdout else 'tilt ci FAILED: ' + done.stdout[-2000:]}")
        if not args.keep:
            timed("tilt down", rows, tilt.down)
    if not args.keep:
        timed("cluster stop", rows, down)


if __name__ == "__main__":
    main()

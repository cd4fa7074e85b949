"""Benchmark of the running stack: job overhead and search latency through nginx (prints numbers; no pass/fail).

    .venv/bin/python benchmarks/bench_stack.py [--jobs 5] [--base-url URL]

Without --base-url it starts the local stack on shifted ports. For each job (the shipped positive-mode table with
its run sequence, search off) it splits upload -> completed into: the upload request (validation, GridFS, submit),
dispatch (created -> a worker claimed it), the run (claim -> completed, of which the workflow itself is
summary.seconds) and the rest. Overhead = total - workflow time; the issue's target is <= 1 s.
`infra` also leaves out rendering the result files: what the stack itself adds. Then it times 5,000 masses at
5 ppm through nginx -> Flask against the seeded reference collection.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "dev")]

from nta_dev.stack.local import BackgroundStack, StackConfig, free_port_offset  # noqa: E402
from tests.e2e.client import StackClient  # noqa: E402
from tests.e2e.data import shipped  # noqa: E402


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _pct(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return f"p50 {statistics.median(values):7.3f} s   p90 {p90:7.3f} s"


def bench_jobs(client: StackClient, jobs: int) -> None:
    files = shipped("pos", "run_sequence_pos")
    keys = ("total", "upload", "dispatch", "run", "workflow", "files", "overhead", "infra")
    rows: dict[str, list[float]] = {k: [] for k in keys}
    for i in range(jobs + 1):
        t0 = time.time()
        job_id = client.submit(files, {"project_name": f"bench {i}", "search_dsstox": "no"})
        t1 = time.time()
        status, _ = client.wait(job_id, timeout=300, interval=0.05)
        t2 = time.time()
        doc = client.http.get(client.url(f"/nta/rest/jobs/{job_id}")).json()
        assert doc["status"] == "completed", doc.get("error")
        if i == 0:  # kept out of the rows: a fresh stack's first request, first job of its worker
            first = t2 - t0
            continue
        workflow = float(doc["summary"]["seconds"])
        rows["total"].append(t2 - t0)
        rows["upload"].append(t1 - t0)
        rows["dispatch"].append(_ts(doc["started_at"]) - _ts(doc["created_at"]))
        rows["run"].append(_ts(doc["finished_at"]) - _ts(doc["started_at"]))
        rows["workflow"].append(workflow)
        rows["files"].append(float(doc["summary"]["save_seconds"]))
        rows["overhead"].append(t2 - t0 - workflow)
        rows["infra"].append(t2 - t0 - workflow - rows["files"][-1])
    print(f"jobs: {jobs} x shipped positive-mode export (search off), upload -> completed")
    print(f"  first job of a fresh stack (not in the rows below): {first:.3f} s")
    for name, values in rows.items():
        print(f"  {name:<9} {_pct(values)}")
    print("  run = claim -> completed; files = rendering the workbook, CSVs and zip; overhead = total - workflow;\n"
          "  infra = overhead - files: upload, validation, GridFS, Dask dispatch, progress writes, polling")


def bench_search(client: StackClient, reps: int = 10) -> None:
    masses = np.random.default_rng(1).uniform(100, 900, 5000).round(5).tolist()
    body = {"search_by": "mass", "query": masses, "accuracy": 5}
    times = []
    for _ in range(reps + 1):
        t0 = time.perf_counter()
        resp = client.http.post(client.url("/nta/rest/ms1/batch/bench"), json=body, timeout=60)
        times.append(time.perf_counter() - t0)
        resp.raise_for_status()
    print(f"search: 5,000 masses at 5 ppm through nginx -> Flask (seeded reference), {reps} requests")
    print(f"  round trip {_pct(times[1:])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--base-url", default="")
    args = parser.parse_args()
    if args.base_url:
        client = StackClient(args.base_url)
        bench_jobs(client, args.jobs)
        bench_search(client)
        return
    with tempfile.TemporaryDirectory() as tmp:
        cfg = StackConfig(port_offset=free_port_offset(), state_dir=Path(tmp) / "state")
        t0 = time.perf_counter()
        with BackgroundStack(cfg, Path(tmp) / "stack.log"):
            print(f"local stack up in {time.perf_counter() - t0:.1f} s")
            client = StackClient(cfg.base_url)
            bench_jobs(client, args.jobs)
            bench_search(client)


if __name__ == "__main__":
    main()

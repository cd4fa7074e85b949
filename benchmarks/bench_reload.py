"""Hot-reload benchmark: save a file -> the new code answers, p50/p90 per service and level (prints numbers).

    .venv/bin/python benchmarks/bench_reload.py [--level local] [--repeat 10]

Levels:
  local       the local stack (./inv up) on a scratch copy of the services' code; the file is written in place.
  tilt        the real `tilt up` on the local cluster (`./inv cluster-local` first): the file is saved in this
              checkout and Tilt's live_update syncs it into the pods; probes go through NodePort 31000 (and a
              port-forward to the scheduler). Started here and stopped after (the stack stays deployed).
              `--level all` includes it only when that cluster is running.
Targets (p50, printed beside each line): local Django and Flask <= 0.3 s, the worker <= 0.6 s; through real Tilt
<= 0.8 s. Live update into containers is measured only through the real Tilt: no imitation of it is kept.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "dev")]

from nta_dev.stack.local import BackgroundStack, StackConfig, free_port_offset  # noqa: E402
from tests.fixtures.reload import (  # noqa: E402
    EDITS,
    HTTP_SERVICES,
    Deliver,
    Probe,
    dask_probe,
    http_probe,
    local_deliver,
    measure,
    percentiles,
)

# A restarted process needs a moment to watch its files again; nobody saves twice within a second.
SETTLE_S = 1.0
TARGETS = {("local", "django"): 0.3, ("local", "flask"): 0.3, ("local", "worker"): 0.6,
           ("tilt", "django"): 0.8, ("tilt", "flask"): 0.8, ("tilt", "worker"): 0.8}  # fmt: skip
COPIED = ("services/pipeline/src", "services/django/src", "services/flask/src", "services/nginx")  # like tests/reload


def bench_local(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "src"
        for rel in COPIED:
            shutil.copytree(REPO / rel, root / rel, ignore=shutil.ignore_patterns("__pycache__"))
        cfg = StackConfig(port_offset=free_port_offset(), state_dir=Path(tmp) / "state", source_root=root)
        with BackgroundStack(cfg, Path(tmp) / "stack.log"):
            run_level("local", repeat, cfg.base_url, f"tcp://127.0.0.1:{cfg.port('scheduler')}", local_deliver(root),
                      lambda path: (root / path).read_text())  # fmt: skip


def run_level(level: str, repeat: int, base_url: str, scheduler: str, deliver: Deliver,
              read: Callable[[str], str]) -> None:  # fmt: skip
    probe_worker, close = dask_probe(scheduler)
    try:
        measure_all(level, repeat, {**{s: http_probe(base_url, s) for s in HTTP_SERVICES}, "worker": probe_worker},
                    deliver, read)
    finally:
        close()


def measure_all(level: str, repeat: int, probes: dict[str, Probe], deliver: Deliver,
                read: Callable[[str], str]) -> None:  # fmt: skip
    """Measure every EDITS entry `repeat` times through `deliver`, print p50/p90, put the original back."""
    for service, probe in probes.items():
        edit = EDITS[service]
        original = read(edit.path)
        times = []
        try:
            for _ in range(repeat):
                times.append(measure(edit, original, deliver, probe))
                time.sleep(SETTLE_S)
        finally:
            deliver(edit.path, original.encode())
        print(f"{level:<11} {service:<7} {percentiles(times)}{verdict(level, service, times)}", flush=True)


def verdict(level: str, service: str, times: list[float]) -> str:
    target = TARGETS.get((level, service))
    if target is None:
        return ""
    p50 = statistics.median(times)
    return f"  target <= {target:.1f} s: {'met' if p50 <= target else f'missed by {p50 - target:.2f} s'}"


def bench_tilt(repeat: int) -> None:
    """Real `tilt up` on the running local cluster; every edit is saved in this checkout, Tilt syncs it."""
    from nta_dev.cluster import CONTEXT, kubeconfig_path
    from nta_dev.tilt.run import Tilt
    from tests.fixtures.stack_probes import stack_probes

    with tempfile.TemporaryDirectory() as tmp:
        session = Tilt(kubeconfig_path(), CONTEXT).up(Path(tmp) / "tilt.log")
        try:
            print(f"tilt        (up, all resources healthy after {session.wait_healthy():.0f} s)", flush=True)
            with stack_probes(kubeconfig_path(), CONTEXT) as probes:
                measure_all("tilt", repeat, probes, local_deliver(REPO), lambda path: (REPO / path).read_text())
        finally:
            session.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", choices=["local", "tilt", "all"], default="all")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    print("level       service  save -> new code answering")
    if args.level in ("local", "all"):
        bench_local(args.repeat)
    if args.level == "tilt" or (args.level == "all" and _cluster_running()):
        bench_tilt(args.repeat)


def _cluster_running() -> bool:
    from nta_dev.cluster import running_pids

    return bool(running_pids())


if __name__ == "__main__":
    main()

"""Hot-reload benchmark: save a file -> the new code answers, p50/p90 per service and level (prints numbers).

    .venv/bin/python benchmarks/bench_reload.py [--level local] [--repeat 10]

Levels:
  local       the local stack (./inv up) on a scratch copy of the services' code; the file is written in place.
  containers  the dev images on one Docker network; the file arrives as a tar stream through `docker exec`
              followed by the run step, as Tilt's live_update delivers it (needs the images; see nta_dev.containers).
Targets (issue 6): p50 <= 1.5 s for Django, Flask and nginx; <= 3 s for a worker restart.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "dev")]

from nta_dev.localstack import BackgroundStack, StackConfig, free_port_offset  # noqa: E402
from nta_dev.reload import EDITS, dask_probe, http_probe, local_deliver, measure, percentiles  # noqa: E402

# A restarted process needs a moment to watch its files again; nobody saves twice within a second.
SETTLE_S = 1.0
COPIED = ("services/pipeline/src", "services/django/src", "services/flask/src", "services/nginx")


def bench_local(repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "src"
        for rel in COPIED:
            shutil.copytree(REPO / rel, root / rel, ignore=shutil.ignore_patterns("__pycache__"))
        cfg = StackConfig(port_offset=free_port_offset(), state_dir=Path(tmp) / "state", source_root=root)
        with BackgroundStack(cfg, Path(tmp) / "stack.log"):
            probe_worker, close = dask_probe(f"tcp://127.0.0.1:{cfg.port('scheduler')}")
            probes: dict[str, Callable[[str], bool]] = {s: http_probe(cfg.base_url, s) for s in ("django", "flask",
                                                                                                  "nginx")}  # fmt: skip
            probes["worker"] = probe_worker
            try:
                for service, probe in probes.items():
                    edit = EDITS[service]
                    original = (root / edit.path).read_text()
                    times = []
                    for _ in range(repeat):
                        times.append(measure(edit, original, local_deliver(root), probe))
                        time.sleep(SETTLE_S)
                    (root / edit.path).write_text(original)
                    print(f"local       {service:<7} {percentiles(times)}")
            finally:
                close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", choices=["local", "containers", "all"], default="all")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    print("level       service  save -> new code answering")
    if args.level in ("local", "all"):
        bench_local(args.repeat)
    if args.level in ("containers", "all"):
        from nta_dev.containers_reload import bench_containers  # the images layer's helpers

        bench_containers(args.repeat)


if __name__ == "__main__":
    main()

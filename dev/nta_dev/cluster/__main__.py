"""``python -m nta_dev.cluster up|down|build|status|dockerd|releases [--version V]``: the local cluster without
invoke.

``build [--metrics-server]`` fills the binary cache ahead of ``up`` (and the metrics-server binary of
``./inv metrics-server``); CI runs it in the background while the other test layers run.

``dockerd`` starts the Docker engine (with the runc wrapper where the kernel needs it) if it is not running:
CI calls it before anything else uses Docker.
"""

from __future__ import annotations

import argparse
import logging
import sys

from ..errors import entry_point
from . import build_binaries, build_pause_image, down, ensure_dockerd, running_pids, running_version, up
from .paths import kubeconfig_path
from .releases import describe


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nta_dev.cluster", description=__doc__)
    parser.add_argument("action", choices=["up", "down", "build", "status", "dockerd", "releases"])
    parser.add_argument("--merge-kubeconfig", action="store_true", help="also merge context nta-local into "
                        "~/.kube/config")
    parser.add_argument("--restart-docker", action="store_true", help="allow restarting dockerd with the runc "
                        "wrapper (stops running containers)")
    parser.add_argument("--metrics-server", action="store_true", help="build: also metrics-server's binary")
    parser.add_argument("--version", help="Kubernetes release (default: NTA_K8S_VERSION, else the default)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.action == "up":
        cluster = up(merge_kubeconfig=args.merge_kubeconfig, allow_docker_restart=args.restart_docker,
                     version=args.version)
        print(f"export KUBECONFIG={cluster.kubeconfig}  # context {cluster.context}")
        print(" ".join(f"{k}={v:.1f}s" for k, v in cluster.timings.items()))
    elif args.action == "down":
        down()
    elif args.action == "dockerd":
        info = ensure_dockerd(allow_restart=args.restart_docker)
        print(f"Docker {info.get('ServerVersion')} running, default runtime {info.get('DefaultRuntime')}")
    elif args.action == "releases":
        print(describe())
    elif args.action == "build":
        build_binaries(args.version)
        build_pause_image(args.version)
        if args.metrics_server:
            from .metrics_server import ensure_binary

            ensure_binary()
    else:
        pids = running_pids()
        print("\n".join(f"{name}: pid {pid}" for name, pid in pids.items()) or "not running")
        if pids:
            print(f"version {running_version()}  KUBECONFIG={kubeconfig_path()}")


if __name__ == "__main__":
    sys.exit(main())

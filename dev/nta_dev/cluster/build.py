"""The binaries and the pause image of the local cluster's release, built once and cached by version.

From the Go module proxy through checked-in wrapper modules (``gobuild``, ``gomod``): the five Kubernetes
binaries, etcd and cri-dockerd of the release (``releases``). They land in
``~/.cache/nta-dev/kubernetes/<version>/bin``, outside the clone, so only the first start on a machine pays the
build (a partial cache is completed, never trusted).

``python -m nta_dev.cluster.build [--version V]`` builds and prints the seconds each part took.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import ToolkitError
from .paths import bin_dir, cache_root
from .prereq import install_packages, run
from .releases import Release, release

log = logging.getLogger(__name__)


def binary_names(rel: Release) -> tuple[str, ...]:
    return tuple(name for tool in rel.tools for name in tool.packages)


def cached_binaries(version: str | None = None) -> dict[str, Path] | None:
    """The cached binaries by name, or None when any is missing."""
    rel = release(version)
    paths = {name: bin_dir(rel.version) / name for name in binary_names(rel)}
    return paths if all(os.access(p, os.X_OK) for p in paths.values()) else None


def pause_source(version: str | None = None) -> Path:
    return cache_root() / release(version).version / "pause.c"


def _gomod_pause_source(rel: Release) -> None:
    """pause.c of the release, from its module (``go mod download``; the source is already in the module cache)."""
    from .gobuild import go_binary, go_env

    tool = rel.tool("kubernetes")
    out = subprocess.run([go_binary(), "mod", "download", "-json", f"{tool.module}@{tool.version}"],
                         capture_output=True, text=True, env={**go_env(), "GOFLAGS": "-mod=mod"}, cwd="/")
    info = json.loads(out.stdout or "{}")
    source = Path(info.get("Dir", "/nonexistent")) / "build" / "pause" / "linux" / "pause.c"
    if not source.exists():
        raise ToolkitError(f"no build/pause/linux/pause.c in {tool.module}@{tool.version}: "
                           f"{info.get('Error') or out.stderr.strip() or 'not in the module'}")
    target = pause_source(rel.version)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())


def build_binaries(version: str | None = None, force: bool = False) -> dict[str, Path]:
    """The binaries of the release, built unless cached; logs the seconds each part took."""
    rel = release(version)
    if not force and (cached := cached_binaries(rel.version)):
        log.info("kubernetes %s binaries cached in %s", rel.version, bin_dir(rel.version))
        return cached
    from .gobuild import build_lock, build_tool

    started = time.monotonic()
    with build_lock(f"kubernetes-{rel.version}"):
        for tool in rel.tools:
            names = tuple(tool.packages)
            if not force and all(os.access(bin_dir(rel.version) / n, os.X_OK) for n in names):
                continue  # a partial cache (or another process built it meanwhile): only what is missing is built
            t = time.monotonic()
            build_tool(tool, bin_dir(rel.version))
            log.info("%s %s: %.0f s", tool.module, tool.version, time.monotonic() - t)
        _gomod_pause_source(rel)
    log.info("kubernetes %s binaries built in %.0f s, cached in %s", rel.version, time.monotonic() - started,
             bin_dir(rel.version))
    if not (cached := cached_binaries(rel.version)):
        raise ToolkitError(f"the build finished but binaries are missing from {bin_dir(rel.version)}: see above")
    return cached


PAUSE_DOCKERFILE = 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'


def pause_image_present(image: str, docker: str = "docker") -> bool:
    return subprocess.run([docker, "image", "inspect", image], capture_output=True).returncode == 0


def build_pause_image(version: str | None = None, docker: str = "docker", force: bool = False) -> str:
    """Tag the release's pause image in the local engine (the pod sandbox image; it cannot be pulled here)."""
    from .gobuild import build_lock

    rel = release(version)
    with build_lock(f"kubernetes-{rel.version}"):  # the same lock as the binaries: one apt-get, one docker build
        if not force and pause_image_present(rel.pause_image, docker):
            return rel.pause_image
        install_packages({"gcc": "gcc"})
        source = pause_source(rel.version)
        if not source.exists():
            _gomod_pause_source(rel)  # from the module cache (downloaded again if pruned)
        tag = rel.pause_image.rsplit(":", 1)[-1]
        with tempfile.TemporaryDirectory(prefix="nta-pause-") as ctx:
            run(["gcc", "-Os", "-Wall", "-Werror", "-static", f"-DVERSION=v{tag}-nta", "-o", f"{ctx}/pause",
                 str(source)])
            Path(ctx, "Dockerfile").write_text(PAUSE_DOCKERFILE)
            run([docker, "build", "-q", "-t", rel.pause_image, ctx])
    return rel.pause_image


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", help="Kubernetes release (default: NTA_K8S_VERSION or the default)")
    parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rel = release(args.version)
    t0 = time.monotonic()
    build_binaries(rel.version, force=args.force)
    t1 = time.monotonic()
    build_pause_image(rel.version)
    print(f"kubernetes {rel.version} binaries ready in {t1 - t0:.1f} s ({bin_dir(rel.version)}); "
          f"pause image in {time.monotonic() - t1:.1f} s")


if __name__ == "__main__":
    main()

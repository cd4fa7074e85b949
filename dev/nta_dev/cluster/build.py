"""Build Kubernetes 1.20.2 from Debian's source package once, and the pause image; both cached.

Why and how: docs/architecture.md#a-local-kubernetes-cluster.

No kind/minikube/k3s image can be pulled here, but bookworm ships the Kubernetes sources with vendored dependencies:
the tree's own `make` with Debian's Go builds every binary the single-node cluster needs. The binaries are cached
by version outside the clone (``~/.cache/nta-dev/kubernetes/1.20.2/bin``) so only the first run pays ~7 minutes.

Run as ``python -m nta_dev.cluster.build`` (prints what it did and the time taken).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import ToolkitError
from .paths import BINARIES, K8S_VERSION, PAUSE_IMAGE, bin_dir, cache_root
from .prereq import require_root, run

log = logging.getLogger(__name__)

# A one-line `deb-src` in a .list file clashes with the Signed-By of debian.sources and apt refuses both.
DEB_SRC_FILE = Path("/etc/apt/sources.list.d/nta-debian-src.sources")
DEB_SRC_ENTRY = """\
# Added by nta_dev.cluster.build: source packages, to build Kubernetes from bookworm's `kubernetes` package.
Types: deb-src
URIs: {mirror}
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""
# command -> Debian package providing it
BUILD_PACKAGES = {"go": "golang-go", "rsync": "rsync", "jq": "jq", "gcc": "gcc", "make": "make",
                  "etcd": "etcd-server", "socat": "socat", "dpkg-source": "dpkg-dev", "openssl": "openssl"}
APT_LOCK_WAIT = ["-o", "DPkg::Lock::Timeout=600"]  # other helpers may be installing packages at the same time


def cached_binaries(version: str = K8S_VERSION) -> dict[str, Path] | None:
    """The cached binaries by name, or None when any is missing (a partial cache is rebuilt)."""
    paths = {name: bin_dir(version) / name for name in BINARIES}
    return paths if all(os.access(p, os.X_OK) for p in paths.values()) else None


def install_packages(needed: dict[str, str]) -> None:
    missing = sorted({pkg for cmd, pkg in needed.items() if shutil.which(cmd) is None})
    if not missing:
        return
    require_root(f"install the build packages {', '.join(missing)} with apt-get")
    log.info("installing %s", " ".join(missing))
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        run(["apt-get", *APT_LOCK_WAIT, "install", "-y", "--no-install-recommends", *missing], env=env)
    except ToolkitError:
        run(["apt-get", *APT_LOCK_WAIT, "update"], env=env)  # a fresh machine may have no package lists yet
        run(["apt-get", *APT_LOCK_WAIT, "install", "-y", "--no-install-recommends", *missing], env=env)


def _ensure_deb_src() -> None:
    probe = subprocess.run(["apt-cache", "showsrc", "kubernetes"], capture_output=True, text=True)
    if probe.returncode == 0 and "Package: kubernetes" in probe.stdout:
        return
    require_root(f"enable Debian source packages ({DEB_SRC_FILE})")
    log.info("enabling deb-src in %s", DEB_SRC_FILE)
    from ..base_image import debian_mirror  # the mirror this machine's apt already uses, never a host in git

    DEB_SRC_FILE.write_text(DEB_SRC_ENTRY.format(mirror=os.environ.get("NTA_DEBIAN_MIRROR") or debian_mirror()))
    run(["apt-get", *APT_LOCK_WAIT, "update"])


def _fetch_source(work: Path, version: str) -> Path:
    """Download and unpack the source package into ``work``; return the tree (Debian patches applied)."""
    tree = work / f"kubernetes-{version}"
    if (tree / "Makefile").exists():
        return tree
    _ensure_deb_src()
    # bookworm's version string is "1.20.5+really1.20.2-...": the upstream it ships is 1.20.2.
    run(["apt-get", "source", "--download-only", "kubernetes"], cwd=work)
    dsc = sorted(p for p in work.glob("kubernetes_*.dsc") if version in p.name)
    if not dsc:
        raise ToolkitError(f"apt-get source kubernetes gave no {version} .dsc in {work}: bookworm's `kubernetes` "
                           f"source package must ship {version} (check `apt-cache showsrc kubernetes`)")
    run(["dpkg-source", "--no-check", "-x", dsc[-1].name, tree.name], cwd=work)
    return tree


def build_binaries(version: str = K8S_VERSION, force: bool = False) -> dict[str, Path]:
    """The Kubernetes binaries for the local cluster; built from source (about 7 min on 2 cores) unless cached."""
    if not force and (cached := cached_binaries(version)):
        log.info("kubernetes %s binaries cached in %s", version, bin_dir(version))
        return cached
    install_packages(BUILD_PACKAGES)
    work = cache_root() / version / "build"
    work.mkdir(parents=True, exist_ok=True)
    tree = _fetch_source(work, version)
    # The tree's make wants its import path under GOPATH; a symlink avoids copying the 34 MB tree.
    gopath = work / ".go"
    link = gopath / "src" / "k8s.io" / "kubernetes"
    link.parent.mkdir(parents=True, exist_ok=True)
    if not link.is_symlink():
        link.symlink_to(tree)
    env = {**os.environ, "GOPATH": str(gopath), "CGO_ENABLED": "0", "GOFLAGS": "-mod=vendor",
           "GOCACHE": str(work / ".gocache"), "GO111MODULE": "on",
           # Without git metadata the tree's version script needs these to stamp `kubectl version`.
           "KUBE_GIT_VERSION": f"v{version}", "KUBE_GIT_TREE_STATE": "clean"}
    what = " ".join(f"cmd/{name}" for name in BINARIES)
    log.info("building %s (nice -n 10; about 7 minutes on 2 cores)", what)
    started = time.monotonic()
    # `make` from the symlinked path: the tree's scripts derive KUBE_ROOT and the Go package path from it.
    run(["nice", "-n", "10", "make", f"WHAT={what}"], cwd=link, env=env)
    out = tree / "_output" / "local" / "bin" / "linux" / "amd64"
    if not out.is_dir():
        out = tree / "_output" / "bin"
    target = bin_dir(version)
    target.mkdir(parents=True, exist_ok=True)
    for name in BINARIES:
        built = out / name
        if not built.exists():
            raise ToolkitError(f"make finished but {built} is missing: see the build output above")
        tmp = target / f".{name}.tmp"
        shutil.copy2(built, tmp)
        tmp.replace(target / name)  # atomic: an interrupted copy never looks cached
    # Keep the pause source beside the binaries: the pause image may need rebuilding after an image prune.
    shutil.copy2(tree / "build" / "pause" / "linux" / "pause.c", pause_source(version))
    log.info("built in %.0f s, cached in %s", time.monotonic() - started, target)
    shutil.rmtree(work, ignore_errors=True)  # ~2 GB of Go cache and objects; the binaries are all we keep
    return cached_binaries(version) or {}


PAUSE_DOCKERFILE = 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'


def pause_source(version: str = K8S_VERSION) -> Path:
    return cache_root() / version / "pause.c"


def pause_image_present(docker: str = "docker") -> bool:
    return subprocess.run([docker, "image", "inspect", PAUSE_IMAGE], capture_output=True).returncode == 0


def build_pause_image(docker: str = "docker", force: bool = False) -> str:
    """Tag ``k8s.gcr.io/pause:3.2`` in the local engine (the kubelet's sandbox image; it cannot be pulled here)."""
    if not force and pause_image_present(docker):
        return PAUSE_IMAGE
    install_packages({"gcc": "gcc"})
    source = pause_source()
    if not source.exists():
        build_binaries(force=True)  # an old cache without pause.c: fetching the source again takes seconds
    with tempfile.TemporaryDirectory(prefix="nta-pause-") as ctx:
        run(["gcc", "-Os", "-Wall", "-Werror", "-static", "-DVERSION=v3.2-nta", "-o", f"{ctx}/pause", str(source)])
        Path(ctx, "Dockerfile").write_text(PAUSE_DOCKERFILE)
        run([docker, "build", "-q", "-t", PAUSE_IMAGE, ctx])
    return PAUSE_IMAGE


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.monotonic()
    build_binaries()
    t1 = time.monotonic()
    build_pause_image()
    print(f"kubernetes {K8S_VERSION} binaries ready in {t1 - t0:.1f} s ({bin_dir()}); "
          f"pause image in {time.monotonic() - t1:.1f} s")


if __name__ == "__main__":
    main()

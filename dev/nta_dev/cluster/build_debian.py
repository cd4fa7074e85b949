"""Build Kubernetes 1.20.2 from Debian's source package once (the end-of-life release; ``build`` dispatches here).

Why and how: docs/architecture.md#a-local-kubernetes-cluster.

No kind/minikube/k3s image can be pulled here, but bookworm ships the Kubernetes sources with vendored dependencies:
the tree's own `make` with Debian's Go builds every binary the single-node cluster needs. The binaries are cached
by version outside the clone (``~/.cache/nta-dev/kubernetes/1.20.2/bin``) so only the first run pays ~7 minutes.

Run through ``python -m nta_dev.cluster.build`` (prints what it did and the time taken).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from ..errors import ToolkitError
from .paths import bin_dir, cache_root
from .prereq import APT_LOCK_WAIT, install_packages, require_root, run

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


BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")


def build_debian(version: str, pause_source: Path) -> None:
    """Build the binaries into ``bin_dir(version)`` (about 7 min on 2 cores) and keep pause.c at ``pause_source``."""
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
    shutil.copy2(tree / "build" / "pause" / "linux" / "pause.c", pause_source)
    log.info("built in %.0f s, cached in %s", time.monotonic() - started, target)
    shutil.rmtree(work, ignore_errors=True)  # ~2 GB of Go cache and objects; the binaries are all we keep

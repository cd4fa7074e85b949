"""What each Kubernetes release of the local cluster is built from and runs with (one table, read by build and runtime).

- 1.37.2: the newest patch of the newest minor the Go module proxy serves here (1.35.4, 1.36.x and 1.37.2 are
  served): the longest support window (1.37 is maintained into late 2027) while its kubelet still runs on cgroup v1
  with ``failCgroupV1: false``. Built from Go modules through wrapper modules (``gomod``), etcd at the 3.7 line that
  its ``build/dependencies.yaml`` names, and cri-dockerd as the CRI runtime, because kubelet >= 1.24 has no
  dockershim and cri-dockerd keeps the local Docker engine as the runtime (images Tilt or ``docker build`` made
  run without a pull).

The end-of-life 1.20.2 (Debian's source package, dockershim) was dropped once the cluster layer passed on 1.37.2;
a new release is one more entry here plus its wrapper modules (``python -m nta_dev.cluster.gobuild --generate``).

``NTA_K8S_VERSION`` selects a release for every entry point (task, ``python -m nta_dev.cluster``, tests, CI).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import ToolkitError
from .gomod import staging_version


@dataclass(frozen=True)
class GoTool:
    """Binaries built from one Go module at one version, through a wrapper module when it has replaces."""

    name: str                 # wrapper folder gomod/<name>-<version>/
    module: str
    version: str              # Go module version, with the leading v
    packages: dict[str, str]  # binary name -> package path
    sibling_version: str = ""  # what local-path replaces of the module's own siblings resolve to

    @property
    def wrapper_dir_name(self) -> str:
        return f"{self.name}-{self.version}"


@dataclass(frozen=True)
class Release:
    version: str
    pause_image: str
    tools: tuple[GoTool, ...] = ()

    @property
    def minor(self) -> int:
        return int(self.version.split(".")[1])

    def tool(self, name: str) -> GoTool:
        return next(t for t in self.tools if t.name == name)


K8S_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")


def _gomod_release(version: str, etcd: str, cri_dockerd: str, pause: str) -> Release:
    return Release(version, f"registry.k8s.io/pause:{pause}", tools=(
        GoTool("kubernetes", "k8s.io/kubernetes", f"v{version}",
               {b: f"k8s.io/kubernetes/cmd/{b}" for b in K8S_BINARIES}, sibling_version=staging_version(version)),
        GoTool("etcd", "go.etcd.io/etcd/server/v3", f"v{etcd}", {"etcd": "go.etcd.io/etcd/server/v3"},
               sibling_version=f"v{etcd}"),
        GoTool("cri-dockerd", "github.com/Mirantis/cri-dockerd", f"v{cri_dockerd}",
               {"cri-dockerd": "github.com/Mirantis/cri-dockerd"}),
    ))


RELEASES = {
    "1.37.2": _gomod_release("1.37.2", etcd="3.7.3", cri_dockerd="0.4.4", pause="3.10.2"),
}
DEFAULT_VERSION = "1.37.2"

# metrics-server is not part of a release: one image for every cluster (built from its module, no replaces).
METRICS_SERVER = GoTool("metrics-server", "sigs.k8s.io/metrics-server", "v0.8.0",
                        {"metrics-server": "sigs.k8s.io/metrics-server/cmd/metrics-server"})


def selected_version() -> str:
    return os.environ.get("NTA_K8S_VERSION", "").strip().lstrip("v") or DEFAULT_VERSION


def release(version: str | None = None) -> Release:
    """The release to build and run: ``version``, else ``NTA_K8S_VERSION``, else the default."""
    version = (version or selected_version()).lstrip("v")
    if version not in RELEASES:
        raise ToolkitError(f"Kubernetes {version} is not one the local cluster knows how to build: choose one of "
                           f"{', '.join(RELEASES)} (NTA_K8S_VERSION or --version), or add it to RELEASES in "
                           f"{__file__}")
    return RELEASES[version]



def describe() -> str:
    """One line per release: version, runtime, what it is built from, and which is the default/selected."""
    lines = []
    for version, rel in RELEASES.items():
        marks = [m for m, on in (("default", version == DEFAULT_VERSION), ("selected", version == selected_version()))
                 if on]
        built = ", ".join(f"{t.module} {t.version}" for t in rel.tools)
        lines.append(f"{version}  {built}{'  (' + ', '.join(marks) + ')' if marks else ''}")
    return "\n".join(lines)

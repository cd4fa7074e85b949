"""Build Go binaries of a release from the Go module proxy through the wrapper modules of ``gomod``.

Checked-in wrappers (``gomod/<name>-<version>/go.mod`` + ``go.sum``) make the build reproducible and verified:
``-mod=readonly`` refuses to change them, so a download that does not match go.sum fails instead of building
something else. A version without a checked-in wrapper gets one generated under the cache (``go mod tidy``), which
is how a new release is tried before its wrapper is committed (``python -m nta_dev.cluster.gobuild --generate``).

Flags: ``CGO_ENABLED=0`` (static binaries, no C toolchain), ``-trimpath`` (no build paths in the binaries),
``-ldflags -s -w`` (smaller) and, for Kubernetes, the version stamps its own build sets (``kubectl version`` and
the node show v1.37.2, not v0.0.0-master).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import ToolkitError
from .gomod import parse_go_mod, wrapper_go_mod
from .paths import cache_root
from .prereq import run
from .releases import GoTool

log = logging.getLogger(__name__)

WRAPPERS = Path(__file__).with_name("gomod")
MIN_GO = (1, 24)  # `tool` directives in go.mod


def go_binary() -> str:
    go = shutil.which("go") or next((p for p in ("/usr/local/go/bin/go", "/usr/lib/go/bin/go")
                                     if os.access(p, os.X_OK)), None)
    if go is None:
        raise ToolkitError("go not found: the supported cluster builds Kubernetes from Go modules and needs Go >= "
                           "1.26 (`./inv tools` needs the same Go; see .ci/run for how CI installs it)")
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True).stdout.strip()
    parts = out.removeprefix("go").split(".")
    if len(parts) < 2 or (int(parts[0]), int(parts[1].split("rc")[0])) < MIN_GO:
        raise ToolkitError(f"{go} is {out or 'unknown'}; Go >= {MIN_GO[0]}.{MIN_GO[1]} is needed (tool directives)")
    return go


def go_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-trimpath -mod=readonly -buildvcs=false",
           "GOTOOLCHAIN": "local"}
    env.update(extra or {})
    return env


def ldflags(tool: GoTool) -> str:
    flags = ["-s", "-w"]
    if tool.module == "k8s.io/kubernetes":
        major, minor = tool.version.lstrip("v").split(".")[:2]
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
            flags += [f"-X {pkg}.gitVersion={tool.version}", f"-X {pkg}.gitMajor={major}",
                      f"-X {pkg}.gitMinor={minor}", f"-X {pkg}.gitTreeState=clean",
                      f"-X {pkg}.buildDate=1970-01-01T00:00:00Z"]
    elif tool.name == "cri-dockerd":
        flags.append(f"-X github.com/Mirantis/cri-dockerd/cmd/version.Version={tool.version.lstrip('v')}")
    elif tool.name == "metrics-server":
        flags.append(f"-X sigs.k8s.io/metrics-server/pkg/version.gitVersion={tool.version}")
    return " ".join(flags)


def module_go_mod(go: str, module: str, version: str) -> str:
    """The go.mod text of ``module@version`` as the proxy serves it."""
    out = subprocess.run([go, "mod", "download", "-json", f"{module}@{version}"], capture_output=True, text=True,
                         env={**go_env(), "GOFLAGS": "-mod=mod"}, cwd="/")
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or "GoMod" not in info:
        raise ToolkitError(f"`go mod download {module}@{version}` failed: {info.get('Error') or out.stderr.strip()}"
                           " (is the Go module proxy reachable? `go env GOPROXY`)")
    return Path(info["GoMod"]).read_text()


def generate(tool: GoTool, dest: Path, go: str | None = None) -> Path:
    """Write the wrapper module of ``tool`` into ``dest`` and resolve its go.sum (``go mod tidy``)."""
    go = go or go_binary()
    target = parse_go_mod(module_go_mod(go, tool.module, tool.version))
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "go.mod").write_text(wrapper_go_mod(target, tool.version, tool.sibling_version,
                                                sorted(tool.packages.values()), module=f"nta.local/build/{tool.name}"))
    env = {**go_env(), "GOFLAGS": "-mod=mod"}
    try:
        run([go, "mod", "tidy"], cwd=dest, env=env)
    except ToolkitError:
        # Tidy also resolves the tests of every dependency; an old one (cri-dockerd's cloud.google.com/go v0.26.0)
        # can make a test-only import ambiguous. -e records the rest; `go build -mod=readonly` then proves the
        # binaries' own packages are complete.
        log.warning("go mod tidy failed on test-only imports of dependencies (above): retrying with -e")
        run([go, "mod", "tidy", "-e"], cwd=dest, env=env)
    return dest


def wrapper_dir(tool: GoTool) -> Path:
    """The checked-in wrapper of ``tool``, or one generated under the cache for a version not checked in."""
    checked_in = WRAPPERS / tool.wrapper_dir_name
    if (checked_in / "go.mod").exists() and (checked_in / "go.sum").exists():
        return checked_in
    generated = cache_root() / "gomod" / tool.wrapper_dir_name
    if not (generated / "go.sum").exists():
        log.info("no checked-in wrapper module for %s %s: generating %s", tool.module, tool.version, generated)
        generate(tool, generated)
    return generated


@contextlib.contextmanager
def build_lock(name: str) -> Iterator[None]:
    """One builder per cached binary set: a second one (the tests' cluster while CI's background build runs) waits
    for the first, then finds the binaries built; a build that died leaves them missing, and the waiter builds."""
    path = cache_root() / f".{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for the build of %s another process runs (lock %s)", name, path)
            started = time.monotonic()
            fcntl.flock(lock, fcntl.LOCK_EX)
            log.info("the other build of %s ended after %.0f s more", name, time.monotonic() - started)
        yield


def build_tool(tool: GoTool, out_dir: Path) -> dict[str, Path]:
    """``go build`` every binary of ``tool`` into ``out_dir`` (atomically: a half-written binary never counts)."""
    go = go_binary()
    module_dir = wrapper_dir(tool)
    out_dir.mkdir(parents=True, exist_ok=True)
    built = {}
    for binary, package in tool.packages.items():
        tmp = out_dir / f".{binary}.tmp"
        started = time.monotonic()
        log.info("go build %s (%s %s)", package, tool.module, tool.version)
        run(["nice", "-n", "10", go, "build", "-ldflags", ldflags(tool), "-o", str(tmp), package],
            cwd=module_dir, env=go_env())
        tmp.replace(out_dir / binary)
        built[binary] = out_dir / binary
        log.info("built %s in %.0f s", binary, time.monotonic() - started)
    return built


def main() -> None:
    import argparse

    from .releases import METRICS_SERVER, release

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", help="Kubernetes release (default: NTA_K8S_VERSION or the default)")
    parser.add_argument("--generate", action="store_true", help="(re)write the wrapper modules under gomod/ "
                        "(go.mod + go.sum) for the release and metrics-server, then stop")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    tools = [*release(args.version).tools, METRICS_SERVER]
    if args.generate:
        for tool in tools:
            print(generate(tool, WRAPPERS / tool.wrapper_dir_name))
        return


if __name__ == "__main__":
    main()

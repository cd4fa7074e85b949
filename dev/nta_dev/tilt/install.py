"""Real Tilt, built from its Go module source with the local Go toolchain and cached outside the clone by version.

    python -m nta_dev.tilt.install [--version 0.37.6] [--link DIR]     # build once, print the binary's path

`go install github.com/tilt-dev/tilt/cmd/tilt@VERSION` is refused because Tilt's go.mod has `replace`
directives, which only the main module may have. So the module is downloaded from the Go module proxy and
built inside a writable copy of it, where it *is* the main module. The binary lands in
``~/.cache/nta-dev/tools/tilt/<version>/tilt`` (``NTA_TOOLS_CACHE`` moves the root): a second clone or CI run on
the same machine reuses it.

Tilt embeds its web UI from ``pkg/assets/build``, which the module does not ship (it is built from ``web/`` with
yarn in Tilt's release pipeline). Without it the binary stops at start ("JS/CSS files are not available"), so
the build embeds a one-page placeholder that points to the CLI (`tilt get uiresources`, `tilt logs`): the
terminal UI, `tilt ci`, the API and every command work; the browser UI shows only that page.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import ToolkitError, entry_point

log = logging.getLogger(__name__)

TILT_VERSION = "0.37.6"  # the README's minimum and the Tiltfile's version_settings() follow this pin
MODULE = "github.com/tilt-dev/tilt"
GO_HINT = "install Go >= 1.26 (Tilt's go.mod needs it; Debian's golang-go is older) and put `go` on PATH"
PLACEHOLDER = """<!doctype html>
<html><head><meta charset="utf-8"><title>Tilt (no web UI)</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Tilt {version}, built from source without its web UI</h1>
<p>This Tilt binary was built by <code>nta_dev.tilt.install</code> from the Go module source, which does not ship the
web UI's compiled assets. Everything else works: the terminal UI (<code>tilt up</code>, then <kbd>s</kbd> to
stream logs), <code>tilt ci</code>, and the API:</p>
<pre>tilt get uiresources          # every resource and its status
tilt logs nta-django          # one resource's log
tilt trigger unit-tests       # press a button</pre>
</body></html>
"""
# `go build` reports a go.sum line that disagrees with the checksum database as
# "verifying github.com/x/y@v1.2.3: checksum mismatch".
MISMATCH = re.compile(r"verifying (\S+)@(v\S+?)(/go\.mod)?: checksum mismatch")
MAX_SUM_FIXES = 10


def cache_root() -> Path:
    override = os.environ.get("NTA_TOOLS_CACHE", "").strip()
    return Path(override) if override else Path.home() / ".cache" / "nta-dev" / "tools"


def binary_path(version: str = TILT_VERSION) -> Path:
    return cache_root() / "tilt" / version / "tilt"


def cached_binary(version: str = TILT_VERSION) -> Path | None:
    """The cached binary for ``version``, or None when it has not been built on this machine."""
    path = binary_path(version)
    return path if os.access(path, os.X_OK) else None


def _run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        output = (proc.stderr or proc.stdout)[-3000:]
        raise ToolkitError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{output}")
    return proc.stdout


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise ToolkitError(f"go not found on PATH (needed to build Tilt from source): {GO_HINT}")
    return go


def _download(go: str, version: str) -> Path:
    """The module's folder in the Go module cache (read-only), downloaded through the module proxy if needed."""
    out = _run([go, "mod", "download", "-json", f"{MODULE}@v{version}"])
    info = json.loads(out)
    if "Error" in info:
        raise ToolkitError(f"cannot download {MODULE}@v{version}: {info['Error']}")
    return Path(info["Dir"])


def _drop_sum_lines(go_sum: Path, module: str, version: str) -> None:
    """Remove go.sum's lines for module@version so `go mod download` records the checksum database's."""
    keep = [line for line in go_sum.read_text().splitlines()
            if not re.match(rf"^{re.escape(module)} {re.escape(version)}(/go\.mod)? ", line)]
    go_sum.write_text("\n".join(keep) + "\n")


def _go_build(go: str, src: Path, output: Path, version: str) -> None:
    env = {**os.environ, "CGO_ENABLED": "1", "GOFLAGS": "-mod=mod -buildvcs=false"}  # tree-sitter needs cgo
    cmd = [go, "build", "-trimpath", "-ldflags", f"-s -w -X main.version={version}", "-o", str(output),
           "./cmd/tilt"]
    for _ in range(MAX_SUM_FIXES):
        proc = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True)
        if proc.returncode == 0:
            return
        mismatch = MISMATCH.search(proc.stderr)
        if not mismatch:
            raise ToolkitError(f"building Tilt failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
        # The release's go.sum can disagree with the checksum database (a dependency's tag was moved after the
        # release): trust sum.golang.org, which `go mod download` consults, and say so.
        module, mod_version = mismatch.group(1), mismatch.group(2)
        log.warning("Tilt's go.sum disagrees with the Go checksum database for %s@%s: using the database's sum",
                    module, mod_version)
        _drop_sum_lines(src / "go.sum", module, mod_version)
        _run([go, "mod", "download", f"{module}@{mod_version}"], cwd=src, env=env)
    raise ToolkitError(f"building Tilt failed: more than {MAX_SUM_FIXES} go.sum mismatches")


def build(version: str = TILT_VERSION, say: Callable[[str], None] = print) -> Path:
    """Build Tilt ``version`` from its module source into the cache; returns the binary's path."""
    go = _go()
    target = binary_path(version)
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    say(f"building Tilt v{version} from its Go module source (about 5 minutes on 2 cores, once; cached in "
        f"{target.parent})")
    module_dir = _download(go, version)
    with tempfile.TemporaryDirectory(prefix="tilt-src-", dir=target.parent) as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(module_dir, src, ignore=shutil.ignore_patterns("node_modules"))
        for path in [src, *src.rglob("*")]:  # the module cache is read-only
            path.chmod(path.stat().st_mode | 0o200)
        assets = src / "pkg" / "assets" / "build"
        assets.mkdir(parents=True, exist_ok=True)
        (assets / "index.html").write_text(PLACEHOLDER.format(version=version))
        partial = target.with_suffix(".partial")
        _go_build(go, src, partial, version)
        partial.replace(target)  # atomic: a half-written binary is never taken for the cache
    printed = _run([str(target), "version"]).strip()
    if f"v{version}" not in printed:
        raise ToolkitError(f"the built Tilt reports {printed!r}, not v{version}")
    say(f"built {printed} in {time.monotonic() - started:.0f} s: {target}")
    return target


def ensure(version: str = TILT_VERSION, say: Callable[[str], None] = print) -> Path:
    """The cached binary, built first when missing."""
    return cached_binary(version) or build(version, say)


def link(binary: Path, bin_dir: Path) -> Path:
    """Put ``tilt`` into ``bin_dir`` (e.g. the venv's bin, on PATH in `./inv` and an activated venv)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    dest = bin_dir / "tilt"
    if dest.is_symlink() or dest.exists():
        dest.unlink()
    dest.symlink_to(binary)
    return dest


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nta_dev.tilt.install", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=TILT_VERSION, help=f"Tilt release to build (default {TILT_VERSION})")
    parser.add_argument("--link", type=Path, help="also symlink the binary into this folder (e.g. .venv/bin)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    binary = ensure(args.version)
    if args.link:
        print(f"linked {link(binary, args.link)} -> {binary}")
    print(binary)


if __name__ == "__main__":
    raise SystemExit(main())

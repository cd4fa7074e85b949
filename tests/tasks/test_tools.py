"""`./inv tools`: the pinned Tilt comes from the toolkit's cache (no rebuild) or is built with Go, which it names
when missing; the go.sum repair that lets Tilt's release build against the checksum database."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from nta_dev.tilt import install as tilt

from .fakes import run_inv, write_script


def tools_env(tmp_path: Path, path: str) -> dict[str, str]:
    return {**os.environ, "NTA_TOOLS_CACHE": str(tmp_path / "cache"), "PATH": path}


def test_a_cached_tilt_is_linked_not_rebuilt(tmp_path: Path) -> None:
    cached = tmp_path / "cache" / "tilt" / tilt.TILT_VERSION / "tilt"
    cached.parent.mkdir(parents=True)
    write_script(cached.parent, "tilt", "#!/bin/sh\necho v0.37.6\n")
    empty = tmp_path / "no-go"  # no go on PATH: a build would fail, so success proves the cache was used
    empty.mkdir()
    links = tmp_path / "links"
    path = f"{empty}{os.pathsep}{Path(sys.executable).parent}"
    done = run_inv("tools", "--link-dir", str(links), env=tools_env(tmp_path, path))
    assert done.returncode == 0, done.stderr
    assert (links / "tilt").is_symlink() and (links / "tilt").resolve() == cached.resolve()


def test_without_go_the_error_names_the_fix(tmp_path: Path) -> None:
    empty = tmp_path / "no-go"
    empty.mkdir()
    done = run_inv("tools", "--link-dir", str(tmp_path / "links"),
                   env=tools_env(tmp_path, f"{empty}{os.pathsep}{Path(sys.executable).parent}"))
    assert done.returncode == 1
    assert "go not found on PATH" in done.stderr and "install Go >= 1.26" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "links").exists()


def test_a_go_sum_mismatch_is_recognised() -> None:
    stderr = ("verifying github.com/docker/buildx@v0.32.1: checksum mismatch\n"
              "\tdownloaded: h1:ecen...\n\tgo.sum:     h1:Zlau...\n")
    found = tilt.MISMATCH.search(stderr)
    assert found and found.group(1, 2) == ("github.com/docker/buildx", "v0.32.1")


def test_only_the_mismatched_modules_lines_leave_go_sum(tmp_path: Path) -> None:
    go_sum = tmp_path / "go.sum"
    go_sum.write_text("github.com/docker/buildx v0.32.1 h1:Zlau=\n"
                      "github.com/docker/buildx v0.32.1/go.mod h1:46Le=\n"
                      "github.com/docker/buildx v0.31.0 h1:keep=\n"
                      "github.com/docker/buildx-extra v0.32.1 h1:keep=\n")
    tilt._drop_sum_lines(go_sum, "github.com/docker/buildx", "v0.32.1")
    assert go_sum.read_text().splitlines() == ["github.com/docker/buildx v0.31.0 h1:keep=",
                                               "github.com/docker/buildx-extra v0.32.1 h1:keep="]

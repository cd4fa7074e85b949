"""The end-to-end suite against any running stack (`./inv test-e2e [--url URL]`)."""

from __future__ import annotations

import shlex

from invoke import Context

E2E_DIR = "tests/e2e"


def e2e_command(url: str | None = None, k: str = "") -> str:
    """Without a URL the suite starts the local stack itself; with one it only talks to that stack."""
    cmd = ["python", "-m", "pytest", E2E_DIR, "-q", "-rs"]  # -rs: each skipped test's reason in the summary
    if url:
        cmd += ["--base-url", url.rstrip("/")]
    if k:
        cmd += ["-k", k]
    return shlex.join(cmd)


def run_e2e(c: Context, url: str | None = None, k: str = "") -> int:
    return c.run(e2e_command(url, k), warn=True, pty=False, in_stream=False).exited

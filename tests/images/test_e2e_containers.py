"""The whole e2e suite (tests/e2e) against the prod-target container stack, through the nginx container: the
images users deploy, wired by the configuration contract, with the reference seed loaded (start_container_stack
does that, as the local stack does).

The suite runs as its own pytest process with --base-url, exactly as a developer runs it against any stack; its
worker-kill and abandoned-job tests skip there (they play with the processes and database of stacks the suite
started itself).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from nta_dev.containers import ContainerStack, start_container_stack
from nta_dev.images import REPO

SUITE_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def prod_stack(built) -> Iterator[ContainerStack]:
    running = start_container_stack("prod")
    try:
        yield running
    finally:
        running.stop()


def test_the_e2e_suite_passes_against_the_prod_containers(prod_stack: ContainerStack) -> None:
    cmd = [sys.executable, "-m", "pytest", "tests/e2e", "-q", "--base-url", prod_stack.base_url,
           "-p", "no:cacheprovider"]  # fmt: skip
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=REPO, env=os.environ.copy(), capture_output=True, text=True,
                              timeout=SUITE_TIMEOUT_S)  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else exc.stdout or ""
        pytest.fail(f"the e2e suite ran past {SUITE_TIMEOUT_S} s against {prod_stack.base_url}:\n{out[-4000:]}")
    print(f"\ne2e suite against the prod containers: {time.monotonic() - started:.0f} s\n{done.stdout[-400:]}")
    if done.returncode != 0:
        logs = "\n".join(f"--- {s} ---\n{prod_stack.logs(s, 30)}" for s in ("django", "worker", "flask"))
        tail = (done.stdout + done.stderr)[-6000:]
        pytest.fail(f"`{' '.join(cmd)}` exited with {done.returncode}:\n{tail}\ncontainer logs:\n{logs}",
                    pytrace=False)  # fmt: skip
    assert " passed" in done.stdout.splitlines()[-1]  # it ran tests, and none failed

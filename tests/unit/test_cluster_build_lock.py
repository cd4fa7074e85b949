"""One builder per cached binary set: a second waits for the first (CI's background build and the tests' cluster)."""

from __future__ import annotations

import fcntl
import threading
import time
from pathlib import Path

import pytest

from nta_dev.cluster.gobuild import build_lock


def test_a_second_builder_waits_until_the_first_releases_the_lock(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("NTA_K8S_CACHE", str(tmp_path))
    entered: list[float] = []
    with open(tmp_path / ".kubernetes-9.9.9.lock", "w") as first:  # the other process's open file
        fcntl.flock(first, fcntl.LOCK_EX)

        def second() -> None:
            with build_lock("kubernetes-9.9.9"):
                entered.append(time.monotonic())

        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.5)
        assert entered == [], "the second builder did not wait for the first"
        released = time.monotonic()
        fcntl.flock(first, fcntl.LOCK_UN)
    waiter.join(timeout=10)
    assert len(entered) == 1 and entered[0] >= released


def test_builds_of_different_sets_do_not_wait_for_each_other(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NTA_K8S_CACHE", str(tmp_path))
    with build_lock("kubernetes-9.9.9"), build_lock("metrics-server-v0.0.1"):
        assert sorted(p.name for p in tmp_path.iterdir()) == [".kubernetes-9.9.9.lock", ".metrics-server-v0.0.1.lock"]

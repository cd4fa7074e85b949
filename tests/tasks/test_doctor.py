"""`inv doctor`: one line per finding; each problem names its fix; non-zero exit when there are problems."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from nta_dev.doctor import check_mongo, diagnose, report

from .fakes import FAKE_KUBECTL, LOCAL, REMOTE, run_inv, write_script

DOCKER_OK = "#!/bin/sh\n[ \"$1\" = info ] && echo 28.2.2\n"
DOCKER_DOWN = "#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n"


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def only_bin(fake_bin: Path, kubeconfig: Path, real_kubectl: str, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> Path:  # fmt: skip
    """PATH holds only the fake tools this test writes (no tilt, no system kubectl/docker)."""
    import sys

    monkeypatch.setenv("PATH", str(fake_bin))
    monkeypatch.setenv("REAL_KUBECTL", real_kubectl)
    monkeypatch.setenv("FAKE_KUBECTL_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.delenv("DOCKER", raising=False)
    monkeypatch.delenv("TILT", raising=False)
    monkeypatch.delenv("KUSTOMIZE", raising=False)
    monkeypatch.delenv("NTA_MONGO_URL", raising=False)
    monkeypatch.setenv("NTA_TOOLS_CACHE", str(tmp_path / "no-tools"))  # nor a Tilt that `./inv tools` built
    write_script(fake_bin, "kubectl", FAKE_KUBECTL.format(python=sys.executable))
    write_script(fake_bin, "docker", DOCKER_OK)
    return fake_bin


def lines_about(text: str, subject: str) -> list[str]:
    return [line for line in text.splitlines() if f"  {subject}:" in line]


def test_all_good_except_notes(only_bin: Path, free_port: int) -> None:
    text, problems = report(diagnose(ports={free_port: "test"}, mongo_url=""))
    assert problems == 0, text
    assert lines_about(text, "docker")[0].startswith("ok") and "28.2.2" in text
    assert lines_about(text, "kubectl")[0].startswith("ok")
    assert "built into kubectl" in lines_about(text, "kustomize")[0]
    assert lines_about(text, "context") == [f"ok    context: {LOCAL} (local)"]
    tilt = lines_about(text, "tilt")[0]
    assert tilt.startswith("note") and "`./inv tools`" in tilt
    assert lines_about(text, "NTA_MONGO_URL")[0].startswith("note")
    assert text.splitlines()[-1] == "no problems found"


def test_each_problem_is_one_line_with_its_fix(only_bin: Path, busy_port: int, free_port: int) -> None:
    write_script(only_bin, "docker", DOCKER_DOWN)
    mongo = f"mongodb://nta:s3cret@127.0.0.1:{free_port}/"
    text, problems = report(diagnose(ports={busy_port: "django"}, mongo_url=mongo, mongo_timeout_ms=300))
    assert problems == 3, text
    (docker,) = lines_about(text, "docker")
    assert docker.startswith("FAIL") and "start Docker Desktop" in docker
    (port,) = lines_about(text, f"port {busy_port}")
    assert port.startswith("FAIL") and "django" in port and f"sport = :{busy_port}" in port
    (mongo_line,) = lines_about(text, "NTA_MONGO_URL")
    assert mongo_line.startswith("FAIL") and "does not answer" in mongo_line and "unset it" in mongo_line
    assert "s3cret" not in text, "passwords are never printed"
    assert text.splitlines()[-1] == "3 problem(s) found"


def test_missing_kubectl_names_the_install(only_bin: Path, free_port: int) -> None:
    (only_bin / "kubectl").unlink()
    text, problems = report(diagnose(ports={free_port: "x"}, mongo_url=""))
    (kubectl,) = lines_about(text, "kubectl")
    assert kubectl.startswith("FAIL") and "https://kubernetes.io/docs/tasks/tools/" in kubectl
    assert lines_about(text, "kustomize")[0].startswith("FAIL")
    assert problems == 2


def test_remote_current_context_is_a_note(only_bin: Path, kubeconfig: Path, free_port: int) -> None:
    kubeconfig.write_text(kubeconfig.read_text().replace(f"current-context: {LOCAL}", f"current-context: {REMOTE}"))
    text, problems = report(diagnose(ports={free_port: "x"}, mongo_url=""))
    (line,) = lines_about(text, "context")
    assert line.startswith("note") and "NOT local" in line and f"--context {REMOTE} --yes" in line
    assert problems == 0


def test_mongo_reachable(mongo_url: str) -> None:
    finding = check_mongo(mongo_url)
    assert finding.level == "ok", finding.line()


def test_an_unreachable_mongo_is_reported_without_its_password() -> None:
    finding = check_mongo("mongodb://u:s3cret@127.0.0.1:1/?authSource=admin", timeout_ms=200)
    assert finding.level == "FAIL" and "mongodb://u:***@127.0.0.1:1/" in finding.line()
    assert "s3cret" not in finding.line()


def test_cli_exits_non_zero_on_problems(only_bin: Path) -> None:
    (only_bin / "kubectl").unlink()
    done = run_inv("doctor", env={**os.environ})
    assert done.returncode == 1
    assert any(line.startswith("FAIL  kubectl:") for line in done.stdout.splitlines()), done.stdout


@pytest.mark.parametrize(("printed", "level", "says"), [
    ("v0.37.6, built 2025-01-01", "ok", "v0.37.6 at"),
    ("v0.33.1, built 2023-06-01", "FAIL", "older than the Tiltfile's minimum v0.37"),
])
def test_tilt_version_is_checked(only_bin: Path, free_port: int, printed: str, level: str, says: str) -> None:
    write_script(only_bin, "tilt", f"#!/bin/sh\necho '{printed}'\n")
    text, _ = report(diagnose(ports={free_port: "test"}, mongo_url=""))
    tilt = lines_about(text, "tilt")[0]
    assert tilt.startswith(level) and says in tilt, tilt

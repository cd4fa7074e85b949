"""The real `inv` CLI: the menu, a missing tool, the dev-loop choice and the e2e command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from invoke import Context, MockContext, Result

from nta_dev.kube.context import load_kubeconfig
from nta_dev.stack.up import choose_runner, run_up
from nta_dev.testsuite import run_e2e

from .fakes import LOCAL, REMOTE, recorded, recording_tool, run_inv

TASKS = ["apply", "base-image", "bench", "cluster-local", "containers", "context", "dashboard", "doctor", "down",
         "images", "lint", "logs", "metrics-server", "seed", "status", "test", "test-e2e", "tools", "up",
         "url"]  # fmt: skip


def test_list_is_a_one_line_menu() -> None:
    done = run_inv("--list", env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines()[1:] if line.strip()]
    names = [row.split()[0] for row in rows]
    assert names == TASKS, "every task listed once, and no help line wraps onto a second line"
    for row in rows:
        assert len(row.split(maxsplit=1)) == 2, f"task without help: {row!r}"


def test_missing_kubectl_names_the_fix(kubeconfig: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    done = run_inv("status", env={**os.environ, "PATH": str(empty)})
    assert done.returncode == 1
    assert "kubectl not found on PATH" in done.stderr and "https://kubernetes.io/docs/tasks/tools/" in done.stderr
    assert "Traceback" not in done.stderr


def test_up_prefers_tilt_only_on_a_local_context_with_tilt(kubeconfig: Path, tmp_path: Path) -> None:
    tiltfile = tmp_path / "Tiltfile"
    tiltfile.write_text("")
    cfg = load_kubeconfig()
    runner, why = choose_runner(cfg, "/usr/bin/tilt", tiltfile)
    assert runner == "tilt" and LOCAL in why
    assert choose_runner(cfg, None, tiltfile)[0] == "local"
    assert "not on PATH" in choose_runner(cfg, None, tiltfile)[1]
    assert choose_runner(cfg, "/usr/bin/tilt", tmp_path / "absent")[0] == "local"
    assert choose_runner(cfg, "/usr/bin/tilt", tiltfile, force_local=True) == ("local", "--local was given")
    kubeconfig.write_text(kubeconfig.read_text().replace(f"current-context: {LOCAL}", f"current-context: {REMOTE}"))
    runner, why = choose_runner(load_kubeconfig(), "/usr/bin/tilt", tiltfile)
    assert runner == "local" and "not local" in why


def test_up_runs_tilt_pinned_to_the_context(kubeconfig: Path, fake_bin: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    log = recording_tool(fake_bin, "tilt")
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("TILT", raising=False)
    tiltfile = tmp_path / "Tiltfile"
    tiltfile.write_text("")
    assert run_up(Context(), tiltfile=tiltfile) == 0
    assert recorded(log) == [["up", "--context", LOCAL, "--file", str(tiltfile)]]
    assert "starting Tilt because" in capsys.readouterr().out


def test_up_debug_passes_the_services_to_the_tiltfile(kubeconfig: Path, fake_bin: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    log = recording_tool(fake_bin, "tilt")
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("TILT", raising=False)
    tiltfile = tmp_path / "Tiltfile"
    tiltfile.write_text("")
    assert run_up(Context(), tiltfile=tiltfile, debug=["django", "worker"]) == 0
    assert recorded(log) == [["up", "--context", LOCAL, "--file", str(tiltfile),
                              "--", "--debug", "django", "--debug", "worker"]]  # fmt: skip


def test_up_debug_of_an_unknown_service_names_the_choices(kubeconfig: Path) -> None:
    done = run_inv("up", "--local", "--debug", "nginx")
    assert done.returncode == 1
    assert "--debug nginx: choose from django, flask, worker" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("url", "command"), [
    (None, "python -m pytest tests/e2e -q -rs"),
    ("http://localhost:31000/", "python -m pytest tests/e2e -q -rs --base-url http://localhost:31000"),
])  # fmt: skip
def test_e2e_command(url: str | None, command: str) -> None:
    c = MockContext(run={command: Result(exited=3)})
    assert run_e2e(c, url) == 3

"""The checks themselves, on small hand-made recordings: each can pass and each can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import checks
from .fake_tilt import DockerBuild, Recording, Step


def worker_recording(tmp_path: Path, command: list[str]) -> Recording:
    (tmp_path / "Dockerfile").write_text('FROM base AS dev\nCMD ["dask", "scheduler"]\n', encoding="utf-8")
    build = DockerBuild(ref="nta-dask", context=str(tmp_path), dockerfile=str(tmp_path / "Dockerfile"), target="dev",
                        only=[], ignore=[], build_args={},
                        live_update=[Step(kind="sync", local_path="src", remote_path="/app/services/pipeline/src")])
    worker = {"kind": "Deployment", "metadata": {"name": "nta-dask-worker"},
              "spec": {"template": {"spec": {"containers": [{"image": "nta-dask:dev", "command": command}]}}}}
    return Recording(root=tmp_path, context="docker-desktop", docker_builds={"nta-dask": build}, k8s_objects=[worker])


def test_worker_wrapped_in_watchmedo_passes(tmp_path: Path) -> None:
    command = ["watchmedo", "auto-restart", "--directory", "/app/services/pipeline/src", "--pattern", "*.py",
               "--recursive", "--", "dask", "worker", "tcp://nta-dask-scheduler:8786"]
    checks.check_process_reload(worker_recording(tmp_path, command))


@pytest.mark.parametrize("command", [
    ["dask", "worker", "tcp://nta-dask-scheduler:8786"],
    ["watchmedo", "auto-restart", "--directory", "/app/services/flask/src", "--", "dask", "worker"],
])
def test_worker_not_reloading_fails(tmp_path: Path, command: list[str]) -> None:
    with pytest.raises(checks.TiltfileCheckError, match="nta-dask-worker"):
        checks.check_process_reload(worker_recording(tmp_path, command))


@pytest.mark.parametrize(("ignore", "excluded"), [
    ("*\n!services/flask/src\n", False),
    ("*\n!services/flask/pyproject.toml\n", True),
    ("# nothing ignored\n", False),
    ("services/flask\n", True),
])
def test_dockerignore_semantics(tmp_path: Path, ignore: str, excluded: bool) -> None:
    (tmp_path / ".dockerignore").write_text(ignore, encoding="utf-8")
    assert checks._dockerignored(tmp_path, tmp_path / "services/flask/src") is excluded


def test_cycle_and_closure(tmp_path: Path) -> None:
    from .fake_tilt import Resource

    rec = Recording(root=tmp_path, context="kind-x", resources={
        "a": Resource("a", "k8s", labels=["x"], resource_deps=["b"]),
        "b": Resource("b", "k8s", labels=["x"], resource_deps=["c"]),
        "c": Resource("c", "k8s", labels=["x"]),
    })
    checks.check_deps(rec)
    assert checks.dependency_closure(rec, {"a"}) == {"a", "b", "c"}
    rec.resources["c"].resource_deps.append("a")
    with pytest.raises(checks.TiltfileCheckError, match="cycle"):
        checks.check_deps(rec)

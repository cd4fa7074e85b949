"""The checks and the JSON parsing themselves, on small hand-made data: each check can pass and each can fail."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from . import checks
from .result import (
    TRIGGER_MODE_AUTO,
    TRIGGER_MODE_MANUAL,
    IgnoreDef,
    ImageTarget,
    LiveUpdate,
    Manifest,
    Sync,
    TiltResult,
    dockerignore_patterns,
    parse,
)

WORKER_DOCKERFILE = 'FROM base AS dev\nCMD ["dask", "scheduler"]\n'


def deployment(name: str, image: str, command: list[str] | None = None) -> dict[str, Any]:
    container = {"name": "main", "image": image, **({"command": command} if command else {})}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"template": {"spec": {"containers": [container]}}}}


def image(ref: str, root: Path, syncs: list[Sync] | None = None, dockerfile: str = WORKER_DOCKERFILE) -> ImageTarget:
    live_update = LiveUpdate(root, [], syncs, []) if syncs is not None else None
    return ImageTarget(ref=ref, context=root, dockerfile=dockerfile, target="dev", build_args={}, ignores=[],
                       live_update=live_update)


def manifest(name: str, *, objects: list[dict[str, Any]] = (), images: list[ImageTarget] = (),
             labels: list[str] = ("x",), deps: list[str] = (), cmd: list[str] | None = None,
             trigger_mode: int = TRIGGER_MODE_AUTO) -> Manifest:
    return Manifest(name=name, labels=list(labels), deps=list(deps), trigger_mode=trigger_mode, images=list(images),
                    k8s_yaml=yaml.safe_dump_all(objects), cmd=cmd)


def tilt_result(root: Path, *manifests: Manifest, context: str = "kind-x", log: str = "") -> TiltResult:
    return TiltResult(root=root, context=context, manifests={m.name: m for m in manifests},
                      enabled=[m.name for m in manifests], check_updates=False, log=log)


def worker(root: Path, command: list[str]) -> TiltResult:
    sync = Sync("src", "/app/services/pipeline/src")
    objects = [deployment("nta-dask-worker", "nta-dask:dev", command)]
    return tilt_result(root, manifest("nta-dask-worker", objects=objects, images=[image("nta-dask", root, [sync])]))


def test_worker_reloading_in_place_passes(tmp_path: Path) -> None:
    command = ["dask", "worker", "tcp://nta-dask-scheduler:8786", "--preload", "nta_devserver.dask"]
    checks.check_process_reload(worker(tmp_path, command))


def test_worker_wrapped_in_watchmedo_passes(tmp_path: Path) -> None:
    command = ["watchmedo", "auto-restart", "--directory", "/app/services/pipeline/src", "--patterns", "**/*.py",
               "--recursive", "--", "dask", "worker", "tcp://nta-dask-scheduler:8786"]
    checks.check_process_reload(worker(tmp_path, command))


@pytest.mark.parametrize("command", [
    ["dask", "worker", "tcp://nta-dask-scheduler:8786"],
    ["watchmedo", "auto-restart", "--directory", "/app/services/flask/src", "--", "dask", "worker"],
    ["dask", "worker", "tcp://nta-dask-scheduler:8786", "--preload", "nta_pipeline.reaper"],
    [],  # no command in the YAML: the dev stage's CMD, a plain `dask scheduler`
], ids=["plain", "watching-elsewhere", "other-preload", "dockerfile-cmd"])
def test_worker_not_reloading_fails(tmp_path: Path, command: list[str]) -> None:
    with pytest.raises(checks.TiltfileCheckError, match="nta-dask-worker"):
        checks.check_process_reload(worker(tmp_path, command))


@pytest.mark.parametrize(("ignore", "excluded"), [
    ("*\n!services/flask/src\n", False),
    ("*\n!services/flask/pyproject.toml\n", True),
    ("# nothing ignored\n", False),
    ("services/flask\n", True),
])
def test_dockerignore_semantics(tmp_path: Path, ignore: str, excluded: bool) -> None:
    (tmp_path / ".dockerignore").write_text(ignore, encoding="utf-8")
    patterns = dockerignore_patterns(ignore)
    # As Tilt lists them: only= first (checked apart), then the .dockerignore unless it is empty.
    filters = [IgnoreDef(tmp_path, ["**", "!services/flask"])] + ([IgnoreDef(tmp_path, patterns)] if patterns else [])
    found = checks._excluded_by(filters, tmp_path / "services/flask/src")
    assert (found is not None) is excluded
    assert found is None or found.is_dockerignore


def test_only_filter_is_recognised(tmp_path: Path) -> None:
    target = ImageTarget(ref="x", context=tmp_path, dockerfile="", target="", build_args={}, live_update=None,
                         ignores=[IgnoreDef(tmp_path, ["**/__pycache__"]), IgnoreDef(tmp_path, ["**", "!a", "!b/c"])])
    assert target.only == ["a", "b/c"]
    assert checks._excluded_by(target.ignores, tmp_path / "d") is None  # only= is checked apart, by containment


def live_updated(root: Path, stop_paths: list[str], sync: Sync) -> TiltResult:
    only = IgnoreDef(root, ["**", "!services/a"])
    target = ImageTarget(ref="nta-a", context=root, dockerfile="", target="dev", build_args={}, ignores=[only],
                         live_update=LiveUpdate(root, stop_paths, [sync], []))
    return tilt_result(root, manifest("a", objects=[deployment("a", "nta-a")], images=[target]))


@pytest.mark.parametrize(("stop_paths", "sync", "error"), [
    (["services/a/pyproject.toml"], Sync("services/a/src", "/app/services/a/src"), None),
    ([], Sync("services/a/src", "/app/services/a/src"), "services/a/pyproject.toml is in only= but not in fall_back"),
    (["services/a/pyproject.toml"], Sync("services/a/sr", "/app/services/a/sr"), "does not exist"),
    (["services/a/pyproject.toml"], Sync("services/a/src", "/srv/a"), "destination must be"),
    (["services/a/pyproject.toml"], Sync("services/b", "/app/services/b"), "outside only="),
    (["services/a/pyproject.toml"], Sync("../outside", "/app/outside"), "outside the build context"),
], ids=["ok", "dependency-not-rebuilt", "missing", "off-layout", "outside-only", "outside-context"])
def test_live_update_paths(tmp_path: Path, stop_paths: list[str], sync: Sync, error: str | None) -> None:
    root = tmp_path / "repo"
    for folder in ("services/a/src", "services/b"):
        (root / folder).mkdir(parents=True)
    (root / "services/a/pyproject.toml").write_text("[project]\n", encoding="utf-8")
    (tmp_path / "outside").mkdir()
    result = live_updated(root, stop_paths, sync)
    if error is None:
        checks.check_live_update_paths(result)
        return
    with pytest.raises(checks.TiltfileCheckError, match=re.escape(error)):
        checks.check_live_update_paths(result)


def test_cycle_and_closure(tmp_path: Path) -> None:
    result = tilt_result(tmp_path, manifest("a", deps=["b"]), manifest("b", deps=["c"]), manifest("c"))
    checks.check_deps(result)
    assert checks.dependency_closure(result, {"a"}) == {"a", "b", "c"}
    cyclic = tilt_result(tmp_path, manifest("a", deps=["b"]), manifest("b", deps=["c"]), manifest("c", deps=["a"]))
    with pytest.raises(checks.TiltfileCheckError, match="cycle"):
        checks.check_deps(cyclic)
    with pytest.raises(checks.TiltfileCheckError, match="unknown resources"):
        checks.check_deps(tilt_result(tmp_path, manifest("a", deps=["z"])))


def test_images_need_a_build_and_a_sync(tmp_path: Path) -> None:
    app = [deployment("nta-web", "nta-web:dev"), deployment("db", "mongo:7")]
    synced = image("nta-web", tmp_path, [Sync("src", "/app/src")])
    checks.check_images(tilt_result(tmp_path, manifest("nta-web", objects=app, images=[synced])))
    with pytest.raises(checks.TiltfileCheckError, match=r"\['nta-web'\].*no docker_build"):
        checks.check_images(tilt_result(tmp_path, manifest("nta-web", objects=app)))
    unsynced = image("nta-web", tmp_path)
    with pytest.raises(checks.TiltfileCheckError, match="no live_update sync"):
        checks.check_images(tilt_result(tmp_path, manifest("nta-web", objects=app, images=[unsynced])))
    standin = manifest("db", objects=[deployment("db", "nta-mongo-standin:dev")],
                       images=[image("nta-mongo-standin", tmp_path)])
    checks.check_images(tilt_result(tmp_path, standin))  # built without live_update: runs no code of ours


def test_tilt_warnings_fail(tmp_path: Path) -> None:
    checks.check_warnings(tilt_result(tmp_path, log="Loading Tiltfile at: Tiltfile\nSuccessfully loaded Tiltfile\n"))
    log = "resource web specified a dependency on unknown resource dbb - dependency ignored\n"
    with pytest.raises(checks.TiltfileCheckError, match="dbb"):
        checks.check_warnings(tilt_result(tmp_path, log=log))


def test_buttons(tmp_path: Path) -> None:
    tasks = {"test": {"--layer"}, "up": set()}
    button = manifest("unit", labels=["tests"], cmd=["sh", "-c", "./inv test --layer unit"],
                      trigger_mode=TRIGGER_MODE_MANUAL)
    seed = manifest("seed", labels=["data"], cmd=["kubectl", "exec", "x"])
    checks.check_buttons(tilt_result(tmp_path, button, seed), tasks)
    on_up = manifest("unit", labels=["tests"], cmd=["./inv", "test"], trigger_mode=1)  # manual, auto_init=True
    with pytest.raises(checks.TiltfileCheckError, match="button"):
        checks.check_buttons(tilt_result(tmp_path, on_up), tasks)
    missing = manifest("e2e", labels=["tests"], cmd=["sh", "-c", "./inv e2e"], trigger_mode=TRIGGER_MODE_MANUAL)
    with pytest.raises(checks.TiltfileCheckError, match="no such task"):
        checks.check_buttons(tilt_result(tmp_path, missing), tasks)
    flag = manifest("unit", labels=["tests"], cmd=["./inv", "test", "--layr", "unit"], trigger_mode=TRIGGER_MODE_MANUAL)
    with pytest.raises(checks.TiltfileCheckError, match="--layr"):
        checks.check_buttons(tilt_result(tmp_path, flag), tasks)


def test_invoke_tasks_and_options(tmp_path: Path) -> None:
    (tmp_path / "tasks.py").write_text(
        "from invoke import task\n\n@task\ndef up(c): ...\n\n"
        "@task(help={'url': 'x'})\ndef test_e2e(c, url='', max_upload_mb=0): ...\n\ndef helper(c): ...\n",
        encoding="utf-8")
    assert checks.invoke_tasks(tmp_path / "tasks.py") == {"up": set(), "test-e2e": {"--url", "--max-upload-mb"}}


def test_labels(tmp_path: Path) -> None:
    checks.check_labels(tilt_result(tmp_path, manifest("a", labels=["web"])))
    with pytest.raises(checks.TiltfileCheckError, match="uncategorized.*no label"):
        checks.check_labels(tilt_result(tmp_path, manifest("uncategorized", labels=[])))
    with pytest.raises(checks.TiltfileCheckError, match="invalid labels"):
        checks.check_labels(tilt_result(tmp_path, manifest("a", labels=["-web"])))


def test_one_workload_per_resource(tmp_path: Path) -> None:
    both = [deployment("a", "nta-a"), deployment("b", "nta-b")]
    with pytest.raises(checks.TiltfileCheckError, match="one resource per workload"):
        checks.check_resources(tilt_result(tmp_path, manifest("a", objects=both)))


def test_context_must_be_local(tmp_path: Path) -> None:
    local = checks.LocalContexts(names=["docker-desktop"], prefixes=["kind-"], overlays={}, default_overlay="dev")
    checks.check_context(tilt_result(tmp_path, context="kind-x"), local)
    with pytest.raises(checks.TiltfileCheckError, match="gke_prod"):
        checks.check_context(tilt_result(tmp_path, context="gke_prod"), local)


def test_parse_keeps_no_secret_data(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"PASSWORD": "aHVudGVyMg=="}}
    data = {"Manifests": [{
        "Name": "cfg", "Labels": {"data": "data"}, "TriggerMode": 0, "ResourceDependencies": None,
        "ImageTargets": [],
        "DeployTarget": {"yaml": yaml.safe_dump(secret), "Links": [{"URL": {
            "Scheme": "http", "Host": "localhost:1", "Path": "/x/", "RawQuery": ""}, "Name": "X"}]},
    }], "EnabledManifests": ["cfg"], "VersionSettings": {"CheckUpdates": False},
        "Secrets": {"s": {"PASSWORD": "hunter2"}}}
    result = parse(data, root=tmp_path, context="kind-x")
    assert result.objects() == [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}]
    assert result.manifests["cfg"].links == ["http://localhost:1/x/"] and result.manifests["cfg"].deps == []
    assert "aHVudGVyMg==" not in repr(result) and "hunter2" not in repr(result)


DOCKERFILE = """\
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE} AS deps
COPY services/a/pyproject.toml \\
     services/b/pyproject.toml services/
COPY --chown=10001:10001 ["services/a/src", "/app/services/a/src"]
CMD ["python", "-m", "a"]
FROM deps AS dev
COPY --from=deps /opt/venv /opt/venv
ADD services/c /app/c
FROM deps AS prod
CMD ["gunicorn", "a:app"]
"""


def test_dockerfile_parsing() -> None:
    assert checks.dockerfile_sources(DOCKERFILE) == [
        "services/a/pyproject.toml", "services/b/pyproject.toml", "services/a/src", "services/c",
    ]
    assert checks.dockerfile_stages(DOCKERFILE) == ["deps", "dev", "prod"]
    assert checks.dockerfile_command(DOCKERFILE, "dev") == ["python", "-m", "a"]  # inherited from deps
    assert checks.dockerfile_command(DOCKERFILE, "prod") == ["gunicorn", "a:app"]


def test_dockerfile_check(tmp_path: Path) -> None:
    target = ImageTarget(ref="x", context=tmp_path, dockerfile=DOCKERFILE, target="dev", build_args={},
                         live_update=None, ignores=[IgnoreDef(tmp_path, ["**", "!services/a", "!services/c"])])
    app = [deployment("x", "x")]
    with pytest.raises(checks.TiltfileCheckError, match="services/b/pyproject.toml"):
        checks.check_dockerfiles(tilt_result(tmp_path, manifest("x", objects=app, images=[target])))
    wrong = ImageTarget(ref="x", context=tmp_path, dockerfile=DOCKERFILE, target="devv", build_args={},
                        live_update=None, ignores=[])
    with pytest.raises(checks.TiltfileCheckError, match="devv"):
        checks.check_dockerfiles(tilt_result(tmp_path, manifest("x", objects=app, images=[wrong])))

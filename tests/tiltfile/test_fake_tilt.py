"""The recording built-ins hold Tiltfiles to Tilt's documented signatures, and the helpers parse what they claim."""

from __future__ import annotations

from pathlib import Path

import pytest

from .checks import dockerfile_command, dockerfile_sources, dockerfile_stages
from .fake_tilt import TiltfileError, evaluate, flatten_modules


def run(tmp_path: Path, text: str, args: list[str] | None = None):
    tiltfile = tmp_path / "Tiltfile"
    tiltfile.write_text(text, encoding="utf-8")
    return evaluate(tiltfile, args=args)


@pytest.mark.parametrize(
    ("snippet", "error"),
    [
        ("docker_build('x', '.', contxt='.')", "unexpected keyword argument 'contxt'"),
        ("docker_build('x')", "missing 1 required positional argument: 'context'"),
        ("k8s_resource('x', label=['a'])", "unexpected keyword argument 'label'"),
        ("k8s_resource('x', labels=[1])", "expected str or list of str"),
        ("k8s_resource('x', resource_deps='y')", "expected str or list of str"),
        ("k8s_resource('x', trigger_mode='manual')", "TRIGGER_MODE_MANUAL"),
        ("local_resource('t')", "missing 1 required positional argument: 'cmd'"),
        ("local_resource('t', 'true', button=True)", "unexpected keyword argument 'button'"),
        ("sync('a', '/b', '/c')", "takes 2 positional arguments"),
        ("run('make', triggers=['a'])", "unexpected keyword argument 'triggers'"),
        ("port_forward('8787')", "local_port"),
        ("link()", "missing 1 required positional argument: 'url'"),
        ("allow_k8s_contexts(contexts=1)", "expected str or list of str"),
        ("config.define_string_list('to-run', arg=True)", "unexpected keyword argument 'arg'"),
        ("config.no_such_function()", "undefined: config_no_such_function"),
        ("docker_build('x', '.', live_update=[run('a'), sync('b', '/c')])", "in that order"),
        ("docker_build('x', '.', live_update=['sync'])", "LiveUpdateStep"),
        ("local('exit 3')", "exited 3"),
        ("fail('stop here')", "stop here"),
        ("load('ext://restart_process', 'docker_build_with_restart')", "load not implemented"),
    ],
)
def test_rejects_what_tilt_rejects(starlark: None, tmp_path: Path, snippet: str, error: str) -> None:
    with pytest.raises(TiltfileError) as failure:
        run(tmp_path, snippet + "\n")
    assert error in str(failure.value)


def test_records_a_build_and_resources(starlark: None, tmp_path: Path) -> None:
    rec = run(tmp_path, (
        "docker_build('img', '.', only=['src'], live_update=[fall_back_on('req.txt'), sync('src', '/app/src'),"
        " run('touch /tmp/x', trigger='src/a.py')])\n"
        "k8s_resource('web', labels='front', port_forwards='9000:8000', links=[link('http://x/', 'X')])\n"
        "local_resource('t', ['pytest'], trigger_mode=TRIGGER_MODE_MANUAL, auto_init=False, labels=['tests'])\n"
    ))
    build = rec.docker_builds["img"]
    assert [s.kind for s in build.live_update] == ["fall_back_on", "sync", "run"]
    assert build.only == [str(tmp_path / "src")] and build.context == str(tmp_path)
    assert build.live_update[2].trigger == ["src/a.py"]
    web = rec.resources["web"]
    assert web.labels == ["front"] and web.port_forwards[0]["local_port"] == 9000
    assert web.port_forwards[0]["container_port"] == 8000 and web.links[0]["name"] == "X"
    assert rec.resources["t"].trigger_mode == "manual" and rec.resources["t"].auto_init is False


@pytest.mark.parametrize(
    ("args", "expected"),
    [([], {}), (["a", "b"], {"to-run": ["a", "b"]}), (["--mode", "x", "a"], {"mode": "x", "to-run": ["a"]}),
     (["--fast"], {"fast": True}), (["--fast=false"], {"fast": False})],
)
def test_config_parse(starlark: None, tmp_path: Path, args: list[str], expected: dict) -> None:
    rec = run(tmp_path, (
        "config.define_string_list('to-run', args=True)\nconfig.define_string('mode')\nconfig.define_bool('fast')\n"
        "cfg = config.parse()\n"
    ), args=args)
    assert rec.config == expected


def test_config_parse_rejects_unknown_flags(starlark: None, tmp_path: Path) -> None:
    with pytest.raises(TiltfileError, match="unknown flag --nope"):
        run(tmp_path, "config.define_string_list('to-run', args=True)\nconfig.parse()\n", args=["--nope"])


def test_flatten_modules_touches_code_only() -> None:
    text = "x = config.parse()  # config.parse\ns = 'config.parse'\ny = a.config.parse\n"
    assert flatten_modules(text) == "x = config_parse()  # config.parse\ns = 'config.parse'\ny = a.config.parse\n"


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
    assert dockerfile_sources(DOCKERFILE) == [
        "services/a/pyproject.toml", "services/b/pyproject.toml", "services/a/src", "services/c",
    ]
    assert dockerfile_stages(DOCKERFILE) == ["deps", "dev", "prod"]
    assert dockerfile_command(DOCKERFILE, "dev") == ["python", "-m", "a"]  # inherited from deps
    assert dockerfile_command(DOCKERFILE, "prod") == ["gunicorn", "a:app"]

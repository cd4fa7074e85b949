"""Where and how the Tiltfile deploys: local clusters only (dev/local-contexts.yaml), each with its overlay, and
the base image the Python images build FROM."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from . import checks
from .conftest import (
    EXPECTED_LOCAL,
    EXTRA_CONTEXT,
    LOCAL,
    LOCAL_CONTEXTS,
    OFFLINE_BASE,
    REMOTE_CONTEXTS,
    REPO_ROOT,
    RunTilt,
    TiltfileError,
)
from .result import TiltResult, container_images

# The public base: the Dockerfiles' default (ARG BASE_IMAGE=...), used when the local engine has it.
PUBLIC_BASE = re.search(r"(?m)^ARG BASE_IMAGE=(\S+)", (REPO_ROOT / "services/flask/Dockerfile").read_text()).group(1)
STANDIN = "nta-mongo-standin"
# `docker images -q IMAGE` prints an id for a present image and nothing otherwise; both exit 0.
FAKE_DOCKER = """#!/bin/sh
echo "$*" >> "$FAKE_DOCKER_CALLS"
[ "$1 $2" = "images -q" ] || { echo "fake docker: unexpected arguments: $*" >&2; exit 1; }
case " $FAKE_DOCKER_IMAGES " in *" $3 "*) echo 0123456789ab ;; esac
"""


def test_the_list_admits_local_clusters_only() -> None:
    assert all(LOCAL.is_local(context) for context in EXPECTED_LOCAL)
    assert not any(LOCAL.is_local(context) for context in REMOTE_CONTEXTS)


@pytest.mark.parametrize("context", LOCAL_CONTEXTS)
def test_local_context_deploys_its_overlay_and_seeds_there(run_tilt: RunTilt, context: str) -> None:
    result = run_tilt(context=context)
    assert f"nta: context {context} -> deploying k8s/overlays/{LOCAL.overlay(context)}\n" in result.log
    assert result.manifests["seed-reference"].cmd[:3] == ["kubectl", "--context", context]


def test_extra_local_context_from_the_environment(run_tilt: RunTilt) -> None:
    with pytest.raises(TiltfileError):
        run_tilt(context=EXTRA_CONTEXT)
    result = run_tilt(context=EXTRA_CONTEXT, env={"NTA_LOCAL_CONTEXTS": f"other, {EXTRA_CONTEXT}"})
    assert f"nta: context {EXTRA_CONTEXT} -> deploying k8s/overlays/dev\n" in result.log


@pytest.mark.parametrize("context", REMOTE_CONTEXTS)
def test_remote_context_is_refused(run_tilt: RunTilt, context: str) -> None:
    with pytest.raises(TiltfileError) as failure:
        run_tilt(context=context)
    assert context in failure.value.stderr and "local" in failure.value.stderr
    assert failure.value.stdout == ""


def _mongo_images(result: TiltResult) -> list[str]:
    return container_images(result.workloads()["nta-mongodb"])


def test_docker_desktop_runs_the_official_mongo(result: TiltResult) -> None:
    assert _mongo_images(result) == ["mongo"]
    assert STANDIN not in result.images()


def test_nta_local_builds_and_runs_the_mongo_standin(run_tilt: RunTilt) -> None:
    result = run_tilt(context="nta-local")
    assert _mongo_images(result) == [STANDIN]
    standin = result.images()[STANDIN]
    assert standin.live_update is None and standin.build_args == {"BASE_IMAGE": OFFLINE_BASE}
    checks.check_all(result, LOCAL)


def test_overlay_flag_overrides_the_context_default(run_tilt: RunTilt) -> None:
    result = run_tilt(args=["--overlay", "cluster-local"])
    assert "nta: context docker-desktop -> deploying k8s/overlays/cluster-local\n" in result.log
    assert _mongo_images(result) == [STANDIN] and STANDIN in result.images()


def test_base_image_flag(run_tilt: RunTilt) -> None:
    result = run_tilt(args=["--base-image", "example.org/python:3.11"])
    assert {t.build_args.get("BASE_IMAGE") for t in result.images().values()} == {"example.org/python:3.11"}
    assert "nta: images build FROM example.org/python:3.11 (as asked)" in result.log


@pytest.mark.parametrize(("present", "chosen"), [
    ([OFFLINE_BASE], OFFLINE_BASE),  # no public base in the engine: the offline one
    ([OFFLINE_BASE, PUBLIC_BASE], PUBLIC_BASE),  # the public one whenever it is there
], ids=["offline-only", "both"])
def test_base_image_detected_with_docker(run_tilt: RunTilt, host_env: dict[str, str], tmp_path: Path,
                                         present: list[str], chosen: str) -> None:
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text(FAKE_DOCKER, encoding="utf-8")
    fake.chmod(0o755)
    calls = tmp_path / "calls"
    result = run_tilt(env={"NTA_BASE_IMAGE": "", "PATH": f"{fake.parent}{os.pathsep}{host_env['PATH']}",
                           "FAKE_DOCKER_IMAGES": " ".join(present), "FAKE_DOCKER_CALLS": str(calls)})
    assert f"images -q {PUBLIC_BASE}" in calls.read_text(encoding="utf-8")
    assert {t.build_args.get("BASE_IMAGE") for t in result.images().values()} == {chosen}
    assert f"nta: images build FROM {chosen}" in result.log

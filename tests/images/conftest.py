"""Fixtures of the images layer: a real Docker engine, the offline base image, the images built once per session.

A missing engine or docker SDK skips these tests locally and fails them in CI (env CI set): CI must start dockerd
before the tests (.ci/run). The engine is started here only when it is not running, through
nta_dev.cluster.ensure_dockerd when that exists.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.fixtures.require import unavailable

BASE_IMAGE = os.environ.get("NTA_BASE_IMAGE", "nta-base:bookworm")




def _ping() -> bool:
    import docker

    try:
        docker.from_env(timeout=10).ping()
        return True
    except Exception:  # DockerException, requests' ConnectionError, ...
        return False


@pytest.fixture(scope="session")
def docker_client():
    """A docker SDK client of a running engine."""
    try:
        import docker
    except ImportError:
        unavailable("the docker SDK is not installed: `.venv/bin/pip install -e '.[test]'`")
    if not _ping():
        try:
            from nta_dev.cluster import ensure_dockerd
        except ImportError:
            unavailable("no Docker engine answers: start it as root (`dockerd >/tmp/dockerd.log 2>&1 &`) "
                        "or point DOCKER_HOST at one")  # fmt: skip
        from nta_dev.errors import ToolkitError

        try:  # starts dockerd only when none runs; never restarts a running one
            ensure_dockerd()
        except ToolkitError as exc:
            unavailable(f"no Docker engine answers and starting one failed: {exc}")
        if not _ping():
            unavailable("dockerd was started but does not answer; see its log (/tmp/dockerd.log)")
    return docker.from_env(timeout=600)


@pytest.fixture(scope="session")
def base_image(docker_client) -> str:
    """The BASE_IMAGE build arg: the offline base (built when missing) unless NTA_BASE_IMAGE names another."""
    if BASE_IMAGE == "nta-base:bookworm":
        from nta_dev.base_image import BaseImageError, ensure_base_image

        try:
            ensure_base_image(BASE_IMAGE, log=lambda _line: None)
        except BaseImageError as exc:
            unavailable(str(exc))
    return BASE_IMAGE


@pytest.fixture(scope="session")
def built(docker_client, base_image: str):
    """Every image and target built once per session: tag -> nta_dev.images.BuildResult."""
    from nta_dev.images import IMAGES, MONGO_STANDIN, build

    results = {}
    for spec in [*IMAGES.values(), MONGO_STANDIN]:
        for target in spec.targets:
            result = build(spec, target, base_image=base_image, client=docker_client)
            results[result.tag] = result
    return results


@pytest.fixture
def run_container(docker_client) -> Iterator:
    """Start containers that are removed after the test: run_container(image, **docker_sdk_kwargs)."""
    started = []

    def run(image: str, **kwargs):
        container = docker_client.containers.run(image, detach=True, labels={"org.nta.test": "images"}, **kwargs)
        started.append(container)
        return container

    yield run
    for container in started:
        container.remove(force=True, v=True)

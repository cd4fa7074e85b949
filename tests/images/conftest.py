"""Fixtures of the images layer: the images built once per session, containers removed after each test. The
engine and the base image (docker_client, base_image) come from tests/fixtures/docker.py, a plugin of every layer.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def built(docker_client, base_image: str):
    """Every image and target built once per session: tag -> nta_dev.images.build.BuildResult."""
    from nta_dev.images.build import IMAGES, MONGO_STANDIN, build

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

"""A code-only change rebuilds on top of the cached dependency layer; a dependency-file change does not.

Builds from a copy of the repository's build inputs (tmp_path), so the checkout is never touched. The classic
builder checksums COPY sources by content (not mtime), so the copy reuses the layers of the session's builds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nta_dev.images.build import IMAGES, SOURCES, build, copy_build_inputs

DEPS_STEP = "RUN python3 services/requirements.py"  # installs what the pyproject.toml files require
# A file of each image's own service (the dask image's code is the pipeline's).
CODE_FILE = {"nta-flask": "services/flask/src/nta_api/app.py", "nta-django": "services/django/src/nta_web/views.py",
             "nta-dask": "services/pipeline/src/nta_pipeline/runner.py"}  # fmt: skip


def deps_cached(result) -> bool:
    hits = result.cached(DEPS_STEP)
    assert len(hits) == 1, f"expected one `{DEPS_STEP}` step in {result.tag}, got {result.steps}"
    return hits[0]


@pytest.mark.parametrize("name", CODE_FILE)
def test_code_only_change_reuses_the_deps_layer(built, docker_client, base_image, tmp_path: Path, name: str) -> None:
    assert CODE_FILE[name].startswith(SOURCES[name])
    root = copy_build_inputs(tmp_path)
    tag = f"{name}:cache-test"
    try:
        first = build(IMAGES[name], "dev", base_image=base_image, tag=tag, client=docker_client, root=root)
        with (root / CODE_FILE[name]).open("a") as fh:
            fh.write(f"\n# code-only change made by {__name__}\n")
        second = build(IMAGES[name], "dev", base_image=base_image, tag=tag, client=docker_client, root=root)
        assert deps_cached(first) and deps_cached(second), "the deps layer was rebuilt for a code-only change"
        changed = [step for step, hit in second.steps if not hit and step.startswith("COPY")]
        assert changed, f"the changed code was not copied again: {second.steps}"
        assert second.image_id != first.image_id
        tail = docker_client.containers.run(tag, ["tail", "-n", "1", f"/app/{CODE_FILE[name]}"], remove=True)
        assert b"code-only change" in tail
    finally:
        docker_client.images.remove(tag, force=True, noprune=False)


def test_dependency_change_rebuilds_the_deps_layer(built, docker_client, base_image, tmp_path: Path) -> None:
    # The control of the test above: the cache check can fail. The flask image has the quickest install.
    root = copy_build_inputs(tmp_path)
    with (root / "services/flask/pyproject.toml").open("a") as fh:
        fh.write("\n# dependency-file change made by the images tests\n")
    tag = "nta-flask:cache-test-deps"
    try:
        result = build(IMAGES["nta-flask"], "dev", base_image=base_image, tag=tag, client=docker_client, root=root)
        assert not deps_cached(result)
    finally:
        docker_client.images.remove(tag, force=True)

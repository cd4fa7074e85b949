"""Broken copies of the real Tiltfile must fail: the checks catch each mistake, naming it."""

from __future__ import annotations

import pytest

from . import checks
from .conftest import TILTFILE, Evaluator
from .fake_tilt import TiltfileError

# (id, text to find in the real Tiltfile, replacement, text the error must mention)
MUTATIONS = [
    ("typo-in-sync-path", "sync('services/flask/src'", "sync('services/flask/srcc'", "srcc"),
    ("unknown-resource", "k8s_resource('nta-flask',", "k8s_resource('nta-flsk',", "nta-flsk"),
    ("unknown-kwarg", "labels=['data']", "labelz=['data']", "labelz"),
    ("missing-required-arg", "sync('services/flask/src', '/app/services/flask/src')", "sync('services/flask/src')",
     "remote_path"),
    ("remote-context-allowed", "allow_k8s_contexts(LOCAL_CONTEXTS", "allow_k8s_contexts(['gke_prod'] + LOCAL_CONTEXTS",
     "gke_prod"),
    ("sync-destination-off-layout", "'/app/services/flask/src'", "'/srv/flask'", "/srv/flask"),
    ("sync-outside-only", "only=['services/nginx', 'services/django/src/nta_web/static']", "only=['services/nginx']",
     "outside only"),
    ("dependency-file-not-rebuilt", "'services/flask/pyproject.toml', ", "", "pyproject.toml"),
    ("missing-label", "k8s_resource('nta-flask', labels=['api'], ", "k8s_resource('nta-flask', ", "no label"),
    ("unknown-target", "target='dev'", "target='devv'", "devv"),
    ("image-without-build", "docker_build('nta-flask'", "docker_build('nta-flaskk'", "nta-flask"),
    ("dep-on-unknown-resource", "resource_deps=['nta-mongodb'])", "resource_deps=['nta-mongo'])", "nta-mongo"),
    ("dependency-cycle", "k8s_resource('nta-mongodb', labels=['data'])",
     "k8s_resource('nta-mongodb', labels=['data'], resource_deps=['nta-nginx'])", "cycle"),
    ("test-button-runs-on-up", "'auto_init': False", "'auto_init': True", "button"),
    ("ext-load", "LOCAL_CONTEXTS = ", "load('ext://restart_process', 'docker_build_with_restart')\nLOCAL_CONTEXTS = ",
     "ext://"),
]


def verify(run_tiltfile: Evaluator, text: str) -> None:
    """What the layer asserts about a Tiltfile, in one call."""
    checks.check_source(text)
    checks.check_all(run_tiltfile(text), text)


def mutate(text: str, old: str, new: str) -> str:
    assert old in text, f"mutation target {old!r} is no longer in the Tiltfile: update MUTATIONS"
    return text.replace(old, new, 1)


def test_unmutated_tiltfile_passes(run_tiltfile: Evaluator) -> None:
    # The baseline: each mutation below fails because of the mutation, not because the original does.
    verify(run_tiltfile, TILTFILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("old", "new", "mentions"), [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_broken_tiltfile_fails(run_tiltfile: Evaluator, old: str, new: str, mentions: str) -> None:
    broken = mutate(TILTFILE.read_text(encoding="utf-8"), old, new)
    with pytest.raises((TiltfileError, checks.TiltfileCheckError)) as failure:
        verify(run_tiltfile, broken)
    assert mentions in str(failure.value)

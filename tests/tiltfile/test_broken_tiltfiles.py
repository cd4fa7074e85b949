"""Broken copies of the real Tiltfile fail: refused by Tilt (exit 5) or caught by the checks, naming the mistake."""

from __future__ import annotations

import pytest

from . import checks
from .conftest import LOCAL, REMOTE_CONTEXTS, TILTFILE, RunTilt, TiltfileError

DEFAULT = "docker-desktop"
# (id, text to find in the real Tiltfile, replacement, context to evaluate on, text the error must mention)
MUTATIONS = [
    ("typo-in-sync-path", "sync('services/flask/src'", "sync('services/flask/srcc'", DEFAULT, "srcc"),
    ("unknown-resource", "resource('nta-flask', 'api'", "resource('nta-flsk', 'api'", DEFAULT, "nta-flsk"),
    ("unknown-kwarg", "labels=['api']", "labelz=['api']", DEFAULT, "labelz"),
    ("missing-required-arg", "sync('services/flask/src', '/app/services/flask/src')", "sync('services/flask/src')",
     DEFAULT, "remote_path"),
    ("remote-context-allowed", "if context not in LOCAL", "if False and context not in LOCAL", REMOTE_CONTEXTS[0],
     REMOTE_CONTEXTS[0]),
    ("sync-destination-off-layout", "'/app/services/flask/src'", "'/srv/flask'", DEFAULT, "/srv/flask"),
    ("sync-outside-only", "only=['services/nginx', 'services/django/src/nta_web/static']", "only=['services/nginx']",
     DEFAULT, "outside only"),
    ("dependency-file-not-rebuilt", "'services/flask/pyproject.toml', ", "", DEFAULT, "pyproject.toml"),
    ("missing-label", "labels=[label]", "labels=[]", DEFAULT, "no label"),
    ("unknown-target", "target='dev'", "target='devv'", DEFAULT, "devv"),
    ("missing-dockerfile", "dockerfile='services/flask/Dockerfile'", "dockerfile='services/flask/Dockerfle'", DEFAULT,
     "Dockerfle"),
    ("image-without-build", "docker_build('nta-flask'", "docker_build('nta-flaskk'", DEFAULT, "nta-flask"),
    ("dep-on-unknown-resource", "resource_deps=['nta-mongodb'])", "resource_deps=['nta-mongo'])", DEFAULT,
     "nta-mongo"),
    ("dependency-cycle", "resource('nta-mongodb', 'data', resource_deps=['nta-config'])",
     "resource('nta-mongodb', 'data', resource_deps=['nta-config', 'nta-nginx'])", DEFAULT, "cycle"),
    ("test-button-runs-on-up", "auto_init=False", "auto_init=True", DEFAULT, "button"),
    ("button-runs-a-missing-task", "' test --layer unit'", "' tset --layer unit'", DEFAULT, "tset"),
    ("button-passes-an-unknown-option", "' test-e2e --url", "' test-e2e --ulr", DEFAULT, "--ulr"),
    ("standin-built-for-every-overlay", "if 'nta-mongo-standin' in container_images(",
     "if True or 'nta-mongo-standin' in container_images(", DEFAULT, "nta-mongo-standin"),
    ("ext-load", "LOCAL = ", "load('ext://restart_process', 'docker_build_with_restart')\nLOCAL = ", DEFAULT,
     "ext://"),
]


def verify(run_tilt: RunTilt, text: str, context: str = DEFAULT) -> None:
    """What the layer asserts about a Tiltfile, in one call: the text, Tilt's evaluation, the checks."""
    checks.check_source(text)  # first: Tilt would try to clone the extension
    checks.check_all(run_tilt(text, context=context), LOCAL)


def mutate(text: str, old: str, new: str) -> str:
    assert old in text, f"mutation target {old!r} is no longer in the Tiltfile: update MUTATIONS"
    return text.replace(old, new, 1)


def test_unmutated_tiltfile_passes(run_tilt: RunTilt) -> None:
    # The baseline: each mutation below fails because of the mutation, not because the original does.
    verify(run_tilt, TILTFILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("old", "new", "context", "mentions"), [m[1:] for m in MUTATIONS],
                         ids=[m[0] for m in MUTATIONS])
def test_broken_tiltfile_fails(run_tilt: RunTilt, old: str, new: str, context: str, mentions: str) -> None:
    broken = mutate(TILTFILE.read_text(encoding="utf-8"), old, new)
    with pytest.raises((TiltfileError, checks.TiltfileCheckError)) as failure:
        verify(run_tilt, broken, context)
    assert mentions in str(failure.value)


def test_tilt_enforces_the_version_constraint(run_tilt: RunTilt) -> None:
    """Tilt itself refuses an unmet constraint= (so the Tiltfile's '>=0.37.0' means something)."""
    broken = mutate(TILTFILE.read_text(encoding="utf-8"), "constraint='>=0.37.0'", "constraint='>=99.0.0'")
    with pytest.raises(TiltfileError, match="version constraint"):
        run_tilt(broken)

"""`tilt up -- LABEL|RESOURCE ...` starts a subset: the named resources, what they depend on, and the buttons."""

from __future__ import annotations

import pytest

from . import checks
from .conftest import RunTilt, TiltfileError
from .result import TiltResult

SUBSETS = [["web", "api"], ["api"], ["compute"], ["data"], ["nta-flask"], ["web"]]


def expected(full: TiltResult, args: list[str]) -> set[str]:
    """Resources named or carrying a named label, the test buttons, and (transitively) what they start after."""
    chosen = {name for name, m in full.manifests.items()
              if name in args or set(m.labels) & set(args) or checks.BUTTON_LABEL in m.labels}
    return checks.dependency_closure(full, chosen)


@pytest.mark.parametrize("args", SUBSETS, ids=" ".join)
def test_subset_by_label_or_name(run_tilt: RunTilt, result: TiltResult, args: list[str]) -> None:
    enabled = run_tilt(args=args).enabled
    assert set(enabled) == expected(result, args)
    assert len(enabled) < len(result.manifests)


def test_web_api_subset_leaves_the_worker_out(run_tilt: RunTilt) -> None:
    enabled = set(run_tilt(args=["web", "api"]).enabled)
    assert {"nta-nginx", "nta-django", "nta-flask", "nta-mongodb", "unit-tests"} <= enabled
    assert "nta-dask-worker" not in enabled


def test_unknown_subset_name_fails(run_tilt: RunTilt) -> None:
    with pytest.raises(TiltfileError) as failure:
        run_tilt(args=["webb"])
    assert '"webb"' in failure.value.stderr or "'webb'" in failure.value.stderr
    assert "labels: " in failure.value.stderr and "resources: " in failure.value.stderr

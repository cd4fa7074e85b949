"""Rendered objects validate strictly (unknown fields are errors) against Kubernetes schemas, offline."""

from __future__ import annotations

import base64
import copy
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import all_versions, major_minor

from .conftest import Renderer
from .contract import K8S_VERSIONS, OVERLAYS

REDACTED = base64.b64encode(b"redacted").decode()


def _redacted(obj: dict[str, Any]) -> dict[str, Any]:
    # Validation messages quote offending values: never let them quote a credential.
    if obj.get("kind") != "Secret":
        return obj
    obj = copy.deepcopy(obj)
    obj["data"] = dict.fromkeys(obj.get("data") or {}, REDACTED)
    return obj


def validation_problems(objs: list[dict[str, Any]], version: str) -> list[str]:
    problems = []
    for obj in objs:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            used = kubernetes_validate.validate(_redacted(obj), version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            problems.append(f"{name}: {path}: {exc.message}")
        except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
            problems.append(f"{name}: {exc.message}")
        else:
            # validate() silently falls back to the newest older schema; we want the exact minor.
            if used != version:
                problems.append(f"{name}: validated against {used}, not {version}")
    return problems


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_versions_are_shipped(version: str) -> None:
    shipped = sorted({major_minor(v) for v in all_versions()})
    assert version in shipped, f"kubernetes-validate {kubernetes_validate.__version__} ships {shipped}"


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_validates_strictly(rendered: Renderer, overlay: str, version: str) -> None:
    problems = validation_problems(rendered(overlay), version)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_strict_validation_rejects_unknown_field(rendered: Renderer, version: str) -> None:
    deployment = copy.deepcopy(next(o for o in rendered("dev") if o["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}  # typo
    problems = validation_problems([deployment], version)
    assert problems and "readinesProbe" in problems[0]

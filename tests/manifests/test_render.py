"""Each kustomization renders with kubectl's built-in kustomize."""

from __future__ import annotations

import pytest

from .conftest import Renderer
from .contract import OVERLAYS


@pytest.mark.parametrize("overlay", ("base", *OVERLAYS))
def test_renders(rendered: Renderer, overlay: str) -> None:
    objs = rendered(overlay)
    kinds = {o["kind"] for o in objs}
    assert {"ConfigMap", "Deployment", "StatefulSet", "Service", "HorizontalPodAutoscaler"} <= kinds
    names = [(o["kind"], o["metadata"]["name"]) for o in objs]
    assert len(names) == len(set(names)), f"duplicate objects in {overlay}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_sets_namespace_and_secret(rendered: Renderer, overlay: str) -> None:
    objs = rendered(overlay)
    namespaced = [o for o in objs if o["kind"] != "Namespace"]
    assert {o["metadata"].get("namespace") for o in namespaced} == {"nta"}
    assert [o["metadata"]["name"] for o in objs if o["kind"] == "Namespace"] == ["nta"]
    assert [o["metadata"]["name"] for o in objs if o["kind"] == "Secret"] == ["nta-secrets"]

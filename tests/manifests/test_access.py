"""Access settings as rendered: the aws overlay has TLS on its Ingress, authentication on, the Dask dashboard not
routed, the Ingress's scheme trusted and https origins for CSRF; local overlays keep today's open behaviour."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Renderer
from .contract import CONFIG_MAP

LOCAL = {"NTA_AUTH": "off", "NTA_DASK_DASHBOARD": "on", "NTA_TRUST_FORWARDED_PROTO": "off",
         "DJANGO_SECURE_COOKIES": "0", "DJANGO_CSRF_TRUSTED_ORIGINS": ""}  # fmt: skip


def _one(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (obj,) = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


def _config(objs: list[dict[str, Any]]) -> dict[str, str]:
    return _one(objs, "ConfigMap", CONFIG_MAP)["data"]


@pytest.mark.parametrize("overlay", ["base", "dev"])
def test_local_overlays_stay_open_and_say_so(rendered: Renderer, overlay: str) -> None:
    config = _config(rendered(overlay))
    assert {k: config[k] for k in LOCAL} == LOCAL


def test_aws_turns_authentication_on(rendered: Renderer) -> None:
    config = _config(rendered("aws"))
    assert config["NTA_AUTH"] == "header"
    assert config["NTA_AUTH_HEADER"] == "X-Auth-Request-User"


def test_aws_does_not_route_the_dask_dashboard(rendered: Renderer) -> None:
    objs = rendered("aws")
    assert _config(objs)["NTA_DASK_DASHBOARD"] == "off"  # nginx answers 404 on /nta/dask/
    # ... and nothing else reaches the scheduler from outside: no Ingress backend, no exposed Service
    for ingress in (o for o in objs if o["kind"] == "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == "nta-nginx", path
                assert "dask" not in path["path"], path
    scheduler = _one(objs, "Service", "nta-dask-scheduler")
    assert scheduler["spec"].get("type", "ClusterIP") == "ClusterIP"


def test_aws_ingress_has_tls_for_its_host(rendered: Renderer) -> None:
    objs = rendered("aws")
    (ingress,) = [o for o in objs if o["kind"] == "Ingress"]
    host = _config(objs)["DJANGO_ALLOWED_HOSTS"]
    (tls,) = ingress["spec"]["tls"]
    assert tls["hosts"] == [host] and tls["secretName"] == "nta-tls"
    annotations = ingress["metadata"]["annotations"]
    # alb: HTTPS listener (certificate from ACM for the tls host), HTTP only redirects
    assert {"HTTPS": 443} in json.loads(annotations["alb.ingress.kubernetes.io/listen-ports"])
    assert annotations["alb.ingress.kubernetes.io/ssl-redirect"] == "443"
    assert annotations["nginx.ingress.kubernetes.io/ssl-redirect"] == "true"


def test_aws_csrf_and_forwarded_scheme_fit_https(rendered: Renderer) -> None:
    config = _config(rendered("aws"))
    assert config["NTA_TRUST_FORWARDED_PROTO"] == "on"
    assert config["DJANGO_CSRF_TRUSTED_ORIGINS"] == f"https://{config['DJANGO_ALLOWED_HOSTS']}"
    assert config["DJANGO_SECURE_COOKIES"] == "1"


def test_aws_sign_in_proxy_sets_the_header_the_apps_read(rendered: Renderer) -> None:
    objs = rendered("aws")
    (ingress,) = [o for o in objs if o["kind"] == "Ingress"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/auth-url"].endswith("/oauth2/auth")
    passed = annotations["nginx.ingress.kubernetes.io/auth-response-headers"].split(",")
    assert _config(objs)["NTA_AUTH_HEADER"] in passed


def test_host_knob_reaches_tls_and_csrf(kubectl: str, k8s_copy, tmp_path) -> None:
    """Changing the one host knob moves the TLS host and the trusted origin with it."""
    import shutil

    from .conftest import kustomize

    overlay = tmp_path / "k8s"
    shutil.copytree(k8s_copy, overlay)
    patch = overlay / "overlays" / "aws" / "config-patch.yaml"
    patch.write_text(patch.read_text().replace("DJANGO_ALLOWED_HOSTS: nta.example.org",
                                               "DJANGO_ALLOWED_HOSTS: nta.lab.example.net"))  # fmt: skip
    objs = kustomize(kubectl, overlay / "overlays" / "aws")
    (ingress,) = [o for o in objs if o["kind"] == "Ingress"]
    assert ingress["spec"]["tls"][0]["hosts"] == ["nta.lab.example.net"]
    assert _config(objs)["DJANGO_CSRF_TRUSTED_ORIGINS"] == "https://nta.lab.example.net"

"""nta_web.settings, imported in a fresh interpreter with a controlled environment (settings load once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

BASE = {"DJANGO_SECRET_KEY": "s" * 50, "NTA_MONGO_URL": "mongodb://127.0.0.1:27017"}
SHOW = ("import json, nta_web.settings as s; print(json.dumps({'DEBUG': s.DEBUG, 'ALLOWED_HOSTS': s.ALLOWED_HOSTS, "
        "'STATIC_URL': s.STATIC_URL, 'MAX': s.FILE_UPLOAD_MAX_MEMORY_SIZE, 'CSRF': s.CSRF_TRUSTED_ORIGINS, "
        "'LOADERS': s.TEMPLATES[0]['OPTIONS']['loaders'], 'MW': s.MIDDLEWARE, 'DB': s.DATABASES}))")  # fmt: skip


def _run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NTA_"))}
    return subprocess.run([sys.executable, "-c", SHOW], env={**clean, **env}, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def _settings(env: dict[str, str]) -> dict:
    done = _run(env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_defaults_debug_off_csrf_on_no_database() -> None:
    s = _settings(BASE)
    assert s["DEBUG"] is False
    assert s["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1"]
    assert s["STATIC_URL"] == "/nta/static/"
    assert s["MAX"] == 100 * 1024 * 1024
    assert "django.middleware.csrf.CsrfViewMiddleware" in s["MW"]
    assert s["DB"] == {}
    # production: templates are cached
    assert s["LOADERS"][0][0] == "django.template.loaders.cached.Loader"


def test_environment_is_read() -> None:
    s = _settings({**BASE, "DJANGO_ALLOWED_HOSTS": "nta.example.org, web ", "NTA_URL_PREFIX": "/tools/nta/",
                   "NTA_MAX_UPLOAD_MB": "2", "DJANGO_CSRF_TRUSTED_ORIGINS": "https://nta.example.org",
                   "NTA_TEMPLATE_RELOAD": "1"})  # fmt: skip
    assert s["ALLOWED_HOSTS"] == ["nta.example.org", "web"]
    assert s["STATIC_URL"] == "/tools/nta/static/"
    assert s["MAX"] == 2 * 1024 * 1024
    assert s["CSRF"] == ["https://nta.example.org"]
    assert "django.template.loaders.cached.Loader" not in json.dumps(s["LOADERS"])


def test_debug_needs_no_secret_key_and_reloads_templates() -> None:
    s = _settings({"DJANGO_DEBUG": "1", "NTA_MONGO_URL": BASE["NTA_MONGO_URL"]})
    assert s["DEBUG"] is True
    assert "django.template.loaders.cached.Loader" not in json.dumps(s["LOADERS"])


@pytest.mark.parametrize(("env", "variable"), [
    ({"NTA_MONGO_URL": "mongodb://127.0.0.1:27017"}, "DJANGO_SECRET_KEY"),
    ({"DJANGO_SECRET_KEY": "s" * 50}, "NTA_MONGO_URL"),
    ({**BASE, "DJANGO_DEBUG": "maybe"}, "DJANGO_DEBUG"),
    ({**BASE, "NTA_MAX_UPLOAD_MB": "lots"}, "NTA_MAX_UPLOAD_MB"),
    ({**BASE, "NTA_URL_PREFIX": "nta"}, "NTA_URL_PREFIX"),
    ({**BASE, "NTA_MONGO_URL": "http://user:hunter2@db"}, "NTA_MONGO_URL"),
])  # fmt: skip
def test_bad_environment_fails_clearly(env: dict[str, str], variable: str) -> None:
    done = _run(env)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and variable in done.stderr, done.stderr[-1500:]
    assert "hunter2" not in done.stderr  # a secret is never echoed


ACCESS = ("import json, nta_web.settings as s; print(json.dumps({'AUTH': s.NTA_AUTH, 'HEADER': s.NTA_AUTH_HEADER, "
          "'XFH': s.USE_X_FORWARDED_HOST, 'SSL': s.SECURE_PROXY_SSL_HEADER, 'SECURE': [s.SESSION_COOKIE_SECURE, "
          "s.CSRF_COOKIE_SECURE], 'MW': s.MIDDLEWARE, 'ALB': [s.NTA_AUTH_ALB_ARN, s.NTA_AUTH_ALB_REGION, "
          "s.NTA_AUTH_ALB_KEYS_URL, s.NTA_AUTH_ALB_CLAIM]}))")  # fmt: skip
ALB_ARN = "arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/app/nta/50dc6c495c0c9188"


def _access(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "NTA_"))}
    done = subprocess.run([sys.executable, "-c", ACCESS], env={**clean, **env}, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_access_defaults_auth_off_no_forwarded_host_plain_cookies() -> None:
    s = _access(BASE)
    assert (s["AUTH"], s["HEADER"]) == ("off", "X-Auth-Request-User")
    assert s["XFH"] is False  # a client-sent X-Forwarded-Host never names the host
    assert s["SSL"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert s["SECURE"] == [False, False]
    # the identity check runs before CSRF, so an anonymous POST is a 401 rather than a CSRF 403
    assert s["MW"].index("nta_web.auth.IdentityHeaderMiddleware") < s["MW"].index(
        "django.middleware.csrf.CsrfViewMiddleware")


def test_access_environment_is_read() -> None:
    s = _access({**BASE, "NTA_AUTH": "Header", "NTA_AUTH_HEADER": "X-Forwarded-User", "DJANGO_SECURE_COOKIES": "1"})
    assert (s["AUTH"], s["HEADER"], s["SECURE"]) == ("header", "X-Forwarded-User", [True, True])


def test_alb_environment_is_read() -> None:
    s = _access({**BASE, "NTA_AUTH": "alb", "NTA_AUTH_ALB_ARN": ALB_ARN, "NTA_AUTH_ALB_CLAIM": "email"})
    assert s["AUTH"] == "alb"
    assert s["ALB"] == [ALB_ARN, "us-east-2", "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}", "email"]


@pytest.mark.parametrize(("env", "variable"), [
    ({"NTA_AUTH": "django"}, "NTA_AUTH"),  # the login-page mode is not implemented (README "Access and TLS")
    ({"NTA_AUTH": "yes"}, "NTA_AUTH"),
    ({"NTA_AUTH_HEADER": "X_Auth_User"}, "NTA_AUTH_HEADER"),
    ({"NTA_AUTH_HEADER": "X-User: admin"}, "NTA_AUTH_HEADER"),
    ({"NTA_AUTH": "alb"}, "NTA_AUTH_ALB_ARN"),  # required: the token's signer is checked against it
    ({"NTA_AUTH": "alb", "NTA_AUTH_ALB_ARN": "nta-alb"}, "NTA_AUTH_ALB_ARN"),
    ({"NTA_AUTH": "alb", "NTA_AUTH_ALB_ARN": ALB_ARN, "NTA_AUTH_ALB_REGION": "eu-west-1"}, "NTA_AUTH_ALB_REGION"),
    ({"DJANGO_CSRF_TRUSTED_ORIGINS": "nta.example.org"}, "DJANGO_CSRF_TRUSTED_ORIGINS"),
    ({"DJANGO_SECURE_COOKIES": "sure"}, "DJANGO_SECURE_COOKIES"),
])  # fmt: skip
def test_bad_access_environment_fails_clearly(env: dict[str, str], variable: str) -> None:
    done = _run({**BASE, **env})
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and variable in done.stderr, done.stderr[-1500:]

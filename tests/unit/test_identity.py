"""nta_pipeline.identity: the authentication rules Django and Flask share (modes, header names, user names)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from nta_pipeline.errors import NtaError
from nta_pipeline.identity import AuthConfig, AuthConfigError, Unauthenticated, user_from

HEAVY = ("pandas", "numpy", "matplotlib", "requests", "xlsxwriter", "jwt", "cryptography")


def test_import_pulls_in_nothing_heavy() -> None:
    # A fresh interpreter: the Flask image has nta_pipeline without its dependencies, and both services import it.
    probe = f"import json, sys, nta_pipeline.identity\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_defaults_and_normalisation() -> None:
    assert (AuthConfig().mode, AuthConfig().header) == ("off", "X-Auth-Request-User")
    config = AuthConfig.from_env({"NTA_AUTH": " Header ", "NTA_AUTH_HEADER": " X-Forwarded-User "})
    assert (config.mode, config.header) == ("header", "X-Forwarded-User")
    assert AuthConfig.from_env({"NTA_AUTH": "", "NTA_AUTH_HEADER": ""}) == AuthConfig()


@pytest.mark.parametrize(("env", "message"), [
    ({"NTA_AUTH": "django"}, "NTA_AUTH must be off or header, got 'django'"),
    ({"NTA_AUTH": "yes"}, "NTA_AUTH must be off or header, got 'yes'"),
    ({"NTA_AUTH_HEADER": "X_Auth_User"}, "NTA_AUTH_HEADER must be a header name like X-Auth-Request-User"),
    ({"NTA_AUTH_HEADER": "X-User: admin"}, "NTA_AUTH_HEADER must be a header name"),
    ({"NTA_AUTH_HEADER": "-X"}, "NTA_AUTH_HEADER must be a header name"),
])  # fmt: skip
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(AuthConfigError, match=message) as caught:
        AuthConfig.from_env(env)
    assert isinstance(caught.value, NtaError)  # the services turn NtaError into their own configuration error


def _headers(values: dict[str, str]):
    lowered = {k.lower(): v for k, v in values.items()}
    return lambda name: lowered.get(name.lower())


def test_off_names_nobody_whatever_the_request_says() -> None:
    assert user_from(_headers({"X-Auth-Request-User": "alice"}), AuthConfig()) is None


def test_header_mode_takes_the_configured_header_only() -> None:
    config = AuthConfig(mode="header", header="X-Forwarded-User")
    assert user_from(_headers({"x-forwarded-user": "  alice@example.org "}), config) == "alice@example.org"
    with pytest.raises(Unauthenticated, match="no valid X-Forwarded-User header"):
        user_from(_headers({"X-Auth-Request-User": "alice"}), config)


@pytest.mark.parametrize("value", ["", "   ", "ali\tce", "a\x00b", "a\x7fb", "a\nb", "a" * 257])
def test_not_an_identity(value: str) -> None:
    with pytest.raises(Unauthenticated) as caught:
        user_from(_headers({"X-Auth-Request-User": value}), AuthConfig(mode="header"))
    assert value.strip() == "" or value not in str(caught.value)  # the reason never repeats the value


@pytest.mark.parametrize("value", ["a", "a" * 256, "Ünïcødé user", "CN=x, O=y"])
def test_identity(value: str) -> None:
    assert user_from(_headers({"X-Auth-Request-User": value}), AuthConfig(mode="header")) == value

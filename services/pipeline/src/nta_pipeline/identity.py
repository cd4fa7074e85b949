"""Who is asking: the authentication rules of Django (nta_web.auth) and Flask (nta_api.jobs), written once.

NTA_AUTH=off: no users, nothing is scoped. NTA_AUTH=header: an auth proxy in front (oauth2-proxy) names the user
in the NTA_AUTH_HEADER request header, trusted only because nothing reaches the services except through that proxy
(README "Access and TLS"). Either way the user must pass IDENTITY before a job is scoped to it.

Standard library only, like nta_pipeline.limits: the Flask image installs nta_pipeline without its dependencies
(no pandas there), and both web services import this at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import NtaError

MODES = ("off", "header")
DEFAULT_HEADER = "X-Auth-Request-User"  # oauth2-proxy's (--set-xauthrequest)
# Underscores are refused: nginx and gunicorn drop such headers, and X_User would alias X-User in WSGI.
HEADER_NAME = re.compile(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*")
# An identity is printable text of bounded length; anything else is not something a proxy would send.
IDENTITY = re.compile(r"[^\x00-\x1f\x7f]{1,256}")

HeadersGet = Callable[[str], str | None]  # a request's case-insensitive header lookup: name -> value or None


class AuthConfigError(NtaError):
    """The NTA_AUTH* settings do not describe a usable configuration; the message names the variable."""


class Unauthenticated(Exception):
    """The request names no valid user: a 401. `str()` says why, never the credential itself (safe to log)."""


def parse_mode(value: str | None) -> str:
    """NTA_AUTH normalised (case, blanks; empty means off), or AuthConfigError."""
    mode = (value or "").strip().lower() or "off"
    if mode not in MODES:
        raise AuthConfigError(f"NTA_AUTH must be {' or '.join(MODES)}, got {mode!r} (README \"Access and TLS\")")
    return mode


def parse_header(value: str | None) -> str:
    """NTA_AUTH_HEADER (empty means the default), or AuthConfigError."""
    header = (value or "").strip() or DEFAULT_HEADER
    if not HEADER_NAME.fullmatch(header):
        raise AuthConfigError(f"NTA_AUTH_HEADER must be a header name like {DEFAULT_HEADER}, got {header[:60]!r}")
    return header


def check_identity(value: object, source: str) -> str:
    """`value` as a user name, or Unauthenticated naming `source` (where it came from) when it is not one."""
    user = value.strip() if isinstance(value, str) else ""
    if not IDENTITY.fullmatch(user):
        raise Unauthenticated(f"no valid {source}")
    return user


@dataclass(frozen=True)
class AuthConfig:
    """The NTA_AUTH* settings of one process, validated (normalised on construction; AuthConfigError if bad)."""

    mode: str = "off"
    header: str = DEFAULT_HEADER

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", parse_mode(self.mode))
        object.__setattr__(self, "header", parse_header(self.header))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthConfig:
        return cls(mode=env.get("NTA_AUTH", ""), header=env.get("NTA_AUTH_HEADER", ""))


def user_from(headers_get: HeadersGet, config: AuthConfig) -> str | None:
    """The user a request names under `config`: None when authentication is off (nothing scoped), else the
    validated user; Unauthenticated when the request names none."""
    if config.mode == "off":
        return None
    return check_identity(headers_get(config.header), f"{config.header} header")

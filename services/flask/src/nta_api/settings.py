"""Runtime configuration. The only module that reads the environment.

Environment contract:
  NTA_MONGO_URL   required, e.g. mongodb://127.0.0.1:27017
  NTA_DB_NAME     default ``nta``
  NTA_URL_PREFIX  default ``/nta``; the API is served under ``<prefix>/rest``
  NTA_AUTH        ``off`` (default: job endpoints unscoped) or ``header``: /jobs answers only the jobs of the user
                  named by NTA_AUTH_HEADER (set by the auth proxy in front), 401 without one. The search endpoints
                  stay open: the Dask workers call them directly, and they serve only the reference collection.
  NTA_AUTH_HEADER default ``X-Auth-Request-User`` (oauth2-proxy)
The authentication rules are nta_pipeline.identity's (shared with Django); ConfigError carries its messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from nta_pipeline.identity import DEFAULT_HEADER, AuthConfig, AuthConfigError


class ConfigError(RuntimeError):
    """The environment does not describe a usable configuration."""


_DB_NAME = re.compile(r"[A-Za-z0-9_-]{1,63}")
_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)*")


@dataclass(frozen=True)
class Settings:
    # repr=False: the URL may carry credentials and Settings objects end up in logs and tracebacks.
    mongo_url: str = field(repr=False)
    db_name: str = "nta"
    url_prefix: str = "/nta"
    auth: str = "off"
    auth_header: str = DEFAULT_HEADER
    # Not environment-driven: tuning knobs that tests override by constructing Settings directly.
    mongo_timeout_ms: int = 3000
    reference_check_seconds: float = 5.0
    auth_config: AuthConfig = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.mongo_url.startswith(("mongodb://", "mongodb+srv://")):
            raise ConfigError("NTA_MONGO_URL must start with mongodb:// or mongodb+srv://, got "
                              f"{redact_url(self.mongo_url)!r}")  # fmt: skip
        if not _DB_NAME.fullmatch(self.db_name):
            raise ConfigError(f"NTA_DB_NAME must match {_DB_NAME.pattern}, got {self.db_name!r}")
        if not _PREFIX.fullmatch(self.url_prefix):
            raise ConfigError(f"NTA_URL_PREFIX must look like /nta (or be empty), got {self.url_prefix!r}")
        try:
            auth = AuthConfig(mode=self.auth, header=self.auth_header)
        except AuthConfigError as exc:
            raise ConfigError(str(exc)) from None
        # Normalised there (case, blanks, defaults); the fields stay plain strings for tests and logs.
        object.__setattr__(self, "auth", auth.mode)
        object.__setattr__(self, "auth_header", auth.header)
        object.__setattr__(self, "auth_config", auth)

    @property
    def rest_prefix(self) -> str:
        return f"{self.url_prefix}/rest"

    @property
    def mongo_url_redacted(self) -> str:
        return redact_url(self.mongo_url)


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe to log)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if "@" not in parts.netloc:
        return url
    userinfo, _, hosts = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hosts}"))


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; raises ConfigError naming the offending variable."""
    env = os.environ if environ is None else environ
    mongo_url = env.get("NTA_MONGO_URL", "").strip()
    if not mongo_url:
        raise ConfigError("NTA_MONGO_URL is not set; export it, e.g. NTA_MONGO_URL=mongodb://127.0.0.1:27017")
    prefix = env.get("NTA_URL_PREFIX", "/nta").strip().rstrip("/")
    return Settings(mongo_url=mongo_url, db_name=env.get("NTA_DB_NAME", "nta").strip() or "nta",
                    url_prefix=prefix, auth=env.get("NTA_AUTH", ""),
                    auth_header=env.get("NTA_AUTH_HEADER", ""))  # fmt: skip

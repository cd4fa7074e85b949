"""Runtime configuration. The only module that reads the environment.

Environment contract:
  NTA_MONGO_URL   required, e.g. mongodb://127.0.0.1:27017
  NTA_DB_NAME     default ``nta``
  NTA_URL_PREFIX  default ``/nta``; the API is served under ``<prefix>/rest``
  NTA_AUTH        ``off`` (default: job endpoints unscoped), ``header``: /jobs answers only the jobs of the user
                  named by NTA_AUTH_HEADER (set by the auth proxy in front), 401 without one; or ``alb``: the user
                  is the NTA_AUTH_ALB_CLAIM claim of the AWS ALB's x-amzn-oidc-data token, whose ES256 signature,
                  signer (NTA_AUTH_ALB_ARN) and expiry are verified (401 if not; 503 while its key server is out
                  of reach). The search endpoints stay open: the Dask workers call them directly, and they serve
                  only the reference collection.
  NTA_AUTH_HEADER default ``X-Auth-Request-User`` (oauth2-proxy)
  NTA_AUTH_ALB_ARN       alb: the load balancer's ARN (required)
  NTA_AUTH_ALB_REGION    alb: its region, default the one in the ARN
  NTA_AUTH_ALB_KEYS_URL  alb: default ``https://public-keys.auth.elb.{region}.amazonaws.com/{kid}`` (HTTPS egress)
  NTA_AUTH_ALB_CLAIM     alb: default ``sub``
The authentication rules are nta_pipeline.identity's (shared with Django); ConfigError carries its messages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from nta_pipeline.identity import AuthConfig, AuthConfigError
from nta_pipeline.redact import redact_url


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
    # NTA_AUTH*: validated and normalised by nta_pipeline.identity, the rules Django shares.
    auth: AuthConfig = field(default_factory=AuthConfig)
    # Not environment-driven: tuning knobs that tests override by constructing Settings directly.
    mongo_timeout_ms: int = 3000
    reference_check_seconds: float = 5.0

    def __post_init__(self) -> None:
        if not self.mongo_url.startswith(("mongodb://", "mongodb+srv://")):
            raise ConfigError("NTA_MONGO_URL must start with mongodb:// or mongodb+srv://, got "
                              f"{redact_url(self.mongo_url)!r}")  # fmt: skip
        if not _DB_NAME.fullmatch(self.db_name):
            raise ConfigError(f"NTA_DB_NAME must match {_DB_NAME.pattern}, got {self.db_name!r}")
        if not _PREFIX.fullmatch(self.url_prefix):
            raise ConfigError(f"NTA_URL_PREFIX must look like /nta (or be empty), got {self.url_prefix!r}")

    @property
    def rest_prefix(self) -> str:
        return f"{self.url_prefix}/rest"

    @property
    def mongo_url_redacted(self) -> str:
        return redact_url(self.mongo_url)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment; raises ConfigError naming the offending variable."""
    env = os.environ if environ is None else environ
    mongo_url = env.get("NTA_MONGO_URL", "").strip()
    if not mongo_url:
        raise ConfigError("NTA_MONGO_URL is not set; export it, e.g. NTA_MONGO_URL=mongodb://127.0.0.1:27017")
    prefix = env.get("NTA_URL_PREFIX", "/nta").strip().rstrip("/")
    try:  # the NTA_AUTH* variables are read where their rules are (nta_pipeline.identity)
        auth = AuthConfig.from_env(env)
    except AuthConfigError as exc:
        raise ConfigError(str(exc)) from None
    return Settings(mongo_url=mongo_url, db_name=env.get("NTA_DB_NAME", "nta").strip() or "nta",
                    url_prefix=prefix, auth=auth)  # fmt: skip

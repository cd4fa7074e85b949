"""Django settings of nta_web. The only module that reads the environment.

Environment contract (docs/architecture.md#configuration-contract):
  NTA_MONGO_URL               required, e.g. mongodb://127.0.0.1:27017 (secret: may carry credentials)
  DJANGO_SECRET_KEY           required unless DJANGO_DEBUG=1 (secret)
  DJANGO_DEBUG                1 turns debug on; default 0
  DJANGO_ALLOWED_HOSTS        comma list, default localhost,127.0.0.1
  DJANGO_CSRF_TRUSTED_ORIGINS comma list of scheme://host[:port] origins allowed to POST when they differ from the
                              Host the request names (e.g. https://nta.example.org behind a TLS-terminating Ingress)
  DJANGO_SECURE_COOKIES       1: session and CSRF cookies only over HTTPS (the aws overlay); default 0
  NTA_AUTH                    off (default: no users, every job visible; "authentication off: local only"),
                              header (the user is NTA_AUTH_HEADER, set by an auth proxy in front; jobs scoped to it)
                              or alb (the user is a claim of the AWS ALB's signed x-amzn-oidc-data token, verified)
  NTA_AUTH_HEADER             the auth proxy's identity header, default X-Auth-Request-User (oauth2-proxy)
  NTA_AUTH_ALB_ARN            alb: the ARN of the load balancer that must have signed the token (required)
  NTA_AUTH_ALB_REGION         alb: its region, default the one in NTA_AUTH_ALB_ARN
  NTA_AUTH_ALB_KEYS_URL       alb: where its public keys are, default
                              https://public-keys.auth.elb.{region}.amazonaws.com/{kid} (needs HTTPS egress)
  NTA_AUTH_ALB_CLAIM          alb: the claim naming the user, default sub
  NTA_DB_NAME                 default nta
  NTA_URL_PREFIX              default /nta; every page lives under it
  NTA_DASK_SCHEDULER          default tcp://127.0.0.1:8786
  NTA_MAX_UPLOAD_MB           per-file upload limit, default 100 (nginx limits the whole request to the same number)
  NTA_JOB_LEASE_SECONDS       heartbeat age after which a processing job counts as lost, default 60
  NTA_LOG_LEVEL               default INFO
  NTA_TEMPLATE_RELOAD         1: re-read templates on every request (gunicorn --reload only watches .py files)
  NTA_MAX_COLUMNS, NTA_MAX_ROWS, ... the input limits of nta_pipeline.limits (README "Limits"); checked here at
                              boot so a bad value stops the start with its name
"""

from __future__ import annotations

import os
import re

from django.core.exceptions import ImproperlyConfigured

from nta_pipeline.errors import NtaError
from nta_pipeline.identity import AuthConfig
from nta_pipeline.limits import current as _current_limits

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _flag(name: str) -> bool:
    value = _env(name).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be 1 or 0, got {value!r}")


def _number(name: str, default: str, *, minimum: float) -> float:
    raw = _env(name, default)
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value >= minimum:  # also rejects nan
        raise ImproperlyConfigured(f"{name} must be a number >= {minimum:g}, got {raw!r}")
    return value


def _list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in _env(name, default).split(",") if item.strip()]


DEBUG = _flag("DJANGO_DEBUG")

SECRET_KEY = _env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string (e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`), or set DJANGO_DEBUG=1 for local "
            "development only."
        )
    SECRET_KEY = "django-insecure-nta-debug-only"  # noqa: S105  (DEBUG only; never used in production)

NTA_MONGO_URL = _env("NTA_MONGO_URL")
if not NTA_MONGO_URL:
    raise ImproperlyConfigured("NTA_MONGO_URL is not set; export it, e.g. NTA_MONGO_URL=mongodb://127.0.0.1:27017")
if not NTA_MONGO_URL.startswith(("mongodb://", "mongodb+srv://")):
    # The value is not shown: it may hold a password.
    raise ImproperlyConfigured("NTA_MONGO_URL must start with mongodb:// or mongodb+srv://")

NTA_DB_NAME = _env("NTA_DB_NAME", "nta") or "nta"
NTA_URL_PREFIX = _env("NTA_URL_PREFIX", "/nta").rstrip("/")
if NTA_URL_PREFIX and not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", NTA_URL_PREFIX):
    raise ImproperlyConfigured(f"NTA_URL_PREFIX must look like /nta (or be empty), got {NTA_URL_PREFIX!r}")
NTA_DASK_SCHEDULER = _env("NTA_DASK_SCHEDULER", "tcp://127.0.0.1:8786")
NTA_MAX_UPLOAD_MB = _number("NTA_MAX_UPLOAD_MB", "100", minimum=0.001)
NTA_MAX_UPLOAD_BYTES = int(NTA_MAX_UPLOAD_MB * 1024 * 1024)
NTA_JOB_LEASE_SECONDS = _number("NTA_JOB_LEASE_SECONDS", "60", minimum=1)
NTA_LOG_LEVEL = _env("NTA_LOG_LEVEL", "INFO").upper() or "INFO"
if NTA_LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(f"NTA_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {NTA_LOG_LEVEL!r}")
TEMPLATE_RELOAD = DEBUG or _flag("NTA_TEMPLATE_RELOAD")
try:
    NTA_LIMITS = _current_limits()
except NtaError as _exc:
    raise ImproperlyConfigured(str(_exc)) from None

# Not environment-driven: knobs the tests override with override_settings.
NTA_MONGO_TIMEOUT_MS = 2000  # /healthz must answer within the probe's patience
NTA_SUBMIT_TIMEOUT_S = 5.0
NTA_PAGE_ROWS = 50
NTA_JOB_LIST_LIMIT = 100
NTA_CELL_DISPLAY_CHARS = 300  # a results-page cell is cut here (the downloads keep it whole)

# The rules (modes, header names, what a user name may be) live in nta_pipeline.identity, shared with Flask.
try:
    _auth = AuthConfig.from_env(os.environ)
except NtaError as _exc:
    raise ImproperlyConfigured(str(_exc)) from None
NTA_AUTH = _auth.mode
NTA_AUTH_HEADER = _auth.header
NTA_AUTH_ALB_ARN = _auth.alb_arn
NTA_AUTH_ALB_REGION = _auth.alb_region
NTA_AUTH_ALB_KEYS_URL = _auth.alb_keys_url
NTA_AUTH_ALB_CLAIM = _auth.alb_claim
NTA_AUTH_ALB_TIMEOUT_S = _auth.alb_timeout  # one key fetch; not an environment knob

ALLOWED_HOSTS = _list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = _list("DJANGO_CSRF_TRUSTED_ORIGINS")
for _origin in CSRF_TRUSTED_ORIGINS:
    if not re.fullmatch(r"https?://[^/\s]+", _origin):
        raise ImproperlyConfigured(f"DJANGO_CSRF_TRUSTED_ORIGINS entries must be scheme://host[:port], got "
                                   f"{_origin[:80]!r}")  # fmt: skip
# nginx is the only way in and always sets X-Forwarded-Proto: its own scheme, or the Ingress's when
# NTA_TRUST_FORWARDED_PROTO=on (services/nginx/nginx.conf.template). A client never chooses it.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The Host header is the one nginx forwards (and DJANGO_ALLOWED_HOSTS checks); X-Forwarded-Host is never read.
USE_X_FORWARDED_HOST = False
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _flag("DJANGO_SECURE_COOKIES")

ROOT_URLCONF = "nta_web.urls"
WSGI_APPLICATION = "nta_web.wsgi.application"
INSTALLED_APPS = ["django.contrib.messages", "nta_web"]
MIDDLEWARE = [
    "nta_web.middleware.DrainRequestBodyMiddleware",  # outermost: every early answer still reads the upload
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "nta_web.auth.IdentityHeaderMiddleware",  # before CSRF: an anonymous POST is a 401, not a CSRF 403
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "nta_web.middleware.DatabaseUnavailableMiddleware",
]
# Jobs live in MongoDB through nta_pipeline.jobstore; Django itself keeps no database.
DATABASES: dict[str, dict] = {}
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
SESSION_COOKIE_HTTPONLY = True
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
CSRF_FAILURE_VIEW = "nta_web.views.csrf_failure"

_LOADERS = ["django.template.loaders.filesystem.Loader", "django.template.loaders.app_directories.Loader"]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "OPTIONS": {
            # Without the cached loader every request reads the template files, so edits show at once.
            "loaders": _LOADERS if TEMPLATE_RELOAD else [("django.template.loaders.cached.Loader", _LOADERS)],
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
                "nta_web.views.site_context",
            ],
        },
    }
]

# nginx serves these from the source folder services/django/src/nta_web/static; Django never does.
STATIC_URL = f"{NTA_URL_PREFIX}/static/"

# Uploaded files stay in memory up to the limit (they are parsed and stored from bytes anyway).
FILE_UPLOAD_MAX_MEMORY_SIZE = NTA_MAX_UPLOAD_BYTES
# The text fields only (files do not count). Parameters need a few KB; up to this size an overlong value is
# still parsed far enough to name its field (nta_web.forms), beyond it Django refuses the body as a whole.
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"}},
    "root": {"handlers": ["stdout"], "level": NTA_LOG_LEVEL},
    "loggers": {"django": {"handlers": ["stdout"], "level": NTA_LOG_LEVEL, "propagate": False}},
}

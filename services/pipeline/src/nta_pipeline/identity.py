"""Who is asking: the authentication rules of Django (nta_web.auth) and Flask (nta_api.jobs), written once.

NTA_AUTH=off: no users, nothing is scoped. NTA_AUTH=header: an auth proxy in front (oauth2-proxy) names the user
in the NTA_AUTH_HEADER request header, trusted only because nothing reaches the services except through that proxy
(README "Access and TLS"). NTA_AUTH=alb: the AWS Application Load Balancer's OIDC sign-in sends the user's claims
as a JWT it signs (x-amzn-oidc-data, ES256); the signature, the signing load balancer (NTA_AUTH_ALB_ARN) and the
expiry are verified with the ALB's public key, fetched by key id from its regional key server and cached, so a
header a client forges is worth nothing. Either way the user must pass IDENTITY before a job is scoped to it.

Standard library only at import, like nta_pipeline.limits: the Flask image installs nta_pipeline without its
dependencies (no pandas there), and both web services import this at start-up. The alb mode alone needs PyJWT with
cryptography (`pyjwt[crypto]`, declared by the Django and Flask packages), imported when that mode is configured.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import NtaError

MODES = ("off", "header", "alb")
DEFAULT_HEADER = "X-Auth-Request-User"  # oauth2-proxy's (--set-xauthrequest)
# Underscores are refused: nginx and gunicorn drop such headers, and X_User would alias X-User in WSGI.
HEADER_NAME = re.compile(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*")
# An identity is printable text of bounded length; anything else is not something a proxy would send.
IDENTITY = re.compile(r"[^\x00-\x1f\x7f]{1,256}")

# -- NTA_AUTH=alb (AWS docs, Elastic Load Balancing, "Authenticate users using an Application Load Balancer",
# section "User claims encoding and signature verification") --------------------------------------------------
ALB_HEADER = "X-Amzn-Oidc-Data"
ALB_ALGORITHM = "ES256"  # the only one the ALB signs with; anything else (none, HS256 with the PEM as secret) is 401
DEFAULT_ALB_KEYS_URL = "https://public-keys.auth.elb.{region}.amazonaws.com/{kid}"
DEFAULT_ALB_CLAIM = "sub"
# kid goes into the key server's URL: a plain id (the ALB's are UUIDs), never '/', '..', '%', '?' or '#'.
ALB_KID = re.compile(r"[A-Za-z0-9-]{1,128}")
ALB_ARN = re.compile(r"arn:aws[a-z-]*:elasticloadbalancing:([a-z0-9-]{1,32}):\d{12}:loadbalancer/app/"
                     r"[A-Za-z0-9-]{1,32}/[0-9a-f]{1,32}")  # fmt: skip
ALB_REGION = re.compile(r"[a-z0-9-]{1,32}")
ALB_CLAIM = re.compile(r"[A-Za-z0-9_:.-]{1,64}")
# Three base64url segments, each with the '=' padding the ALB leaves on (not RFC 7515's form; checked before the
# JWT library sees the token, so nothing else gets through).
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]+={0,2}")
MAX_TOKEN_CHARS = 16_384  # the ALB refuses user claims over 11 KB; nginx and gunicorn stop at 8 KB a header line
MAX_KEY_BYTES = 4096  # a P-256 public key in PEM is 178 bytes
KEY_CACHE_SIZE = 32  # distinct keys kept per process (the ALB rotates them; a handful are live at a time)
CLOCK_LEEWAY_SECONDS = 10  # clock skew between the load balancer and this pod

HeadersGet = Callable[[str], str | None]  # a request's case-insensitive header lookup: name -> value or None


class AuthConfigError(NtaError):
    """The NTA_AUTH* settings do not describe a usable configuration; the message names the variable."""


class Unauthenticated(Exception):
    """The request names no valid user: a 401. `str()` says why, never the credential itself (safe to log)."""


class KeysUnavailable(Exception):
    """NTA_AUTH=alb: the key server did not give the public key a token names, so nobody can be verified: a 503.
    `str()` names the URL and what to check."""


def parse_mode(value: str | None) -> str:
    """NTA_AUTH normalised (case, blanks; empty means off), or AuthConfigError."""
    mode = (value or "").strip().lower() or "off"
    if mode not in MODES:
        raise AuthConfigError(f"NTA_AUTH must be {', '.join(MODES[:-1])} or {MODES[-1]}, got {mode!r} "
                              "(README \"Access and TLS\")")  # fmt: skip
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


def _loopback(host: str | None) -> bool:
    return host in ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class AuthConfig:
    """The NTA_AUTH* settings of one process, validated (normalised on construction; AuthConfigError if bad).
    The alb_* fields matter only with mode alb; alb_region defaults to the region in alb_arn."""

    mode: str = "off"
    header: str = DEFAULT_HEADER
    alb_arn: str = ""
    alb_region: str = ""
    alb_keys_url: str = DEFAULT_ALB_KEYS_URL
    alb_claim: str = DEFAULT_ALB_CLAIM
    alb_timeout: float = 3.0  # seconds for one key fetch; not an environment knob (tests shorten it)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", parse_mode(self.mode))
        object.__setattr__(self, "header", parse_header(self.header))
        defaults = {"alb_arn": "", "alb_region": "", "alb_keys_url": DEFAULT_ALB_KEYS_URL,
                    "alb_claim": DEFAULT_ALB_CLAIM}  # fmt: skip
        for name, default in defaults.items():  # empty means the default, as for the other variables
            object.__setattr__(self, name, str(getattr(self, name)).strip() or default)
        if self.mode == "alb":
            self._check_alb()

    def _check_alb(self) -> None:
        arn = self.alb_arn
        if not arn:
            raise AuthConfigError("NTA_AUTH=alb needs NTA_AUTH_ALB_ARN, the ARN of the load balancer that signs "
                                  f"{ALB_HEADER} (`aws elbv2 describe-load-balancers`; k8s/overlays/aws/README.md)")
        match = ALB_ARN.fullmatch(arn)
        if not match:
            raise AuthConfigError("NTA_AUTH_ALB_ARN must be an Application Load Balancer's ARN, arn:aws:"
                                  "elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>, got "
                                  f"{arn[:120]!r}")  # fmt: skip
        region = self.alb_region or match.group(1)
        if not ALB_REGION.fullmatch(region):
            raise AuthConfigError(f"NTA_AUTH_ALB_REGION must be an AWS region like us-east-1, got {region[:40]!r}")
        if region != match.group(1):
            raise AuthConfigError(f"NTA_AUTH_ALB_REGION is {region}, but NTA_AUTH_ALB_ARN's load balancer is in "
                                  f"{match.group(1)}, whose key server has its keys: set it to {match.group(1)} "
                                  "or leave it empty")  # fmt: skip
        url = self.alb_keys_url
        try:
            probe = url.format(region=region, kid="k")
        except (KeyError, IndexError, ValueError):
            probe = ""
        parts = urlsplit(probe)
        if "{kid}" not in url or not parts.hostname or not (
                parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname))):
            raise AuthConfigError("NTA_AUTH_ALB_KEYS_URL must be an https:// URL with {kid} (and optionally "
                                  f"{{region}}) in it, default {DEFAULT_ALB_KEYS_URL} (plain http only to "
                                  f"127.0.0.1, for tests), got {url[:120]!r}")  # fmt: skip
        if not ALB_CLAIM.fullmatch(self.alb_claim):
            raise AuthConfigError(f"NTA_AUTH_ALB_CLAIM must name a claim like sub or email, got "
                                  f"{self.alb_claim[:60]!r}")  # fmt: skip
        if not self.alb_timeout > 0:
            raise AuthConfigError(f"the key-fetch timeout must be positive, got {self.alb_timeout!r}")
        try:
            from jwt.algorithms import has_crypto
        except ImportError:
            has_crypto = False
        if not has_crypto:
            raise AuthConfigError("NTA_AUTH=alb needs PyJWT with cryptography: pip install 'pyjwt[crypto]' "
                                  "(a dependency of nta-web and nta-api)")  # fmt: skip
        object.__setattr__(self, "alb_region", region)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthConfig:
        """The settings of NTA_AUTH, NTA_AUTH_HEADER and NTA_AUTH_ALB_{ARN,REGION,KEYS_URL,CLAIM}."""
        return cls(mode=env.get("NTA_AUTH", ""), header=env.get("NTA_AUTH_HEADER", ""),
                   alb_arn=env.get("NTA_AUTH_ALB_ARN", ""), alb_region=env.get("NTA_AUTH_ALB_REGION", ""),
                   alb_keys_url=env.get("NTA_AUTH_ALB_KEYS_URL", ""),
                   alb_claim=env.get("NTA_AUTH_ALB_CLAIM", ""))  # fmt: skip

    def describe(self) -> str:
        """One line for the start-up log: where the user comes from."""
        if self.mode == "header":
            return f"NTA_AUTH=header, the user is the {self.header} header set by the auth proxy in front"
        if self.mode == "alb":
            return (f"NTA_AUTH=alb, the user is the {self.alb_claim!r} claim of the {ALB_HEADER} token signed by "
                    f"{self.alb_arn}, verified with its keys from {key_url(self, '<kid>')}")  # fmt: skip
        return "NTA_AUTH=off, no users"


def user_from(headers_get: HeadersGet, config: AuthConfig) -> str | None:
    """The user a request names under `config`: None when authentication is off (nothing scoped), else the
    validated user. Unauthenticated when the request names none (401); KeysUnavailable when the ALB's key
    server cannot be asked (503)."""
    if config.mode == "off":
        return None
    if config.mode == "header":
        return check_identity(headers_get(config.header), f"{config.header} header")
    claims = verify_alb_token(headers_get(ALB_HEADER), config)
    return check_identity(claims.get(config.alb_claim), f"{config.alb_claim!r} claim in the {ALB_HEADER} token")


def verify_alb_token(token: str | None, config: AuthConfig) -> dict[str, Any]:
    """The claims of an x-amzn-oidc-data token once its ES256 signature (with the key its kid names), its signer
    (config.alb_arn) and its expiry hold; Unauthenticated otherwise. The reasons never quote the token."""
    import jwt  # PyJWT; only here, so that importing this module stays light

    if not token:
        raise Unauthenticated(f"no {ALB_HEADER} header (is the request coming through the load balancer?)")
    if len(token) > MAX_TOKEN_CHARS:
        raise Unauthenticated(f"{ALB_HEADER} is longer than {MAX_TOKEN_CHARS} characters")
    if not _TOKEN_SHAPE.fullmatch(token):
        raise Unauthenticated(f"{ALB_HEADER} is not a JWT (three base64url segments)")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise Unauthenticated(f"{ALB_HEADER} has no readable JWT header") from None
    # Checked before anything is fetched: a token of another algorithm or load balancer costs no request.
    if header.get("alg") != ALB_ALGORITHM:
        raise Unauthenticated(f"{ALB_HEADER} is not signed with {ALB_ALGORITHM}")
    signer = header.get("signer")
    if signer != config.alb_arn:
        named = f" ({signer})" if isinstance(signer, str) and ALB_ARN.fullmatch(signer) else ""
        raise Unauthenticated(f"{ALB_HEADER} was not signed by NTA_AUTH_ALB_ARN's load balancer{named}")
    kid = header.get("kid")
    if not isinstance(kid, str) or not ALB_KID.fullmatch(kid):
        raise Unauthenticated(f"{ALB_HEADER} names no valid key id (kid)")
    key = public_key(config, kid)
    try:
        decoded = jwt.decode_complete(token, key, algorithms=[ALB_ALGORITHM], leeway=CLOCK_LEEWAY_SECONDS,
                                      # The audience of the ALB's claims is the ALB's client (header "client"),
                                      # not something this service could name; the signer check above binds it.
                                      options={"verify_aud": False})  # fmt: skip
    except jwt.ExpiredSignatureError:
        raise Unauthenticated(f"{ALB_HEADER} has expired") from None
    except jwt.InvalidSignatureError:
        raise Unauthenticated(f"{ALB_HEADER} has a bad signature") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthenticated(f"{ALB_HEADER} is not a valid token ({type(exc).__name__})") from None
    claims, verified = decoded["payload"], decoded["header"]
    if not isinstance(claims, dict):
        raise Unauthenticated(f"{ALB_HEADER} carries no claims object")
    # The ALB writes exp into the (signed) JWT header, and the IdP's claims may carry one too: every one present
    # must hold, and one must be there (PyJWT has checked the payload's).
    expiries = [verified.get("exp"), claims.get("exp")]
    if all(e is None for e in expiries):
        raise Unauthenticated(f"{ALB_HEADER} has no expiry (exp)")
    for exp in expiries:
        if exp is None:
            continue
        if isinstance(exp, bool) or not isinstance(exp, int | float):
            raise Unauthenticated(f"{ALB_HEADER} has a malformed expiry (exp)")
        if time.time() > exp + CLOCK_LEEWAY_SECONDS:
            raise Unauthenticated(f"{ALB_HEADER} has expired")
    return claims


# -- the ALB's public keys, per key URL (so per region and kid), kept for the life of the process ----------------
_KEYS: OrderedDict[str, Any] = OrderedDict()
_KEYS_LOCK = threading.Lock()


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:  # a key comes from the configured URL only
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def key_url(config: AuthConfig, kid: str) -> str:
    return config.alb_keys_url.format(region=config.alb_region, kid=kid)


def public_key(config: AuthConfig, kid: str) -> Any:
    """The P-256 public key (cryptography object) the ALB signs with under `kid`: cached, or fetched from the key
    server. KeysUnavailable when it does not answer usefully; Unauthenticated when it knows no such key."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    url = key_url(config, kid)
    with _KEYS_LOCK:
        if url in _KEYS:
            _KEYS.move_to_end(url)
            return _KEYS[url]
    hint = "Django and Flask need HTTPS egress to it (k8s/overlays/aws/README.md)"
    try:
        with _OPENER.open(url, timeout=config.alb_timeout) as response:  # the scheme is checked in AuthConfig
            pem = response.read(MAX_KEY_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500:  # not a key the load balancer has: a forged or garbled kid
            raise Unauthenticated(f"{ALB_HEADER} names key {kid!r}, which the key server does not have (HTTP "
                                  f"{exc.code})") from None  # fmt: skip
        raise KeysUnavailable(f"the ALB key server answered HTTP {exc.code} for {url}; {hint}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:  # refused, unresolvable, timed out
        reason = getattr(exc, "reason", exc)
        raise KeysUnavailable(f"the ALB key server did not answer {url} within {config.alb_timeout:g} s "
                              f"({reason}); {hint}") from None  # fmt: skip
    try:
        key = load_pem_public_key(pem) if len(pem) <= MAX_KEY_BYTES else None
    except ValueError:
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeysUnavailable(f"the ALB key server's answer for {url} is not a P-256 public key in PEM")
    with _KEYS_LOCK:
        _KEYS[url] = key
        while len(_KEYS) > KEY_CACHE_SIZE:
            _KEYS.popitem(last=False)
    return key


def forget_keys() -> None:
    """Empty this process's key cache (tests)."""
    with _KEYS_LOCK:
        _KEYS.clear()

"""Who is asking: NTA_AUTH=off (everyone is anonymous and sees every job), header (an auth proxy in front, e.g.
oauth2-proxy, vouches for the user in the NTA_AUTH_HEADER request header) or alb (the AWS Application Load
Balancer's OIDC sign-in names the user in the token it signs, x-amzn-oidc-data, verified here); with either of the
last two, jobs are scoped to that user.

Why a trusted header and not django.contrib.auth with a login page: this stack keeps no SQL database (jobs live in
MongoDB), and Django's auth (login views, RemoteUserBackend too) stores users in one; the Flask API must scope jobs
to the same identity, which a header gives it without sharing Django's sessions; and an identity provider behind
the proxy brings single sign-on, MFA and lockout that a password form here would have to reimplement.
A plain header is trusted only because nothing reaches nginx except through the proxy (README "Access and TLS");
the ALB's token carries its own proof. The rules themselves (modes, header names, what a user name may be, the
token's verification) are nta_pipeline.identity's, shared with Flask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from nta_pipeline.identity import AuthConfig, KeysUnavailable, Unauthenticated, user_from

log = logging.getLogger("nta_web")

OFF_NOTICE = "authentication off: local only"


@lru_cache(maxsize=8)
def _config(mode: str, header: str, alb_arn: str, alb_region: str, alb_keys_url: str, alb_claim: str,
            alb_timeout: float) -> AuthConfig:  # fmt: skip
    # Built from the flat settings (override_settings in tests changes those), validated once per combination.
    return AuthConfig(mode=mode, header=header, alb_arn=alb_arn, alb_region=alb_region, alb_keys_url=alb_keys_url,
                      alb_claim=alb_claim, alb_timeout=alb_timeout)  # fmt: skip


def config() -> AuthConfig:
    """This process's authentication settings (NTA_AUTH, NTA_AUTH_HEADER, NTA_AUTH_ALB_*), as
    nta_pipeline.identity reads them."""
    return _config(settings.NTA_AUTH, settings.NTA_AUTH_HEADER, settings.NTA_AUTH_ALB_ARN,
                   settings.NTA_AUTH_ALB_REGION, settings.NTA_AUTH_ALB_KEYS_URL, settings.NTA_AUTH_ALB_CLAIM,
                   settings.NTA_AUTH_ALB_TIMEOUT_S)  # fmt: skip


def announce() -> None:
    """One line at start-up saying how requests are authenticated (loudly when they are not)."""
    if settings.NTA_AUTH == "off":
        log.warning("%s (NTA_AUTH=off): every visitor sees and downloads every job; put the stack behind an "
                    "auth proxy (NTA_AUTH=header) or the ALB's sign-in (NTA_AUTH=alb) before it is reachable from "
                    "any network", OFF_NOTICE.upper())  # fmt: skip
    else:
        log.info("authentication: %s; jobs are scoped to their owner", config().describe())


def owner_of(request: HttpRequest) -> str | None:
    """The user whose jobs this request may see, or None when authentication is off (no scoping)."""
    return getattr(request, "nta_user", None)


class IdentityHeaderMiddleware:
    """Sets request.nta_user from the proxy's header (NTA_AUTH=header); a request without one gets a 401 and
    never reaches a view. Read per request, so override_settings (tests) can switch it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.nta_user = None  # type: ignore[attr-defined]
        # Probes (kubelet, nginx) come from inside the cluster, without a user.
        if settings.NTA_AUTH != "off" and request.path != f"{settings.NTA_URL_PREFIX}/healthz":
            try:
                request.nta_user = user_from(request.headers.get, config())  # type: ignore[attr-defined]
            except Unauthenticated as exc:
                return unauthorized(request, str(exc))
            except KeysUnavailable as exc:
                return sign_in_unavailable(request, str(exc))
        return self.get_response(request)


def unauthorized(request: HttpRequest, reason: str) -> HttpResponse:
    log.warning("401 on %s: %s (is the request coming through the auth proxy?)", request.path[:200],
                reason)  # fmt: skip
    message = ("You are not signed in. This site is reached through its sign-in page; open it again from the "
               "address you were given. API clients must send the credentials the sign-in proxy accepts.")  # fmt: skip
    return _error_page(request, 401, "Sign-in required", message)


def sign_in_unavailable(request: HttpRequest, reason: str) -> HttpResponse:
    """NTA_AUTH=alb and the load balancer's key server cannot be reached: nobody can be verified, retry later."""
    log.error("503 on %s: %s", request.path[:200], reason)
    message = ("Your sign-in cannot be checked right now (the sign-in service's keys are out of reach). Try again "
               "in a minute; if it persists, tell the operators (the service log has the details).")  # fmt: skip
    return _error_page(request, 503, "Sign-in unavailable", message)


def _error_page(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    accept = request.headers.get("Accept", "")
    if request.path.endswith(".json") or ("application/json" in accept and "text/html" not in accept):
        return JsonResponse({"error": message, "field": None}, status=status)
    return render(request, "nta_web/error.html", {"title": title, "message": message}, status=status)

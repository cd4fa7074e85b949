"""Who is asking: NTA_AUTH=off (everyone is anonymous and sees every job) or header (an auth proxy in front, e.g.
oauth2-proxy, vouches for the user in the NTA_AUTH_HEADER request header; jobs are scoped to that user).

Why a trusted header and not django.contrib.auth with a login page: this stack keeps no SQL database (jobs live in
MongoDB), and Django's auth (login views, RemoteUserBackend too) stores users in one; the Flask API must scope jobs
to the same identity, which a header gives it without sharing Django's sessions; and an identity provider behind
the proxy brings single sign-on, MFA and lockout that a password form here would have to reimplement.
The header is trusted only because nothing reaches nginx except through the proxy (README "Access and TLS").
The rules themselves (modes, header names, what a user name may be) are nta_pipeline.identity's, shared with Flask.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from nta_pipeline.identity import AuthConfig, Unauthenticated, user_from

log = logging.getLogger("nta_web")

OFF_NOTICE = "authentication off: local only"


@lru_cache(maxsize=8)
def _config(mode: str, header: str) -> AuthConfig:
    # Built from the flat settings (override_settings in tests changes those), validated once per combination.
    return AuthConfig(mode=mode, header=header)


def config() -> AuthConfig:
    """This process's authentication settings (NTA_AUTH, NTA_AUTH_HEADER), as nta_pipeline.identity reads them."""
    return _config(settings.NTA_AUTH, settings.NTA_AUTH_HEADER)


def announce() -> None:
    """One line at start-up saying how requests are authenticated (loudly when they are not)."""
    if settings.NTA_AUTH == "off":
        log.warning("%s (NTA_AUTH=off): every visitor sees and downloads every job; put the stack behind an "
                    "auth proxy and set NTA_AUTH=header before it is reachable from any network",
                    OFF_NOTICE.upper())  # fmt: skip
    else:
        log.info("authentication: NTA_AUTH=header, the user is the %s header set by the auth proxy in front; "
                 "jobs are scoped to their owner", settings.NTA_AUTH_HEADER)  # fmt: skip


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
        return self.get_response(request)


def unauthorized(request: HttpRequest, reason: str) -> HttpResponse:
    log.warning("401 on %s: %s (is the request coming through the auth proxy?)", request.path[:200],
                reason)  # fmt: skip
    message = ("You are not signed in. This site is reached through its sign-in page; open it again from the "
               "address you were given. API clients must send the credentials the sign-in proxy accepts.")  # fmt: skip
    accept = request.headers.get("Accept", "")
    if request.path.endswith(".json") or ("application/json" in accept and "text/html" not in accept):
        return JsonResponse({"error": message, "field": None}, status=401)
    return render(request, "nta_web/error.html", {"title": "Sign-in required", "message": message}, status=401)

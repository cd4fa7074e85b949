"""Turn an unreachable MongoDB into a 503 page that says so, instead of a bare 500."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from pymongo.errors import ConnectionFailure, PyMongoError

from .views import wants_json

log = logging.getLogger("nta_web")


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, PyMongoError):
            return None
        log.error("MongoDB error on %s: %s", request.path, exception)
        if isinstance(exception, ConnectionFailure):
            message = ("The job database (MongoDB) is not reachable right now. Try again in a moment; if this "
                       "persists, check that MongoDB is running and NTA_MONGO_URL points at it.")  # fmt: skip
        else:  # it answered, but refused the operation: saying "not reachable" would send people the wrong way
            message = ("The job database (MongoDB) refused the operation; the error is in the server log. Try "
                       "again, and report it if it persists.")  # fmt: skip
        if request.path.endswith(".json") or wants_json(request):
            return JsonResponse({"error": message, "field": None}, status=503)
        response = TemplateResponse(request, "nta_web/error.html", {"title": "Service unavailable", "message": message},
                                    status=503)  # fmt: skip
        return response.render()


class DrainRequestBodyMiddleware:
    """Read what is left of a request body before answering, when an answer came first (a CSRF 403, a 401, a
    400/413 from validation that stopped early).

    If Django answers and gunicorn closes the connection while the body is still being sent (by nginx, which
    forwards a buffered body at once, or by a client talking to gunicorn directly), the sender's write fails and the
    client gets a 502 or a reset instead of Django's answer. The body is bounded by nginx's client_max_body_size.
    """

    CHUNK = 1 << 16

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                while request.read(self.CHUNK):
                    pass
            except Exception as exc:  # a client that went away: its answer is lost either way
                log.info("could not drain the body of %s %s: %s", request.method, request.path, exc)
        return response

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

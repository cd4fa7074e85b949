"""Flask application factory. Run with ``gunicorn 'nta_api.app:create_app()'``."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request
from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import PyMongoError
from werkzeug.exceptions import HTTPException

# The one home of the input limits (README "Limits"); stdlib-only, installed in the image without its dependencies.
from nta_pipeline.limits import Limits
from nta_pipeline.limits import current as current_limits

from . import jobs
from .reference import COLLECTION, ReferenceCache, ReferenceUnavailable
from .search import (
    QueryError,
    parse_accuracy,
    parse_formulas,
    parse_masses,
    parse_search_by,
    search_formulas,
    search_masses,
)
from .settings import Settings, load_settings

log = logging.getLogger("nta_api")

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# NTA_REST_MAX_BODY_MB (nta_pipeline.limits, default 16): 20,000 formulas of 100 characters fit comfortably;
# nginx's client_max_body_size on /nta/rest/ is the same number.
MAX_BODY_BYTES = Limits().rest_max_body_bytes


def parse_json_body(raw: bytes, max_depth: int) -> Any:
    """The JSON document of a request body, or QueryError (400) for invalid, non-finite or too deeply nested
    JSON. The C decoder stops at Python's recursion limit with RecursionError, so 100,000 brackets are caught
    before they cost anything; a depth over `max_depth` (the schema needs 2) is refused as well."""
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError:
        raise QueryError(f"request body is nested too deeply (at most {max_depth} levels)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise QueryError(f"request body must be a JSON object; it is not valid JSON ({str(exc)[:80]})") from None
    stack, depth_of = [(body, 1)], 0
    while stack:
        value, depth = stack.pop()
        depth_of = max(depth_of, depth)
        if depth > max_depth:
            raise QueryError(f"request body is nested too deeply (more than {max_depth} levels)")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return body


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


@dataclass(frozen=True)
class ApiState:
    settings: Settings
    client: MongoClient
    db: Database
    reference: ReferenceCache
    limits: Limits


def state() -> ApiState:
    return current_app.extensions["nta_api"]


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), status=status, mimetype="application/json")


def error_response(message: str, status: int) -> Response:
    return json_response({"error": message}, status)


def _rest_blueprint(settings: Settings) -> Blueprint:
    bp = Blueprint("rest", __name__, url_prefix=settings.rest_prefix)

    @bp.get("/healthz")
    def healthz() -> Response:
        # ?probe=live is the liveness probe: only "this process serves requests". MongoDB away must not get the
        # pod restarted (readiness, the plain /healthz, takes it out of the Service instead).
        if request.args.get("probe") == "live":
            return json_response({"status": "ok", "probe": "live"})
        st = state()
        try:
            st.client.admin.command("ping")
            count = st.db[COLLECTION].estimated_document_count()
        except PyMongoError as exc:
            log.warning("healthz: MongoDB unreachable (%s)", exc.__class__.__name__)
            return json_response({"status": "error", "mongo": "unreachable",
                                  "error": "MongoDB is unreachable"}, 503)  # fmt: skip
        return json_response({"status": "ok", "mongo": "ok", "reference_compounds": count})

    @bp.post("/ms1/batch/<job_id>")
    def batch_search(job_id: str) -> Response:
        started = time.perf_counter()
        if not JOB_ID.fullmatch(job_id):
            raise QueryError(f"job_id must match ^[A-Za-z0-9_-]{{1,64}}$, got {job_id[:40]!r}")
        body = parse_json_body(request.get_data(cache=False), state().limits.rest_max_json_depth)
        if not isinstance(body, dict):
            raise QueryError('request body must be a JSON object {"search_by": ..., "query": [...], '
                             '"accuracy": ...}')  # fmt: skip
        mode = parse_search_by(body.get("search_by"))
        if "query" not in body:
            raise QueryError("query is required: a list of masses or formulas")
        query = body["query"]
        # Validate everything before touching the index so bad input is a 400 even when Mongo is down.
        if mode == "mass":
            masses, ppm = parse_masses(query), parse_accuracy(body.get("accuracy"))
            index = state().reference.get()
            matches: Any = search_masses(index, masses, ppm)
        else:
            formulas = parse_formulas(query)
            index = state().reference.get()
            matches = search_formulas(index, formulas)
        results = matches.to_json(index)
        seconds = round(time.perf_counter() - started, 6)
        stats = {"queries": len(query), "matches": len(matches), "seconds": seconds}
        log.info("batch %s: %s search, %d queries, %d matches, %.3fs", job_id, mode, len(query), len(matches),
                 seconds)  # fmt: skip
        return Response(f'{{"results":{results},"stats":{json.dumps(stats)}}}', mimetype="application/json")

    @bp.get("/ms1/list")
    def formula_list() -> Response:
        index = state().reference.get()
        return json_response({"results": {"columns": ["MS-READY MOLECULAR FORMULA"],
                                          "data": [[f] for f in index.formulas]}})  # fmt: skip

    bp.register_blueprint(jobs.create_blueprint(), url_prefix="/jobs")
    return bp


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(QueryError)
    def query_error(exc: QueryError) -> Response:
        return error_response(str(exc), exc.status)

    @app.errorhandler(ReferenceUnavailable)
    def reference_unavailable(exc: ReferenceUnavailable) -> Response:
        log.error("%s", exc)
        return error_response("reference database unavailable; retry later", 503)

    @app.errorhandler(PyMongoError)
    def mongo_error(exc: PyMongoError) -> Response:
        log.error("MongoDB error: %s", exc.__class__.__name__)
        return error_response("database unavailable; retry later", 503)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        messages = {
            404: f"not found: {request.path[:200]}",
            405: f"method {request.method} not allowed on {request.path[:200]}",
            413: f"request body larger than {current_app.config['MAX_CONTENT_LENGTH'] / 1048576:g} MB "
            "(NTA_REST_MAX_BODY_MB)",
        }
        return error_response(messages.get(status, (exc.description or exc.name or "")[:200]), status)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("internal error", 500)


def create_app(settings: Settings | None = None, *, client: MongoClient | None = None) -> Flask:
    """Application serving everything under ``<NTA_URL_PREFIX>/rest``.

    ``settings`` defaults to the environment (ConfigError names a missing variable, so gunicorn fails at
    boot with that message). The MongoClient is created here, i.e. per gunicorn worker (it is not fork-safe).
    """
    settings = settings or load_settings()
    limits = current_limits()
    app = Flask("nta_api", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = limits.rest_max_body_bytes
    if client is None:
        client = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=settings.mongo_timeout_ms,
                             connectTimeoutMS=settings.mongo_timeout_ms, tz_aware=True, appname="nta_api",
                             connect=False)  # fmt: skip
    db = client[settings.db_name]
    reference = ReferenceCache(db, settings.reference_check_seconds)
    app.extensions["nta_api"] = ApiState(settings=settings, client=client, db=db, reference=reference, limits=limits)
    app.register_blueprint(_rest_blueprint(settings))
    _register_error_handlers(app)
    log.info("nta_api serving %s/ with MongoDB %s, database %s", settings.rest_prefix,
             settings.mongo_url_redacted, settings.db_name)  # fmt: skip
    if settings.auth.mode == "off":
        log.warning("AUTHENTICATION OFF: LOCAL ONLY (NTA_AUTH=off): %s/jobs/ lists and serves every job; set "
                    "NTA_AUTH=header behind an auth proxy (or alb behind the ALB's sign-in) before the stack is "
                    "reachable", settings.rest_prefix)  # fmt: skip
    else:
        log.info("authentication: %s; %s/jobs/ scoped to that user", settings.auth.describe(),
                 settings.rest_prefix)  # fmt: skip
    return app

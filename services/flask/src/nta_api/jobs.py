"""Read-only endpoints over the job documents written by the Dask job runner, and their GridFS results."""

from __future__ import annotations

import json
import logging
import math
import mimetypes
import re
from datetime import UTC, date, datetime
from typing import Any

from bson import ObjectId
from bson.decimal128 import Decimal128
from flask import Blueprint, Response, current_app, g, request, send_file, url_for
from gridfs import GridFSBucket
from gridfs.errors import NoFile

from nta_pipeline.identity import KeysUnavailable, Unauthenticated, user_from

log = logging.getLogger("nta_api")

JOBS_COLLECTION = "jobs"
# Whitelist, projected server-side: fields the runner may add later (inputs, logs, blobs) never leave the DB.
JOB_FIELDS = ("project_name", "status", "step", "progress", "created_at", "started_at", "finished_at",
              "updated_at", "attempts", "error", "parameters", "results", "summary")  # fmt: skip
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _error(message: str, status: int) -> Response:
    return Response(json.dumps({"error": message}), status=status, mimetype="application/json")


def _json(payload: Any) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), mimetype="application/json")


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a Z suffix; naive datetimes are UTC (BSON dates are)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_safe(value: Any) -> Any:
    """BSON made JSON-serialisable: ObjectId -> str, dates -> ISO 8601 UTC, NaN -> null, bytes dropped."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items() if not isinstance(v, bytes | bytearray)}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value if not isinstance(v, bytes | bytearray)]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, Decimal128):
        return str(value.to_decimal())
    return str(value)


def _object_id(value: Any) -> ObjectId | None:
    if isinstance(value, ObjectId):
        return value
    if isinstance(value, str) and ObjectId.is_valid(value):
        return ObjectId(value)
    return None


def _result_entries(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    results = doc.get("results")
    if not isinstance(results, dict):
        return {}
    return {str(k): v for k, v in results.items() if isinstance(v, dict)}


def create_blueprint() -> Blueprint:
    bp = Blueprint("jobs", __name__)

    def db() -> Any:
        return current_app.extensions["nta_api"].db

    @bp.before_request
    def identify() -> Response | None:
        """NTA_AUTH=header: the auth proxy's header names the user, whose jobs alone are visible; alb: the
        ALB's verified token does. None is a 401; the ALB's key server out of reach a 503 (the rules:
        nta_pipeline.identity, shared with Django)."""
        settings = current_app.extensions["nta_api"].settings
        g.nta_owner = None
        try:
            g.nta_owner = user_from(request.headers.get, settings.auth)
        except Unauthenticated as exc:
            log.warning("401 on %s: %s (is the request coming through the auth proxy?)", request.path[:200], exc)
            return _error("not signed in: job endpoints need the sign-in proxy's credentials", 401)
        except KeysUnavailable as exc:
            log.error("503 on %s: %s", request.path[:200], exc)
            return _error("sign-in cannot be verified right now (the load balancer's key server is out of reach); "
                          "retry later", 503)  # fmt: skip
        return None

    def scoped(query: dict[str, Any]) -> dict[str, Any]:
        # Another owner's job matches nothing, so it is a 404 like a missing one (its existence is not revealed).
        return query if g.nta_owner is None else {**query, "owner": g.nta_owner}

    def find_job(job_id: str, fields: tuple[str, ...]) -> dict[str, Any] | Response:
        if not _JOB_ID.fullmatch(job_id):
            return _error(f"invalid job id {job_id[:40]!r}: must match ^[A-Za-z0-9_-]{{1,64}}$", 400)
        doc = db()[JOBS_COLLECTION].find_one(scoped({"_id": job_id}), {f: 1 for f in fields})
        if doc is None:
            return _error(f"job {job_id} not found", 404)
        return doc

    @bp.get("/")
    def job_list() -> Response:
        """Newest jobs first: ?limit=N (1-500, default 100)."""
        try:
            limit = min(max(int(request.args.get("limit", "100")), 1), 500)
        except ValueError:
            return _error("limit must be an integer between 1 and 500", 400)
        fields = ("project_name", "status", "step", "progress", "created_at", "finished_at", "error")
        query = scoped({})
        docs = db()[JOBS_COLLECTION].find(query, {f: 1 for f in fields}).sort("created_at", -1).limit(limit)
        listing = [{"job_id": str(d["_id"]), **{k: json_safe(d[k]) for k in fields if k in d}} for d in docs]
        return _json({"count": db()[JOBS_COLLECTION].count_documents(query), "jobs": listing})

    @bp.get("/<job_id>")
    def job_status(job_id: str) -> Response:
        doc = find_job(job_id, JOB_FIELDS)
        if isinstance(doc, Response):
            return doc
        out: dict[str, Any] = {"job_id": job_id}
        out.update({k: json_safe(doc[k]) for k in JOB_FIELDS if k in doc})
        if "results" in out:
            out["results"] = {
                name: {**json_safe(entry), "url": url_for(".result_file", job_id=job_id, name=name)}
                for name, entry in _result_entries(doc).items()
            }
        return _json(out)

    @bp.get("/<job_id>/results")
    def result_list(job_id: str) -> Response:
        doc = find_job(job_id, ("results",))
        if isinstance(doc, Response):
            return doc
        entries = _result_entries(doc)
        ids = [oid for e in entries.values() if (oid := _object_id(e.get("file_id"))) is not None]
        sizes = {
            f["_id"]: f.get("length") for f in db()["fs.files"].find({"_id": {"$in": ids}}, {"length": 1})
        }
        listing = [
            {"name": name, "filename": e.get("filename"), "content_type": e.get("content_type"),
             "size": sizes.get(_object_id(e.get("file_id"))),
             "url": url_for(".result_file", job_id=job_id, name=name)}
            for name, e in sorted(entries.items())
        ]  # fmt: skip
        return _json({"job_id": job_id, "results": listing})

    @bp.get("/<job_id>/results/<name>")
    def result_file(job_id: str, name: str) -> Response:
        doc = find_job(job_id, ("results",))
        if isinstance(doc, Response):
            return doc
        # The name is only a key into the job's own results dict; it is never sent to MongoDB.
        entry = _result_entries(doc).get(name)
        file_id = _object_id(entry.get("file_id")) if entry else None
        if file_id is None:
            return _error(f"job {job_id} has no result {name[:64]!r}", 404)
        try:
            grid_out = GridFSBucket(db()).open_download_stream(file_id)
        except NoFile:
            return _error(f"result {name[:64]!r} of job {job_id} is missing from GridFS", 404)
        filename = entry.get("filename") or grid_out.filename or name
        content_type = (entry.get("content_type") or (grid_out.metadata or {}).get("contentType")
                        or mimetypes.guess_type(filename)[0] or "application/octet-stream")  # fmt: skip
        response = send_file(grid_out, mimetype=content_type, as_attachment=True, download_name=filename,
                             conditional=False, etag=False, max_age=0)  # fmt: skip
        response.content_length = grid_out.length
        return response

    return bp

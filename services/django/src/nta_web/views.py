"""Pages of the web UI: upload, job list, job progress, results, file downloads, health check."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, TooManyFilesSent
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from nta_pipeline.runner import SubmitError, submit

from .auth import OFF_NOTICE, owner_of
from .forms import FILE_FIELDS, UploadForm
from .store import get_store
from .tables import read_page, table_names, title
from .validation import UploadRejected, check_upload

log = logging.getLogger("nta_web")

FINISHED = ("completed", "failed")
DOWNLOADS = (("workbook", "QA/QC workbook (.xlsx)"), ("chemical_workbook", "Chemical results workbook (.xlsx)"),
             ("csv_zip", "All tables as CSV (.zip)"))  # fmt: skip
# Parameter fields the pipeline fills from the uploaded file names (the Analysis Parameters sheet shows them).
FILE_PARAMETERS = {
    "pos": "pos_input",
    "neg": "neg_input",
    "tracers": "tracer_input",
    "run_sequence_pos": "run_sequence_pos_file",
    "run_sequence_neg": "run_sequence_neg_file",
}


class JobNotFound(Http404):
    pass


def site_context(request: HttpRequest) -> dict[str, Any]:
    """Template context of every page."""
    return {"max_upload_mb": f"{settings.NTA_MAX_UPLOAD_MB:g}", "nta_user": owner_of(request),
            "auth_off_notice": OFF_NOTICE if settings.NTA_AUTH == "off" else ""}  # fmt: skip


def wants_json(request: HttpRequest) -> bool:
    """API clients ask for JSON explicitly; browsers list text/html (and */*, which must not count)."""
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


# -- upload -------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return create_job(request)
    return render(request, "nta_web/upload.html", {"form": UploadForm()})


@require_http_methods(["GET", "POST"])
def jobs(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return create_job(request)
    docs = get_store().list_jobs(limit=settings.NTA_JOB_LIST_LIMIT, owner=owner_of(request))
    return render(request, "nta_web/job_list.html", {"jobs": [job_state(d) for d in docs]})


def create_job(request: HttpRequest) -> HttpResponse:
    """Validate everything, then store the inputs and the job, then hand it to Dask. Nothing is stored for
    rejected input."""
    # Refuse a body that cannot fit before Django parses it (nginx enforces the same limit in the stack).
    limit = settings.NTA_MAX_UPLOAD_BYTES
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit * len(FILE_FIELDS) + 1048576:
        return _reject(request, UploadForm(), UploadRejected(
            f"the upload is larger than {len(FILE_FIELDS)} files of {settings.NTA_MAX_UPLOAD_MB:g} MB "
            "(NTA_MAX_UPLOAD_MB)", None, 413))  # fmt: skip
    try:
        form = UploadForm(request.POST, request.FILES)
    except (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent) as exc:
        return _reject(request, UploadForm(), body_rejection(exc))
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        return _reject(request, form, UploadRejected(str(errors[0]), None if field == "__all__" else field), False)
    params = form.cleaned_data["parameters"]
    try:
        checked = check_upload(form.uploads(), params, max_bytes=limit)
    except UploadRejected as exc:
        return _reject(request, form, exc)
    params = params.replace(**{FILE_PARAMETERS[role]: name for role, (name, _) in checked.inputs.items()})
    store = get_store()
    job_id = store.create_job(params.project_name, params.as_dict(), checked.inputs, owner=owner_of(request))
    try:
        submit(job_id, settings.NTA_DASK_SCHEDULER, timeout=settings.NTA_SUBMIT_TIMEOUT_S)
    except SubmitError as err:
        log.error("job %s: %s", job_id, err)
        store.fail(job_id, step="Submitting job", message=str(err))
    log.info("job %s created (%s)", job_id, ", ".join(f"{r}={n}" for r, (n, _) in checked.inputs.items()))
    url = reverse("nta_web:job", args=[job_id])
    if wants_json(request):
        doc = store.get(job_id) or {}
        return JsonResponse({"job_id": job_id, "url": request.build_absolute_uri(url), "status": doc.get("status"),
                             "status_url": request.build_absolute_uri(reverse("nta_web:job_status", args=[job_id])),
                             "warnings": checked.warnings}, status=201)  # fmt: skip
    for warning in checked.warnings:
        messages.warning(request, warning)
    return HttpResponseRedirect(url, status=303)


def body_rejection(exc: Exception) -> UploadRejected:
    """The message for a request body Django refused to parse (settings.DATA_UPLOAD_MAX_*)."""
    if isinstance(exc, RequestDataTooBig):
        kb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024
        return UploadRejected(f"the form's text fields are larger than {kb} KB in total; a parameter value is far "
                              "too long", None, 413)  # fmt: skip
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return UploadRejected(f"the form has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields", None)
    return UploadRejected("the request could not be read as a form", None)


def _reject(request: HttpRequest, form: UploadForm, exc: UploadRejected, attach: bool = True) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"error": exc.message, "field": exc.field}, status=exc.status)
    if attach and form.is_bound:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return render(request, "nta_web/upload.html", {"form": form, "error": exc.message}, status=exc.status)


# -- job pages ----------------------------------------------------------------------------------------------


def _job(request: HttpRequest, job_id: str) -> dict[str, Any]:
    # Another user's job is "no such job" (404), never 403: that would confirm the id exists.
    doc = get_store().get(job_id, owner=owner_of(request))
    if doc is None:
        raise JobNotFound(f"There is no job with id {job_id[:60]!r}. It may have been deleted, or the link is "
                          "mistyped.")  # fmt: skip
    return doc


def _aware(value: object) -> datetime | None:
    """Job times are naive UTC (BSON); templates and JSON get them explicit. The nx-27017 stand-in (0.8.1)
    returns dates written by `$set` as ISO text, so text is parsed too."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def job_state(doc: dict[str, Any]) -> dict[str, Any]:
    """What the pages and status.json show of a job document."""
    created, started, finished = (_aware(doc.get(k)) for k in ("created_at", "started_at", "finished_at"))
    end = finished or datetime.now(UTC)
    progress = float(doc.get("progress") or 0.0)
    job_id = str(doc["_id"])
    error = doc.get("error") or None
    return {
        "id": job_id,
        "project_name": doc.get("project_name", ""),
        "status": doc.get("status", "queued"),
        "step": doc.get("step", ""),
        "progress": progress,
        "percent": round(progress * 100),
        "created_at": created,
        "started_at": started,
        "finished_at": finished,
        "elapsed_seconds": round((end - created).total_seconds(), 1) if created else None,
        "attempts": doc.get("attempts", 0),
        "error": {"step": error.get("step", ""), "message": error.get("message", "")} if error else None,
        "finished": doc.get("status") in FINISHED,
        "url": reverse("nta_web:job", args=[job_id]),
        "status_url": reverse("nta_web:job_status", args=[job_id]),
        "results_url": reverse("nta_web:results", args=[job_id]) if doc.get("status") == "completed" else None,
    }


@require_GET
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    doc = _job(request, job_id)
    inputs = [{"label": label, **doc["inputs"][role]} for role, label in FILE_FIELDS.items()
              if role in (doc.get("inputs") or {})]  # fmt: skip
    warnings = (doc.get("summary") or {}).get("warnings", [])
    return render(request, "nta_web/job.html", {"job": job_state(doc), "inputs": inputs, "warnings": warnings})


@never_cache
@require_GET
def job_status(request: HttpRequest, job_id: str) -> JsonResponse:
    doc = get_store().get(job_id, owner=owner_of(request))
    if doc is None:
        return JsonResponse({"error": f"no job with id {job_id[:60]!r}", "field": None}, status=404)
    state = job_state(doc)
    for key in ("created_at", "started_at", "finished_at"):
        state[key] = state[key].isoformat() if state[key] else None
    return JsonResponse(state)


@require_GET
def results(request: HttpRequest, job_id: str) -> HttpResponse:
    doc = _job(request, job_id)
    if doc.get("status") != "completed":
        return redirect("nta_web:job", job_id=job_id)
    files: dict[str, Any] = doc.get("results") or {}
    sheets = table_names(files)
    sheet = request.GET.get("sheet") or (sheets[0] if sheets else "")
    if sheets and sheet not in sheets:
        raise Http404(f"job {job_id} has no table {sheet[:60]!r}")
    raw_page = request.GET.get("page", "1")
    try:
        page_number = int(raw_page) if len(raw_page) <= 9 else 1  # int() of a 1 MB string is slow
    except ValueError:
        page_number = 1
    page = None
    if sheet:
        opened = get_store().open_result(job_id, f"table_{sheet}", owner=owner_of(request))
        if opened is None:
            raise Http404(f"the file of table {sheet!r} is missing")
        with opened[1] as stream:
            page = read_page(stream, page_number, settings.NTA_PAGE_ROWS, cell_chars=settings.NTA_CELL_DISPLAY_CHARS)
    plots = [{"name": n, "title": title(n.removeprefix("plot_")).capitalize()} for n in sorted(files)
             if n.startswith("plot_")]  # fmt: skip
    downloads = [{"name": n, "label": label, **files[n]} for n, label in DOWNLOADS if n in files]
    return render(request, "nta_web/results.html", {
        "job": job_state(doc), "sheets": [{"key": s, "title": title(s)} for s in sheets], "sheet": sheet,
        "sheet_title": title(sheet), "page": page, "plots": plots, "downloads": downloads,
        "files": sorted(({"name": n, **e} for n, e in files.items()), key=lambda e: e["filename"]),
        "summary": doc.get("summary") or {},
    })  # fmt: skip


@require_GET
def result_file(request: HttpRequest, job_id: str, name: str) -> FileResponse:
    opened = get_store().open_result(job_id, name, owner=owner_of(request))
    if opened is None:
        raise Http404(f"job {job_id[:60]!r} has no result file {name[:60]!r}")
    entry, stream = opened
    content_type = entry.get("content_type") or "application/octet-stream"
    return FileResponse(stream, content_type=content_type, filename=entry.get("filename") or name,
                        as_attachment=not content_type.startswith("image/"))  # fmt: skip


# -- health and errors --------------------------------------------------------------------------------------


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Readiness: MongoDB answers a ping. ?probe=live is the liveness probe and touches nothing: MongoDB away must
    take the pod out of the Service, not restart it (a query string, so the auth middleware's probe exemption,
    which compares the path, covers it)."""
    if request.GET.get("probe") == "live":
        return HttpResponse("ok (live)\n", content_type="text/plain")
    try:
        get_store().ping(timeout_s=2.0)
    except Exception as exc:  # any failure means "not ready"; the probe only needs the reason
        return HttpResponse(f"MongoDB did not answer a ping within 2 s: {type(exc).__name__}: {str(exc)[:300]}\n",
                            status=503, content_type="text/plain")  # fmt: skip
    return HttpResponse("ok\n", content_type="text/plain")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 (e.g. the CSRF check read an oversized body first): the same JSON or page as a refused form."""
    if isinstance(exception, SuspiciousOperation | TooManyFilesSent):
        rejected = body_rejection(exception)
    else:
        rejected = UploadRejected("the request could not be read", None)
    if wants_json(request):
        return JsonResponse({"error": rejected.message, "field": None}, status=rejected.status)
    return render(request, "nta_web/error.html", {"title": "Bad request", "message": rejected.message},
                  status=rejected.status)  # fmt: skip


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = str(exception) if isinstance(exception, JobNotFound) else "There is no page at this address."
    if wants_json(request):
        return JsonResponse({"error": message, "field": None}, status=404)
    return render(request, "nta_web/error.html", {"title": "Page not found", "message": message}, status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    message = "Something went wrong on our side. The error is in the server log; try again or report it."
    return render(request, "nta_web/error.html", {"title": "Server error", "message": message}, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    message = ("The form's security token was missing or out of date (CSRF check). Reload the upload page and "
               "submit it again; API clients must fetch the page first and send its csrftoken cookie and "
               "X-CSRFToken header.")  # fmt: skip
    if wants_json(request):
        return JsonResponse({"error": message, "field": None}, status=403)
    return render(request, "nta_web/error.html", {"title": "Form expired", "message": message}, status=403)

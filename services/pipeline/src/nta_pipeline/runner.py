"""The Dask job runner: `submit` (web side) sends `run_job` to the scheduler; `run_job` runs on a worker.

A worker loads the job's inputs from GridFS, runs the workflow writing each step to the job document, calls the
search API over HTTP when the job asks for a search, stores the result files in GridFS and marks the job completed,
or failed with the step and the message. See jobstore for how a lost worker is detected. With a second usable CPU
the figures are drawn by a render process forked for the job (nta_pipeline.render) while the files are written.

Worker settings come from the environment (the configuration contract): NTA_MONGO_URL (required), NTA_DB_NAME,
NTA_API_URL, NTA_JOB_LEASE_SECONDS, NTA_JOB_TIMEOUT_SECONDS (nta_pipeline.limits: a job running longer is failed,
naming the step it was in).

Faults: MongoDB away for less than a lease only delays the job (jobstore retries the worker's reads and writes);
the search API away for a few seconds is retried by the search client (search.py); a task that errors before its
job was claimed leaves the job queued, and the scheduler's reaper submits it again (reaper.py).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import threading
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from pymongo.errors import ConnectionFailure

from .errors import NtaError, StepError
from .jobstore import Claim, JobLost, JobStore, ResultFile
from .limits import ENV, Limits

# The workflow (pandas, xlsxwriter, matplotlib) is imported inside the worker-side functions: the web services import
# this module for `submit` on every reload and must stay quick to restart.

log = logging.getLogger("nta_pipeline.runner")

CONTENT_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv",
    ".png": "image/png",
    ".json": "application/json",
    ".zip": "application/zip",
}


class SubmitError(NtaError):
    """The job could not be handed to the Dask scheduler."""


@dataclass(frozen=True)
class RunnerSettings:
    mongo_url: str = field(repr=False)  # may carry credentials
    db_name: str = "nta"
    api_url: str = ""
    lease_seconds: float = 60.0
    job_timeout_seconds: float = Limits().job_timeout_seconds
    search_retries: int = 7  # resends of a search request that could not connect or got 502-504 (search.py)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RunnerSettings:
        env = os.environ if environ is None else environ
        mongo_url = env.get("NTA_MONGO_URL", "").strip()
        if not mongo_url:
            raise NtaError("NTA_MONGO_URL is not set on this Dask process; set it (e.g. mongodb://127.0.0.1:27017)")
        try:
            lease = float(env.get("NTA_JOB_LEASE_SECONDS", "60"))
        except ValueError as exc:
            raise NtaError(f"NTA_JOB_LEASE_SECONDS must be a number, got {env['NTA_JOB_LEASE_SECONDS']!r}") from exc
        return cls(mongo_url=mongo_url, db_name=env.get("NTA_DB_NAME", "nta").strip() or "nta",
                   api_url=env.get("NTA_API_URL", "").strip(), lease_seconds=lease,
                   job_timeout_seconds=Limits.from_env(env).job_timeout_seconds)  # fmt: skip


# -- web side ---------------------------------------------------------------------------------------------

_clients: dict[str, object] = {}
_clients_lock = threading.Lock()


def _client(address: str, timeout: float) -> object:
    from distributed import Client  # imported lazily: the workflow itself does not need Dask

    with _clients_lock:
        client = _clients.get(address)
        if client is None or getattr(client, "status", "") not in ("running", "connecting"):
            client = Client(address, timeout=timeout, set_as_default=False)
            _clients[address] = client
        return client


def close_clients() -> None:
    """Close the cached scheduler clients (before their scheduler goes away, or they keep trying to reconnect)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()  # type: ignore[attr-defined]


def task_key(job_id: str) -> str:
    """The Dask key of a job's task: the reaper asks the scheduler whether it still knows it."""
    return f"nta-job-{job_id}"


def submit(job_id: str, scheduler_address: str, *, timeout: float = 5.0) -> None:
    """Hand the job to the scheduler and return at once (the client is reused between calls)."""
    from distributed import fire_and_forget

    try:
        client = _client(scheduler_address, timeout)
        fire_and_forget(client.submit(run_job, job_id, key=task_key(job_id), pure=False))  # type: ignore[attr-defined]
    except Exception as exc:  # OSError, TimeoutError, CommClosedError ... all mean "not submitted"
        with _clients_lock:
            _clients.pop(scheduler_address, None)
        raise SubmitError(f"the Dask scheduler at {scheduler_address} did not take the job ({type(exc).__name__}: "
                          f"{exc}); is the scheduler running? (NTA_DASK_SCHEDULER)") from exc  # fmt: skip


# -- worker side ------------------------------------------------------------------------------------------


def result_files(files: dict[str, bytes], project_name: str) -> dict[str, ResultFile]:
    """Name the workflow's output files for the job document, and add a zip of every CSV."""
    from .outputs import deflated_member, project_slug

    proj = project_slug(project_name)
    named: dict[str, ResultFile] = {}
    csvs = {}
    for filename, data in files.items():
        stem, ext = os.path.splitext(filename)
        if filename.startswith("csv/"):
            csvs[filename] = data
            name = "table_" + stem.removeprefix("csv/")
        elif filename.endswith("_NTA_WebApp_QAQC.xlsx"):
            name = "workbook"
        elif filename.endswith("_NTA_WebApp_chemical_results.xlsx"):
            name = "chemical_workbook"
        elif ext == ".png":
            name = "plot_" + stem.removeprefix(f"{proj}_")
        else:
            name = re.sub(r"[^A-Za-z0-9_]+", "_", stem)
        named[name] = ResultFile(os.path.basename(filename), CONTENT_TYPES.get(ext, "application/octet-stream"), data)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for filename, data in sorted(csvs.items()):
            with deflated_member(zf, filename.removeprefix("csv/")) as member:
                member.write(data)
    named["csv_zip"] = ResultFile(f"{proj}_csv.zip", CONTENT_TYPES[".zip"], buf.getvalue())
    return named


_stores: dict[RunnerSettings, JobStore] = {}


def _store(settings: RunnerSettings) -> JobStore:
    # One MongoClient (a connection pool) per worker process, not one per job.
    with _clients_lock:
        if settings not in _stores:
            _stores[settings] = JobStore.from_url(settings.mongo_url, settings.db_name,
                                                  lease_seconds=settings.lease_seconds)  # fmt: skip
        return _stores[settings]


def run_job(job_id: str, settings: RunnerSettings | None = None) -> str:
    """Run one job to completion or failure; returns its final status (for logs and tests)."""
    from .outputs import output_files
    from .params import Parameters
    from .render import plot_workers
    from .search import ApiSearcher
    from .workflow import Inputs, run_workflow

    settings = settings or RunnerSettings.from_env()
    store = _store(settings)
    # Every job start also ends jobs whose worker went silent; housekeeping only (the reaper does it too).
    with contextlib.suppress(ConnectionFailure):
        store.expire_stale()
    # Retried for up to a lease; raising here leaves the job queued, and the reaper submits it again.
    claim = store.claim(job_id)
    if claim is None:
        log.info("job %s: nothing to do (finished, or out of attempts)", job_id)
        return "skipped"
    log.info("job %s: attempt %d", job_id, claim.attempt)
    step = "Loading inputs"
    started = time.perf_counter()
    timed_out = threading.Event()

    def expire() -> None:
        # Fails the job at the deadline even while a step is still computing; the worker's next write to the job
        # (progress, results) then raises JobLost and the remaining steps never run.
        timed_out.set()
        limit = settings.job_timeout_seconds
        _fail(store, claim, step, f"the job ran longer than {limit:g} s ({ENV['job_timeout_seconds']}) and was "
                                  f"stopped in step {step!r}")  # fmt: skip

    watchdog = threading.Timer(settings.job_timeout_seconds, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        with store.heartbeating(claim):
            store.progress(claim, step, 0.0)
            doc = store.retrying(lambda: store.jobs.find_one({"_id": job_id}, {"parameters": 1}),
                                 f"job {job_id}: read parameters") or {}  # fmt: skip
            params = Parameters.from_strings(doc.get("parameters") or {})
            loaded = store.load_inputs(job_id)
            inputs = Inputs(**{role: data for role, (_, data) in loaded.items()},
                            names={role: filename for role, (filename, _) in loaded.items()})  # fmt: skip
            searcher = ApiSearcher(settings.api_url, job_id, retries=settings.search_retries) if settings.api_url \
                else None  # fmt: skip

            def progress(name: str, fraction: float) -> None:
                nonlocal step
                if timed_out.is_set():
                    raise JobLost(f"job {job_id} timed out")
                step = name
                store.progress(claim, name, fraction * 0.95)  # the last 5 % is saving the results

            # With a second CPU, a render process draws the figures while the workbook and CSVs are written.
            with plot_workers("forkserver") as renderer:
                results = run_workflow(inputs, params, progress=progress, searcher=searcher, renderer=renderer)
                step = "Saving results"
                store.progress(claim, step, 0.95)
                saving = time.perf_counter()
                named = result_files(output_files(results, params.project_name), params.project_name)
            # Beside the workflow's own `seconds`: what writing the workbook, CSVs and zip cost (benchmarks).
            summary = {**results.summary, "save_seconds": round(time.perf_counter() - saving, 3)}
            store.complete(claim, named, summary)
    except JobLost as exc:
        if timed_out.is_set():
            return "failed"
        log.warning("job %s: %s", job_id, exc)
        return "lost"
    except StepError as exc:
        return "failed" if timed_out.is_set() else _fail(store, claim, exc.step, str(exc.cause))
    except NtaError as exc:
        return "failed" if timed_out.is_set() else _fail(store, claim, step, str(exc))
    except ConnectionFailure as exc:  # MongoDB away for longer than the retries (a lease): the job is lost
        log.error("job %s: MongoDB unreachable for more than %g s in %s (%s)", job_id, settings.lease_seconds, step,
                  type(exc).__name__)  # fmt: skip
        message = (f"MongoDB was unreachable for more than {settings.lease_seconds:g} s (NTA_JOB_LEASE_SECONDS) "
                   "during this step; submit the files again")  # fmt: skip
        return _fail(store, claim, step, message)
    except Exception as exc:  # a bug: the user still gets the step, the log gets the traceback
        if timed_out.is_set():
            return "failed"
        log.exception("job %s failed in %s", job_id, step)
        return _fail(store, claim, step, f"internal error ({type(exc).__name__}: {exc}); see the worker log")
    finally:
        watchdog.cancel()
    log.info("job %s: completed in %.2f s", job_id, time.perf_counter() - started)
    return "completed"


def _fail(store: JobStore, claim: Claim, step: str, message: str) -> str:
    log.info("job %s: failed in %s: %s", claim.job_id, step, message)
    try:
        store.finish_failed(claim, step, message)
    except (JobLost, ConnectionFailure):  # still unreachable: the reaper fails the job by its stale heartbeat
        return "lost"
    return "failed"

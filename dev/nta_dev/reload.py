"""Hot-reload measurement: save a file -> the new code answers. Used by tests/reload and benchmarks/bench_reload.py.

Each `Edit` changes one line a developer could change (a Django view, a Flask handler, a pipeline constant the
worker uses, the nginx config) and has a probe that tells when the running service serves the new text. How the
file reaches the service is the `deliver` function: written in place (local processes), or a tar stream into a
container or a pod followed by the run step, as Tilt's live_update does.
"""

from __future__ import annotations

import io
import statistics
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .services import health_paths

Deliver = Callable[[str, bytes], None]  # (repo-relative path, new content)
Probe = Callable[[str], bool]  # token -> is the change served?


class ReloadTimeout(AssertionError):
    """The change did not arrive in time."""


@dataclass(frozen=True)
class Edit:
    service: str
    path: str  # repo-relative
    old: str
    new: str  # contains {token}

    def apply(self, original: str, token: str) -> str:
        if self.old not in original:
            raise AssertionError(f"{self.path} no longer contains {self.old!r}: update nta_dev.reload.EDITS")
        return original.replace(self.old, self.new.replace("{token}", token), 1)


EDITS = {
    "django": Edit("django", "services/django/src/nta_web/views.py", 'HttpResponse("ok\\n"',
                   'HttpResponse("ok {token}\\n"'),
    "flask": Edit("flask", "services/flask/src/nta_api/app.py", '{"status": "ok", "mongo": "ok"',
                  '{"status": "ok", "reload": "{token}", "mongo": "ok"'),
    "nginx": Edit("nginx", "services/nginx/nginx.conf.template", 'return 200 "ok\\n";', 'return 200 "ok {token}\\n";'),
    "worker": Edit("worker", "services/pipeline/src/nta_pipeline/params.py", 'VERSION = "0.3.6"',
                   'VERSION = "0.3.6+{token}"'),
    # A static file: nginx serves Django's collected static files itself (synced into its container).
    "static": Edit("static", "services/django/src/nta_web/static/nta_web/nta.css",
                   "/* NTA WebApp: one small stylesheet, no framework. */",
                   "/* NTA WebApp: one small stylesheet, no framework. {token} */"),
}  # fmt: skip
HTTP_SERVICES = ("django", "flask", "nginx", "static")
HEALTH_PATHS = {**health_paths(), "static": "/nta/static/nta_web/nta.css"}


def http_probe(base_url: str, service: str) -> Probe:
    url = base_url.rstrip("/") + HEALTH_PATHS[service]

    def probe(token: str) -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return token in resp.read().decode(errors="replace")
        except (urllib.error.URLError, OSError):
            return False  # restarting

    return probe


def dask_probe(scheduler_address: str) -> tuple[Probe, Callable[[], None]]:
    """True when a task on a worker sees the new code; returns (probe, close).

    A task, not `Client.run`: run() also addresses a worker that is restarting and can block far past the probe's
    interval, which would distort the measurement.
    """
    from distributed import Client

    client = Client(scheduler_address, timeout=10, set_as_default=False)
    expr = "__import__('nta_pipeline.params', fromlist=['VERSION']).VERSION"

    def probe(token: str) -> bool:
        future = client.submit(eval, expr, pure=False)  # eval is pickled by reference: the worker runs its own code
        try:
            return token in future.result(timeout=2)
        except Exception:  # no worker yet (restarting), or it died under the task
            return False
        finally:
            future.release()

    return probe, client.close


def local_deliver(root: Path) -> Deliver:
    """Write the file in place, as an editor does."""

    def deliver(path: str, content: bytes) -> None:
        (root / path).write_bytes(content)

    return deliver


def tar_stream(files: dict[str, bytes]) -> bytes:
    """A tar archive of {absolute path in the container: content}, as Tilt streams into `tar -x -C /`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name.lstrip("/"))
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def measure(edit: Edit, original: str, deliver: Deliver, probe: Probe, *, timeout: float = 30.0) -> float:
    """Seconds from delivering the edited file to the probe seeing it."""
    token = f"r{uuid.uuid4().hex[:10]}"
    content = edit.apply(original, token).encode()
    started = time.perf_counter()
    deliver(edit.path, content)
    while time.perf_counter() - started < timeout:
        if probe(token):
            return time.perf_counter() - started
        time.sleep(0.02)
    raise ReloadTimeout(f"{edit.service}: the change to {edit.path} was not served after {timeout:g} s")


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):6.2f} s  p90 {p90:6.2f} s  (n={len(ordered)})"

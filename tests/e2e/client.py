"""A browser-like client of the stack: reads the upload form's defaults, posts it with its CSRF token."""

from __future__ import annotations

import http.client
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# A refused connection is retried (the request was never sent, so a POST cannot run twice): on the local cluster
# NodePort 31000 has refused connections for moments under `tilt up` (seen twice in rehearsals, the stack's own
# logs showing no gap). Nothing else is retried: an error the stack answers with is the test's to see.
CONNECT_RETRIES = Retry(total=None, connect=4, read=0, status=0, other=0, redirect=False, backoff_factor=0.25,
                        allowed_methods=None, raise_on_status=False)  # fmt: skip


@dataclass
class Form:
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # (name, value), repeated names kept
    file_fields: list[str] = field(default_factory=list)


class _FormParser(HTMLParser):
    """Collects the first multipart form as a browser would submit it untouched (checked boxes, selected options)."""

    def __init__(self) -> None:
        super().__init__()
        self.form: Form | None = None
        self.done = False
        self._select: str | None = None
        self._select_first: str | None = None
        self._select_chosen = False
        self._option_value: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form" and self.form is None and "multipart" in a.get("enctype", ""):
            self.form = Form(action=a.get("action", ""))
        if self.form is None or self.done:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind == "file":
                self.form.file_fields.append(name)
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.form.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "reset", "image"):
                self.form.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select, self._select_first, self._select_chosen = name, None, False
        elif tag == "option" and self._select:
            value = a.get("value")
            self._option_value = value
            if self._select_first is None:
                self._select_first = value
            if "selected" in a:
                self._select_chosen = True
                self.form.fields.append((self._select, value or ""))
        elif tag == "textarea" and name:
            self._textarea = name
            self.form.fields.append((name, ""))

    def handle_data(self, data: str) -> None:
        if self._textarea and self.form:
            name, value = self.form.fields[-1]
            self.form.fields[-1] = (name, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select and self.form:
            if not self._select_chosen and self._select_first is not None:
                self.form.fields.append((self._select, self._select_first))
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self.form:
            self.done = True


class StackClient:
    def __init__(self, base_url: str):
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.http.mount("http://", HTTPAdapter(max_retries=CONNECT_RETRIES))
        self.http.mount("https://", HTTPAdapter(max_retries=CONNECT_RETRIES))

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}{path}"

    def form(self) -> Form:
        resp = self.http.get(self.url("/nta/"), timeout=30)
        resp.raise_for_status()
        parser = _FormParser()
        parser.feed(resp.text)
        assert parser.form is not None, "no multipart upload form on /nta/"
        return parser.form

    def prepare_upload(self, files: dict[str, tuple[str, bytes]], params: dict[str, Any] | None = None, *,
                       json: bool = True, drop: tuple[str, ...] = ()) -> requests.PreparedRequest:  # fmt: skip
        """The form's POST with its defaults, `params` replacing fields (a list value = several values)."""
        form = self.form()
        params = params or {}
        data = [(k, v) for k, v in form.fields if k not in params and k not in drop]
        for key, value in params.items():
            data += [(key, str(v)) for v in value] if isinstance(value, list | tuple) else [(key, str(value))]
        action = urljoin(self.url("/nta/"), form.action)  # as a browser resolves it; "" posts back to /nta/
        headers = {"Referer": self.url("/nta/"), "X-CSRFToken": self.http.cookies.get("csrftoken", "")}
        if json:
            headers["Accept"] = "application/json"
        upload = {role: (name, content, "text/csv") for role, (name, content) in files.items()}
        request = requests.Request("POST", action, data=data, files=upload or None, headers=headers)
        return self.http.prepare_request(request)  # with the session's cookies (CSRF)

    def upload(self, files: dict[str, tuple[str, bytes]], params: dict[str, Any] | None = None, *,
               json: bool = True, drop: tuple[str, ...] = ()) -> requests.Response:  # fmt: skip
        """POST the form with its defaults, `params` replacing fields (a list value = several values)."""
        return self.http.send(self.prepare_upload(files, params, json=json, drop=drop), timeout=120,
                              allow_redirects=not json)  # fmt: skip

    def submit(self, files: dict[str, tuple[str, bytes]], params: dict[str, Any] | None = None) -> str:
        resp = self.upload(files, params)
        assert resp.status_code == 201, f"upload refused: HTTP {resp.status_code}: {resp.text[:500]}"
        return resp.json()["job_id"]

    def status(self, job_id: str) -> dict[str, Any]:
        resp = self.http.get(self.url(f"/nta/jobs/{job_id}/status.json"), timeout=30)
        resp.raise_for_status()
        return resp.json()

    def wait_running(self, job_id: str, timeout: float = 60) -> dict[str, Any]:
        """Until the job is processing and has made some progress (a fault injected now hits it mid-run)."""
        deadline = time.monotonic() + timeout
        while (status := self.status(job_id))["status"] != "processing" or status["progress"] < 0.01:
            assert status["status"] in ("queued", "processing"), status
            assert time.monotonic() < deadline, f"the job never started within {timeout:g} s: {status}"
            time.sleep(0.05)
        return status

    def wait(self, job_id: str, timeout: float = 180, interval: float = 0.1) -> tuple[dict[str, Any], list[float]]:
        """Poll until the job finishes; returns the last status and every progress value seen."""
        seen: list[float] = []
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(job_id)
            seen.append(float(status["progress"]))
            if status["status"] in ("completed", "failed") or time.monotonic() > deadline:
                return status, seen
            time.sleep(interval)

    def job_count(self) -> int:
        resp = self.http.get(self.url("/nta/rest/jobs/?limit=1"), timeout=30)
        resp.raise_for_status()
        return int(resp.json()["count"])

    def file(self, job_id: str, name: str) -> requests.Response:
        return self.http.get(self.url(f"/nta/jobs/{job_id}/files/{name}"), timeout=60)


class SlowUpload:
    """A prepared upload whose body the caller sends piece by piece, as a slow client on a bad line would."""

    def __init__(self, request: requests.PreparedRequest, timeout: float = 120) -> None:
        assert isinstance(request.body, bytes), "a multipart upload has a bytes body"
        self.body, self.sent = request.body, 0
        url = urlsplit(request.url)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=timeout)
        self.conn.putrequest("POST", url.path or "/", skip_accept_encoding=True)
        for name, value in request.headers.items():  # Content-Length, the multipart boundary, CSRF cookie
            self.conn.putheader(name, value)
        self.conn.endheaders()

    @property
    def left(self) -> int:
        return len(self.body) - self.sent

    def send(self, n: int) -> None:
        """Send the next n bytes of the body (never the last one: finish() does that)."""
        n = max(0, min(n, self.left - 1))
        self.conn.send(self.body[self.sent:self.sent + n])
        self.sent += n

    def finish(self) -> tuple[int, bytes]:
        """Send the rest; -> (HTTP status, response body)."""
        self.conn.send(self.body[self.sent:])
        self.sent = len(self.body)
        resp = self.conn.getresponse()
        return resp.status, resp.read()

    def close(self) -> None:
        self.conn.close()


def error_text(resp: requests.Response) -> str:
    """The message of a refused upload: JSON error, or the visible text of an HTML page."""
    if resp.headers.get("Content-Type", "").startswith("application/json"):
        body = resp.json()
        return f"{body.get('field', '')}: {body.get('error', '')}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.text))

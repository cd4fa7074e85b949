"""Helpers for the fault tests: a MongoDB stand-in that can be stopped and started again on the same port and data,
and a stand-in search API whose behaviour a test scripts."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.fixtures.mongo import START_TIMEOUT_S, _executable, _free_port, _ping, _stop

SEARCH_COLUMNS = ["INPUT", "DTXSID", "PREFERRED_NAME", "CASRN", "MOLECULAR_FORMULA", "MONOISOTOPIC_MASS",
                  "MASS_DIFFERENCE", "MASS_ERROR_PPM", "FOUND_BY"]  # fmt: skip


class StoppableMongo:
    """One nx-27017 on a fixed port and data directory: stop() is an outage (connections refused), start() the
    same server back with its data."""

    def __init__(self, workdir: Path):
        self.workdir, self.port = workdir, _free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.stops = self.starts = 0

    def start(self) -> None:
        import time

        cmd = [_executable(), "--data-dir", str(self.workdir / "data"), "--host", "127.0.0.1", "--port",
               str(self.port), "--log-file", str(self.workdir / "nx.log"), "--pid-file", str(self.workdir / "nx.pid")]
        with (self.workdir / "nx.out").open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _ping(self.url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nx-27017 on port {self.port} did not start: "
                                   f"{(self.workdir / 'nx.out').read_text(errors='replace')[-2000:]}")  # fmt: skip
            time.sleep(0.1)
        self.starts += 1

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None
            self.stops += 1

    def outage(self, seconds: float) -> threading.Timer:
        """Stop now, start again after `seconds` (in a thread); returns the timer (join it)."""
        self.stop()
        timer = threading.Timer(seconds, self.start)
        timer.start()
        return timer


class SearchStub:
    """POST /ms1/batch/<job>: one candidate per query mass. `respond(n)` -> HTTP status for the n-th request (from 1),
    `on_request(n)` runs before answering (e.g. to stop MongoDB mid-job). start() may be called late: until then the
    port refuses connections, like a search API that is down."""

    def __init__(self, port: int | None = None, *, respond: Callable[[int], int] = lambda n: 200,
                 on_request: Callable[[int], None] = lambda n: None):  # fmt: skip
        self.port = port or _free_port()
        self.url = f"http://127.0.0.1:{self.port}/nta/rest"
        self.requests = 0
        self.served = 0  # answered 200
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                with stub._lock:
                    stub.requests += 1
                    n = stub.requests
                on_request(n)
                status = respond(n)
                if status == 200:
                    rows = [[q, "DTXSID0000001", "Stand-in", "0-00-0", "C1", q, 0.0, 0.0, "Monoisotopic Mass"]
                            for q in body["query"][:5]]  # fmt: skip
                    payload = {"results": {"columns": SEARCH_COLUMNS, "data": rows}}
                    with stub._lock:
                        stub.served += 1
                else:
                    payload = {"error": "stand-in search API unavailable"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._handler = Handler

    def start(self) -> SearchStub:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

"""Drive the real Tilt: `tilt ci`, `tilt up` in the background, resource status from Tilt's API, `tilt down`.

Used by tests/cluster and benchmarks/bench_reload.py (`--level tilt`); a developer types the same commands:

    tilt ci --context nta-local            # build, deploy, wait until every workload is healthy, exit
    tilt up --stream --context nta-local   # the same, then keep syncing saved files into the pods
    tilt down --context nta-local

Each session gets its own API port (``--port``), so a developer's own `tilt up` on 10350 is never touched.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ToolkitError
from ..tools import require

REPO = Path(__file__).resolve().parents[3]
TILTFILE = REPO / "Tiltfile"
# Tilt's own words when `tilt ci` ends well.
CI_SUCCESS = "SUCCESS. All workloads are healthy."
# UIResource triggerMode values of resources that do not run on `tilt up` (auto_init=False): 2 manual, 3 auto.
NO_AUTO_INIT = (2, 3)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Tilt:
    """The tilt binary bound to one kubeconfig, context and Tiltfile."""

    kubeconfig: Path
    context: str
    tiltfile: Path = TILTFILE
    binary: str = field(default_factory=lambda: require("tilt", "run Tilt"))

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def argv(self, command: str, *args: str, port: int | None = None) -> list[str]:
        argv = [self.binary, command, "--context", self.context, "--file", str(self.tiltfile)]
        return [*argv, *(["--port", str(port)] if port else []), *args]

    def ci(self, timeout: str = "15m", log: Path | None = None) -> subprocess.CompletedProcess[str]:
        """`tilt ci`: exit 0 and CI_SUCCESS once every resource is healthy; its output goes to ``log`` too."""
        proc = subprocess.run(self.argv("ci", "--timeout", timeout, port=free_port()), env=self.env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        if log is not None:
            log.write_text(proc.stdout)
        return proc

    def down(self, delete_namespaces: bool = False) -> subprocess.CompletedProcess[str]:
        """`tilt down`: deletes what the Tiltfile deployed but the namespace (and with it MongoDB's volume claim),
        unless ``delete_namespaces``."""
        args = ["--delete-namespaces"] if delete_namespaces else []
        return subprocess.run(self.argv("down", *args), env=self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=300)

    def up(self, log: Path, *args: str) -> TiltUp:
        """Start `tilt up --stream` in the background (output to ``log``); stop it with ``TiltUp.stop()``."""
        port = free_port()
        handle = log.open("wb")
        proc = subprocess.Popen(self.argv("up", "--stream", *(["--", *args] if args else []), port=port),
                                env=self.env, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        handle.close()
        return TiltUp(self, proc, port, log)


@dataclass
class TiltUp:
    """A running `tilt up`: ask its API (`tilt get`) for resource status, wait for health, stop it."""

    tilt: Tilt
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def api(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run([self.tilt.binary, *args, "--port", str(self.port)], env=self.tilt.env,
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def resources(self) -> dict[str, dict[str, Any]]:
        """{name: UIResource status} from Tilt's API; empty while Tilt is still starting."""
        done = self.api("get", "uiresources", "-o", "json")
        if done.returncode != 0:
            return {}
        return {item["metadata"]["name"]: item.get("status", {}) for item in json.loads(done.stdout)["items"]}

    def unhealthy(self) -> dict[str, str]:
        """Resources that should run on `tilt up` but are not done and healthy: {name: "update/runtime"}."""
        found = self.resources()
        if not found:
            return {"(tilt)": "API not answering yet"}
        bad = {}
        for name, status in found.items():
            if name == "(Tiltfile)" and status.get("updateStatus") == "ok":
                continue
            if status.get("disableStatus", {}).get("state") == "Disabled":
                continue  # left out of a subset (`tilt up -- web`)
            if status.get("triggerMode") in NO_AUTO_INIT and status.get("updateStatus") == "none":
                continue  # a button nobody pressed
            update, runtime = status.get("updateStatus"), status.get("runtimeStatus")
            if update not in ("ok", "not_applicable") or runtime not in ("ok", "not_applicable"):
                bad[name] = f"{update}/{runtime}"
        return bad

    def wait_healthy(self, timeout: float = 600) -> float:
        """Seconds until every auto resource is built, deployed and healthy; raises with the log tail if not."""
        started = time.monotonic()
        while (bad := self.unhealthy()):
            if self.proc.poll() is not None:
                raise ToolkitError(f"tilt up exited ({self.proc.returncode}):\n{self.tail()}")
            if time.monotonic() - started > timeout:
                raise ToolkitError(f"not healthy after {timeout:.0f} s: {bad}\n{self.tail()}")
            time.sleep(1)
        return time.monotonic() - started

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(10)

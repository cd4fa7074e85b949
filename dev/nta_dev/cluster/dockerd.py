"""The Docker engine the kubelet drives (through cri-dockerd), with the runc wrapper where the kernel needs it.

The kubelet asks for oom_score_adj -998 on every pod sandbox. Kernels that deny negative values (as in some
sandboxed VMs) make runc fail with "can't get final child's PID from pipe: EOF", so dockerd must then use
``runc-wrapper`` (beside this file) as its default runtime: it clamps a negative ``process.oomScoreAdj`` to 0.
The wrapper is harmless for ordinary containers, so CI starts dockerd with it from the beginning.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

from ..errors import ToolkitError
from .paths import state_dir

log = logging.getLogger(__name__)

RUNTIME_NAME = "nta-runc"
WRAPPER = Path(__file__).with_name("runc-wrapper")
DOCKERD_WAIT_SECONDS = 30


def negative_oom_denied() -> bool:
    """True when this kernel refuses a negative oom_score_adj even to root (tried in a child, not in us)."""
    probe = subprocess.run(["sh", "-c", "echo -1 > /proc/self/oom_score_adj"], capture_output=True)
    return probe.returncode != 0


def _docker_info(docker: str) -> dict | None:
    try:
        out = subprocess.run([docker, "info", "--format", "{{json .}}"], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    try:
        info = json.loads(out.stdout)
    except ValueError:
        return None
    return info if info.get("ServerVersion") else None


def _dockerd_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-x", "dockerd"], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def _start_dockerd(with_wrapper: bool) -> None:
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise ToolkitError("no Docker engine: dockerd not found; install it (`apt-get install -y docker.io`) "
                           "or start Docker Desktop")
    if os.geteuid() != 0:
        raise ToolkitError("the Docker engine is not running and only root can start it: run `sudo dockerd &` "
                           "(or start Docker Desktop), then retry")
    cmd = [dockerd]
    if with_wrapper:
        cmd += ["--add-runtime", f"{RUNTIME_NAME}={WRAPPER}", "--default-runtime", RUNTIME_NAME]
    logs = state_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "dockerd.log", "ab") as out:
        # Own session: dockerd outlives this process and a Ctrl-C in the caller's terminal.
        subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    log.info("started %s (log %s)", " ".join(cmd), logs / "dockerd.log")


def _wait_for_docker(docker: str) -> dict:
    deadline = time.monotonic() + DOCKERD_WAIT_SECONDS
    while time.monotonic() < deadline:
        if info := _docker_info(docker):
            return info
        time.sleep(0.5)
    raise ToolkitError(f"the Docker engine did not answer `docker info` within {DOCKERD_WAIT_SECONDS} s; "
                       f"see {state_dir() / 'logs' / 'dockerd.log'}")


def uses_wrapper(info: dict) -> bool:
    return info.get("DefaultRuntime") == RUNTIME_NAME and RUNTIME_NAME in (info.get("Runtimes") or {})


def ensure_dockerd(runtime_wrapper: bool | None = None, allow_restart: bool = False, docker: str = "docker") -> dict:
    """A running Docker engine, with the runc wrapper as default runtime when needed; returns `docker info`.

    ``runtime_wrapper=None`` decides by probing the kernel. A running engine without the wrapper is restarted only
    when ``allow_restart`` is set (a restart stops every container on it); otherwise the error says how.
    """
    if runtime_wrapper is None:
        runtime_wrapper = negative_oom_denied()
        if runtime_wrapper:
            log.info("this kernel denies negative oom_score_adj: dockerd needs the runc wrapper %s", WRAPPER)
    if not os.access(WRAPPER, os.X_OK):
        raise ToolkitError(f"{WRAPPER} is not executable: `chmod +x {WRAPPER}`")
    info = _docker_info(docker)
    if info is None:
        if _dockerd_pids():
            info = _wait_for_docker(docker)  # just started by someone else
        else:
            _start_dockerd(runtime_wrapper)
            return _wait_for_docker(docker)
    if not runtime_wrapper or uses_wrapper(info):
        return info
    how = f"dockerd --add-runtime {RUNTIME_NAME}={WRAPPER} --default-runtime {RUNTIME_NAME}"
    if not allow_restart:
        raise ToolkitError(
            "this kernel denies negative oom_score_adj, so every pod would fail (\"can't get final child's PID from "
            f"pipe: EOF\"), and the running Docker engine lacks the runc wrapper. Restart it as `{how}` "
            "(or pass --restart-docker to let the toolkit do it; running containers stop)")
    pids = _dockerd_pids()
    if not pids:
        raise ToolkitError(f"the Docker engine runs but not as a local dockerd (Docker Desktop?): configure the "
                           f"runtime `{RUNTIME_NAME}` -> {WRAPPER} as its default runtime")
    log.warning("restarting dockerd with the runc wrapper (running containers stop): %s", how)
    for pid in pids:
        os.kill(pid, 15)
    deadline = time.monotonic() + DOCKERD_WAIT_SECONDS
    while _dockerd_pids() and time.monotonic() < deadline:
        time.sleep(0.5)
    _start_dockerd(True)
    info = _wait_for_docker(docker)
    if not uses_wrapper(info):
        raise ToolkitError(f"dockerd restarted but its default runtime is {info.get('DefaultRuntime')!r}, "
                           f"not {RUNTIME_NAME}: check {state_dir() / 'logs' / 'dockerd.log'}")
    return info

"""`./inv doctor`: is this machine ready for the NTA dev loop? One line per finding, each problem naming its fix."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

from nta_pipeline.redact import redact_url

from .errors import ToolkitError
from .kube.context import describe, load_kubeconfig
from .tilt.install import TILT_VERSION
from .tools import INSTALL_HINTS, find, port_in_use

# The ports of the configuration contract the local stack (and NodePort 31000) listen on.
PORTS = {31000: "nginx", 8000: "django", 5000: "flask", 8786: "dask scheduler", 8787: "dask dashboard",
         27017: "mongodb"}  # fmt: skip
PROBE_TIMEOUT_S = 15
MIN_TILT = (0, 37)  # the Tiltfile's version_settings(constraint='>=0.37.0')


@dataclass(frozen=True)
class Finding:
    level: str  # "ok", "note" (worth knowing, not a problem) or "FAIL" (a problem; doctor exits non-zero)
    subject: str
    message: str

    def line(self) -> str:
        return f"{self.level:<4}  {self.subject}: {self.message}"


def _run(argv: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None


def check_docker() -> Finding:
    docker = find("docker")
    if docker is None:
        return Finding("FAIL", "docker", f"not found on PATH: {INSTALL_HINTS['docker']}")
    done = _run([docker, "info", "--format", "{{.ServerVersion}}"])
    if done is None or done.returncode != 0 or not done.stdout.strip():
        return Finding("FAIL", "docker", "the daemon does not answer `docker info`: start Docker Desktop, or "
                                         "`sudo systemctl start docker` (or `sudo dockerd &`)")  # fmt: skip
    return Finding("ok", "docker", f"engine {done.stdout.strip()} at {docker}")


def check_kubectl() -> list[Finding]:
    kubectl = find("kubectl")
    if kubectl is None:
        return [Finding("FAIL", "kubectl", f"not found on PATH: {INSTALL_HINTS['kubectl']}"),
                _kustomize_without_kubectl()]  # fmt: skip
    done = _run([kubectl, "version", "--client", "-o", "json"])
    try:
        info = json.loads(done.stdout) if done is not None and done.returncode == 0 else {}
    except json.JSONDecodeError:
        info = {}
    version = info.get("clientVersion", {}).get("gitVersion")
    if not version:
        broken = f"{kubectl} does not run (`kubectl version --client` failed): reinstall it; {INSTALL_HINTS['kubectl']}"
        return [Finding("FAIL", "kubectl", broken), _kustomize_without_kubectl()]
    found = [Finding("ok", "kubectl", f"{version} at {kubectl}")]
    kustomize = info.get("kustomizeVersion")
    if kustomize:
        found.append(Finding("ok", "kustomize", f"{kustomize} (built into kubectl)"))
    else:
        found.append(_kustomize_without_kubectl())
    return found


def _kustomize_without_kubectl() -> Finding:
    standalone = find("kustomize")
    if standalone:
        return Finding("ok", "kustomize", f"standalone at {standalone}")
    return Finding("FAIL", "kustomize", f"not available: {INSTALL_HINTS['kustomize']}")


def check_tilt() -> Finding:
    tilt = find("tilt")
    if tilt is None:
        return Finding("note", "tilt", f"not found on PATH, so `./inv up` runs the local stack; for the cluster dev "
                                       f"loop {INSTALL_HINTS['tilt'].split(' (')[0]}")  # fmt: skip
    done = _run([tilt, "version"])
    printed = done.stdout.strip() if done is not None and done.returncode == 0 else ""
    if not printed.startswith("v"):
        return Finding("FAIL", "tilt", f"{tilt} does not run (`tilt version` failed): rebuild it with `./inv tools`")
    version = tuple(int(part) for part in printed[1:].split(",")[0].split(".")[:2] if part.isdigit())
    if version < MIN_TILT:
        return Finding("FAIL", "tilt", f"{printed.split(',')[0]} at {tilt} is older than the Tiltfile's minimum "
                                       f"v{'.'.join(map(str, MIN_TILT))}: `./inv tools` builds v{TILT_VERSION}")
    return Finding("ok", "tilt", f"{printed.split(',')[0]} at {tilt}")


def check_context() -> Finding:
    try:
        cfg = load_kubeconfig()
    except ToolkitError as exc:
        return Finding("FAIL", "context", str(exc))
    if not cfg.contexts or cfg.current is None:
        return Finding("note", "context", describe(cfg).splitlines()[0] + " (only needed for the cluster tasks)")
    ctx = cfg.get(cfg.current)
    if ctx is None:
        return Finding("FAIL", "context", f"current context {cfg.current!r} is not defined in the kubeconfig: "
                                          "`./inv context NAME` picks an existing one")  # fmt: skip
    if ctx.local:
        return Finding("ok", "context", f"{ctx.name} (local)")
    return Finding("note", "context", f"{ctx.name} is NOT local: tasks that change a cluster refuse it unless run "
                                      f"with `--context {ctx.name} --yes`; `./inv context NAME` switches")  # fmt: skip


def check_ports(ports: dict[int, str]) -> list[Finding]:
    busy = [p for p in ports if port_in_use(p)]
    found = [Finding("FAIL", f"port {p}", f"in use, but the local stack's {ports[p]} needs it: stop the program "
                                          f"holding it (`ss -ltnp 'sport = :{p}'` names it), or ignore this if it "
                                          "is an NTA stack you started")  # fmt: skip
             for p in busy]
    free = [str(p) for p in ports if p not in busy]
    if free:
        found.insert(0, Finding("ok", "ports", f"free: {', '.join(free)}"))
    return found


def check_mongo(url: str | None, timeout_ms: int = 3000) -> Finding:
    if not url:
        return Finding("note", "NTA_MONGO_URL", "not set: `./inv up` starts its own local MongoDB stand-in; set it "
                                                "to use an existing MongoDB")  # fmt: skip
    try:
        from pymongo import MongoClient
        from pymongo.errors import PyMongoError
    except ImportError:
        return Finding("FAIL", "NTA_MONGO_URL", "cannot check it: pymongo is missing; run `./inv doctor` (the "
                                                "bootstrap installs it) instead of plain `inv doctor`")  # fmt: skip
    try:
        client: MongoClient = MongoClient(url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    except (PyMongoError, ValueError) as exc:
        return Finding("FAIL", "NTA_MONGO_URL", f"{redact_url(url)} is not a valid MongoDB URL ({exc}): fix it")
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        return Finding("FAIL", "NTA_MONGO_URL", f"{redact_url(url)} does not answer ({exc.__class__.__name__}): start "
                                                "that MongoDB, fix the URL, or unset it to let `./inv up` start "
                                                "one")  # fmt: skip
    finally:
        client.close()
    return Finding("ok", "NTA_MONGO_URL", f"{redact_url(url)} answers ping")


def diagnose(ports: dict[int, str] | None = None, mongo_url: str | None = None,
             mongo_timeout_ms: int = 3000) -> list[Finding]:  # fmt: skip
    """Every check, in the order a newcomer would fix them."""
    url = mongo_url if mongo_url is not None else os.environ.get("NTA_MONGO_URL", "").strip()
    return [check_docker(), *check_kubectl(), check_tilt(), check_context(),
            *check_ports(PORTS if ports is None else ports), check_mongo(url or None, mongo_timeout_ms)]  # fmt: skip


def report(findings: Iterable[Finding]) -> tuple[str, int]:
    """(printable report, number of problems)."""
    findings = list(findings)
    problems = sum(f.level == "FAIL" for f in findings)
    summary = f"{problems} problem(s) found" if problems else "no problems found"
    return "\n".join([*(f.line() for f in findings), summary]), problems

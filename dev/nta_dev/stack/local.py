"""The local stack: every service of the NTA stack as a local process, no cluster needed (`./inv up`).

honcho runs the processes and stops them all on Ctrl-C. Code changes reload: Django and Flask through gunicorn
`--reload` (the master process stays, workers restart), the Dask worker in place (`--preload nta_devserver.dask`),
nginx through `watchmedo shell-command` re-rendering its config and running `nginx -s reload`.

    python -m nta_dev.stack.local [--port-offset N] [--state-dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shlex
import shutil
import signal
import string
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..images import dockerfile
from ..images.build import IMAGES
from ..kube import manifests
from ..services import debug_ports, health_paths
from ..tools import port_in_use

REPO = Path(__file__).resolve().parents[3]
SEED_CSV = REPO / "services" / "flask" / "seed" / "reference_seed.csv"
# The services' import roots, relative to the source root (the repo, or a copy the reload tests edit).
SRC_DIRS = ("services/pipeline/src", "services/django/src", "services/flask/src")
NGINX_BIN = "/usr/sbin/nginx"
READY_LINE = "nta: the stack is up"  # printed once every health check passed and the reference is seeded

# name -> default port; `--port-offset` shifts them all (tests run a second stack beside a developer's).
PORTS = {"nginx": 31000, "django": 8000, "flask": 5000, "scheduler": 8786, "dashboard": 8787, "mongo": 27017}
# `--debug SERVICE`: the port its debugger (debugpy, DAP) listens on; the same numbers Tilt forwards.
DEBUG_PORTS = debug_ports()
DEBUGGERS = ("dap", "pycharm")  # how NTA_DEBUG reaches the IDE (nta_devserver.debug)


class StackError(RuntimeError):
    """The local stack cannot start; the message names the fix."""


@dataclass(frozen=True)
class StackConfig:
    port_offset: int = 0
    state_dir: Path = REPO / ".local-stack"
    source_root: Path = REPO  # where the services' code is run from
    worker_threads: int = 2  # one Dask worker process (no nanny: watchmedo restarts it), this many threads
    max_upload_mb: int = 100
    lease_seconds: float = 60.0
    extra_env: Mapping[str, str] = field(default_factory=dict)
    debug: tuple[str, ...] = ()  # services run under a debugger (DEBUG_PORTS)
    # "dap": debugpy listens on the port for VS Code & co; "pycharm": the service dials PyCharm's debug server there
    debugger: str = "dap"

    def __post_init__(self) -> None:
        if unknown := sorted(set(self.debug) - set(DEBUG_PORTS)):
            raise StackError(f"--debug {', '.join(unknown)}: not a service that runs our code; "
                             f"choose from {', '.join(DEBUG_PORTS)}")
        if self.debugger not in DEBUGGERS:
            raise StackError(f"--debugger {self.debugger}: choose from {', '.join(DEBUGGERS)}")

    @property
    def nginx_dir(self) -> Path:
        return self.source_root / "services" / "nginx"

    def port(self, name: str) -> int:
        return PORTS[name] + self.port_offset

    def debug_port(self, service: str) -> int:
        return DEBUG_PORTS[service] + self.port_offset

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port('nginx')}"

    @property
    def mongo_url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port('mongo')}"


def _venv_bin(tool: str) -> str:
    candidate = Path(sys.executable).parent / tool
    return str(candidate) if candidate.exists() else tool


def django_secret_key(state_dir: Path) -> str:
    """A per-checkout key kept in the (gitignored) state dir, so sessions survive restarts; never printed."""
    path = state_dir / "django-secret-key"
    if not path.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def environment(cfg: StackConfig) -> dict[str, str]:
    """The configuration contract as the local processes see it: the ConfigMap nta-config of k8s/base (a setting
    this shell exports wins, e.g. `NTA_AUTH=header ./inv up`), this machine's addresses, the Secret's keys."""
    return {
        **{key: value for key, value in manifests.config().items() if key not in os.environ},
        "NTA_MONGO_URL": cfg.mongo_url,
        "NTA_DASK_SCHEDULER": f"tcp://127.0.0.1:{cfg.port('scheduler')}",
        "NTA_API_URL": f"http://127.0.0.1:{cfg.port('flask')}/nta/rest",
        "DJANGO_SECRET_KEY": django_secret_key(cfg.state_dir),
        "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
        "NTA_MAX_UPLOAD_MB": str(cfg.max_upload_mb),
        "NTA_JOB_LEASE_SECONDS": f"{cfg.lease_seconds:g}",
        "NTA_TEMPLATE_RELOAD": "1",  # Django re-reads templates on each request (gunicorn --reload sees only .py)
        "PYTHONUNBUFFERED": "1",
        **cfg.extra_env,
    }


def render_nginx_conf(cfg: StackConfig) -> str:
    template = string.Template((cfg.nginx_dir / "nginx.conf.template").read_text())
    static = cfg.source_root / "services" / "django" / "src" / "nta_web" / "static"
    # safe_substitute leaves nginx's own $variables alone, as envsubst with a variable list does in the image.
    return template.safe_substitute(
        NTA_LISTEN_PORT=cfg.port("nginx"), NTA_DJANGO_UPSTREAM=f"127.0.0.1:{cfg.port('django')}",
        NTA_FLASK_UPSTREAM=f"127.0.0.1:{cfg.port('flask')}", NTA_DASK_UPSTREAM=f"127.0.0.1:{cfg.port('dashboard')}",
        NTA_STATIC_ROOT=str(static), NTA_ERROR_ROOT=str(cfg.nginx_dir / "errors"),
        NTA_MAX_UPLOAD_MB=cfg.max_upload_mb, NTA_RUN_DIR=str(cfg.state_dir / "nginx"),
        # Switches, as docker-entrypoint.sh defaults them; extra_env sets them like a ConfigMap would.
        NTA_DASK_DASHBOARD=_switch(cfg, "NTA_DASK_DASHBOARD"),
        NTA_TRUST_FORWARDED_PROTO=_switch(cfg, "NTA_TRUST_FORWARDED_PROTO"),
    )  # fmt: skip


def _switch(cfg: StackConfig, name: str) -> str:
    # The environment too: the re-render on a template change (--render-nginx) runs with the stack's environment.
    # Default: the ConfigMap's value, as for every other setting (environment()).
    value = cfg.extra_env.get(name) or os.environ.get(name) or manifests.config()[name]
    if value not in ("on", "off"):
        raise StackError(f"{name} must be on or off, got {value!r}")
    return value


def write_nginx_conf(cfg: StackConfig) -> Path:
    run_dir = cfg.state_dir / "nginx"
    run_dir.mkdir(parents=True, exist_ok=True)
    path = cfg.state_dir / "nginx.conf"
    path.write_text(render_nginx_conf(cfg))
    return path


def _restarted_on_dependency_change(cfg: StackConfig, command: str, *services: str) -> str:
    """`command` under `watchmedo auto-restart`: the whole process restarts (not a reload) when it dies, when a
    pyproject.toml of `services` changes, or when a package is installed into or removed from the venv (a
    *.dist-info folder comes or goes). A master that preloaded libraries must never fork from stale ones."""
    folders = [cfg.source_root / "services" / s for s in services] + [Path(sysconfig.get_paths()["purelib"])]
    watched = " ".join(f"--directory {shlex.quote(str(folder))}" for folder in folders)
    # --kill-after below honcho's KILL_WAIT (5 s): watchmedo must kill a slow child (a Dask worker under debugpy
    # hangs in its close) before honcho kills watchmedo, or the child outlives it and holds honcho's output pipe
    # open, and stopping the stack waits out BackgroundStack's 30 s (measured).
    return (f"{_venv_bin('watchmedo')} auto-restart {watched} --patterns '**/pyproject.toml;**/*.dist-info' "
            f"--signal SIGTERM --kill-after 3 -- {command}")


def processes(cfg: StackConfig) -> dict[str, str]:
    """Process name -> shell command (honcho runs each in its own process group).

    One gunicorn worker with threads each, and one Dask worker process without a nanny: on 2 cores a reload then
    re-imports one process, not two, and watchmedo restarts a worker that died.
    """
    py = shlex.quote(sys.executable)
    nginx_conf = shlex.quote(str(cfg.state_dir / "nginx.conf"))
    scheduler = f"tcp://127.0.0.1:{cfg.port('scheduler')}"
    # Started as root, nginx workers drop to 'nobody', who cannot use a private state dir (pytest's tmp dirs are
    # 0700) for request bodies; every other local process runs as this user anyway.
    nginx_user = " user root;" if os.geteuid() == 0 else ""
    reload_nginx = (f"{py} -m nta_dev.stack.local --port-offset {cfg.port_offset} --state-dir "
                    f"{shlex.quote(str(cfg.state_dir))} --source-root {shlex.quote(str(cfg.source_root))} "
                    f"--max-upload-mb {cfg.max_upload_mb} --render-nginx "
                    f"&& {NGINX_BIN} -c {nginx_conf} -s reload")  # fmt: skip
    # The dev server's flags are in its config module (nta_devserver.gunicorn), as in the dev images' CMD.
    gunicorn = _venv_bin("gunicorn")
    flask = f"{gunicorn} -c python:nta_api.gunicorn_dev -b 127.0.0.1:{cfg.port('flask')} 'nta_api.app:create_app()'"
    django = f"{gunicorn} -c python:nta_web.gunicorn_dev -b 127.0.0.1:{cfg.port('django')} nta_web.wsgi:application"
    worker = shlex.join(dask_worker_argv(cfg, scheduler))
    commands = {
        # Own pid and log files: nx-27017's defaults in /tmp would refuse a second instance (tests, CI).
        "mongo": f"{_venv_bin('nx-27017')} --data-dir {shlex.quote(str(cfg.state_dir / 'mongo'))} "
                 f"--port {cfg.port('mongo')} --pid-file {shlex.quote(str(cfg.state_dir / 'mongo.pid'))} "
                 f"--log-file {shlex.quote(str(cfg.state_dir / 'mongo.log'))}",
        "flask": _restarted_on_dependency_change(cfg, flask, "flask"),
        "django": _restarted_on_dependency_change(cfg, django, "django", "pipeline"),
        "scheduler": shlex.join(dask_scheduler_argv(cfg)),
        "worker": _restarted_on_dependency_change(cfg, worker, "pipeline"),
        "nginx": f"{NGINX_BIN} -c {nginx_conf} -g 'daemon off;{nginx_user}'",
        "nginx-reload": f"{_venv_bin('watchmedo')} shell-command --patterns '**/*.template' --wait --drop "
                        f"--command {shlex.quote(reload_nginx)} {shlex.quote(str(cfg.nginx_dir))}",
    }  # fmt: skip
    prefix = "pycharm:" if cfg.debugger == "pycharm" else ""
    for service in cfg.debug:  # read by nta_devserver.debug
        commands[service] = f"NTA_DEBUG={prefix}127.0.0.1:{cfg.debug_port(service)} {commands[service]}"
    return commands


def set_option(argv: list[str], flag: str, value: str | None = None) -> list[str]:
    """argv with `flag` given `value` (in place of the value it had), or added; value None: a switch, added once."""
    if flag in argv:
        at = argv.index(flag)
        return argv if value is None else [*argv[: at + 1], value, *argv[at + 2 :]]
    return [*argv, flag] if value is None else [*argv, flag, value]


def drop_option(argv: list[str], flag: str) -> list[str]:
    """argv without `flag` and its value."""
    if flag not in argv:
        return argv
    at = argv.index(flag)
    return [*argv[:at], *argv[at + 2 :]]


def dask_scheduler_argv(cfg: StackConfig) -> list[str]:
    """The nta-dask image's CMD (the scheduler as every stack runs it: dashboard prefix, the reaper), with this
    machine's addresses."""
    argv = [_venv_bin("dask"), *dockerfile.cmd(REPO / IMAGES["nta-dask"].dockerfile)[1:]]
    argv = set_option(argv, "--host", "127.0.0.1")
    argv = set_option(argv, "--port", str(cfg.port("scheduler")))
    return set_option(argv, "--dashboard-address", f"127.0.0.1:{cfg.port('dashboard')}")


def dask_worker_argv(cfg: StackConfig, scheduler: str) -> list[str]:
    """The worker Deployment's command with the dev overlay's in-place reloader (nta_dev.kube.manifests), run as
    one local process: no nanny (watchmedo restarts a worker that died), `worker_threads` threads, no dashboard
    (nothing routes to it here), no pod name, scratch files in the state dir."""
    base = manifests.command("nta-dask-worker", "dev")
    if base[:2] != ["dask", "worker"] or not base[2].startswith("tcp://"):
        raise StackError(f"the worker Deployment's command should start `dask worker tcp://...`, got {base[:3]}")
    argv = [_venv_bin("dask"), "worker", scheduler, *base[3:]]
    for flag in ("--dashboard-address", "--name"):
        argv = drop_option(argv, flag)
    argv = set_option(argv, "--nthreads", str(cfg.worker_threads))
    argv = set_option(argv, "--local-directory", str(cfg.state_dir / "dask"))
    return set_option(set_option(argv, "--no-nanny"), "--no-dashboard")


def ports_in_use(cfg: StackConfig) -> list[str]:
    # PyCharm's own debug server listens on its ports: those must be taken, not free
    debuggers = {} if cfg.debugger == "pycharm" else {f"{s} debugger": cfg.debug_port(s) for s in cfg.debug}
    ports = {name: cfg.port(name) for name in PORTS} | debuggers
    return [f"port {port} ({name}) is already in use" for name, port in ports.items() if port_in_use(port)]


def ensure_nginx() -> None:
    """nginx comes from Debian; install it when we may (root), else say how."""
    if Path(NGINX_BIN).exists():
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise StackError("nginx is not installed: run `sudo apt-get install -y nginx`, then `./inv up` again")
    print("nta: installing nginx (apt-get install -y nginx) ...", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "nginx"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise StackError(f"`{' '.join(cmd)}` failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def check_prerequisites(cfg: StackConfig) -> None:
    busy = ports_in_use(cfg)
    if busy:
        raise StackError("; ".join(busy) + ". Stop the other program (or a stack already running: "
                         "`./inv up` in another terminal), or start this one on other ports with "
                         "`./inv up --port-offset 10000`.")  # fmt: skip
    ensure_nginx()
    for module in ("nta_web", "nta_api", "nta_pipeline.runner"):
        try:
            __import__(module)
        except ImportError as exc:
            raise StackError(f"{module} is not importable ({exc}); run `./inv up` (it installs .venv) "
                             "instead of calling this module directly") from exc  # fmt: skip


def health_urls(cfg: StackConfig) -> dict[str, str]:
    base = cfg.base_url
    # With NTA_DASK_DASHBOARD=off nginx answers 404 there: ask the scheduler's dashboard port itself.
    dask = base if _switch(cfg, "NTA_DASK_DASHBOARD") == "on" else f"http://127.0.0.1:{cfg.port('dashboard')}"
    return {service: (dask if service == "dask" else base) + path for service, path in health_paths().items()}


def wait_ready(cfg: StackConfig, timeout: float = 60.0, *, alive: threading.Event | None = None) -> None:
    """Poll every health check through nginx until all answer 200; StackError names the ones that did not."""
    deadline = time.monotonic() + timeout
    pending = dict(health_urls(cfg))
    while pending and time.monotonic() < deadline:
        if alive is not None and not alive.is_set():
            raise StackError("the local stack stopped while starting; see its output above")
        for name, url in list(pending.items()):
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        del pending[name]
            except (urllib.error.URLError, OSError):
                pass
        if pending:
            time.sleep(0.3)
    if pending:
        raise StackError(f"not ready after {timeout:g} s: {', '.join(pending)} ({', '.join(pending.values())})")


def seed_reference(cfg: StackConfig) -> None:
    """Load the shipped reference seed once, so the chemical search finds something out of the box."""
    from pymongo import MongoClient

    from nta_api.reference import COLLECTION, load_reference_csv

    client: MongoClient = MongoClient(cfg.mongo_url, serverSelectionTimeoutMS=10000)
    try:
        db = client["nta"]
        if db[COLLECTION].estimated_document_count() == 0:
            load_reference_csv(db, SEED_CSV)
    finally:
        client.close()


def _announce_when_ready(cfg: StackConfig, manager: object) -> None:
    try:
        wait_ready(cfg, timeout=120)
        seed_reference(cfg)
    except Exception as exc:  # shown, not fatal: the developer sees which service did not come up
        print(f"\nnta: {exc}\n", flush=True)
        return
    url = f"http://localhost:{cfg.port('nginx')}"
    print(f"\n{READY_LINE}: {url}/nta/   (search API {url}/nta/rest/, Dask dashboard {url}/nta/dask/status)"
          "\nnta: edit code and it reloads; Ctrl-C stops everything", flush=True)  # fmt: skip
    for service in cfg.debug:
        if cfg.debugger == "pycharm":
            print(f"nta: debugger for {service}: dials PyCharm's Python Debug Server on 127.0.0.1:"
                  f"{cfg.debug_port(service)} (README \"Debugging\"); breakpoints survive reloads", flush=True)
        else:
            print(f"nta: debugger for {service}: attach a DAP client to 127.0.0.1:{cfg.debug_port(service)} "
                  "(VS Code: \"Python Debugger: Attach\"; README \"Debugging\"); breakpoints survive reloads",
                  flush=True)  # fmt: skip
    print(flush=True)


def free_port_offset(start: int = 20000, stop: int = 30000) -> int:
    """A port offset at which every port of the stack is free (for a second stack beside a developer's)."""
    for offset in range(start, stop, 1000):
        if not ports_in_use(StackConfig(port_offset=offset)):
            return offset
    raise StackError(f"no free port range for the local stack between offsets {start} and {stop}")


class BackgroundStack:
    """The local stack as a child process (tests, benchmarks): `with BackgroundStack(cfg, log) as stack: ...`.

    Waits for the ready line (health checks passed, reference seeded); stopping sends SIGINT to the process
    group, as Ctrl-C does, so honcho stops every process.
    """

    def __init__(self, cfg: StackConfig, log: Path, *, timeout: float = 180.0):
        self.cfg, self.log, self.timeout = cfg, log, timeout
        self.process: subprocess.Popen | None = None

    def start(self) -> BackgroundStack:
        cmd = [sys.executable, "-m", "nta_dev.stack.local", "--port-offset", str(self.cfg.port_offset),
               "--state-dir", str(self.cfg.state_dir), "--source-root", str(self.cfg.source_root),
               "--worker-threads", str(self.cfg.worker_threads),
               "--lease-seconds", f"{self.cfg.lease_seconds:g}",
               "--max-upload-mb", str(self.cfg.max_upload_mb),
               *[arg for service in self.cfg.debug for arg in ("--debug", service)],
               "--debugger", self.cfg.debugger]  # fmt: skip
        # extra_env reaches the child's environment, which its processes (and nginx's re-render) inherit.
        env = {**os.environ, **self.cfg.extra_env,
               "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # fmt: skip
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                            env=env, cwd=str(REPO))  # fmt: skip
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if READY_LINE in text:
                return self
            if self.process.poll() is not None or "nta: not ready" in text:
                break
            time.sleep(0.3)
        self.stop()
        output = self.log.read_text(errors="replace")[-6000:]
        raise StackError(f"the local stack did not come up; its output:\n{output}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        family = _descendants(self.process.pid)  # before signalling: orphans are not children any more
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        _kill_all(family + _strays(self.cfg.state_dir))

    def __enter__(self) -> BackgroundStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_local_stack(cfg: StackConfig | None = None) -> int:
    """Run the stack in the foreground until Ctrl-C; returns the exit code."""
    from honcho.manager import Manager

    cfg = cfg or StackConfig()
    check_prerequisites(cfg)
    write_nginx_conf(cfg)
    (cfg.state_dir / "mongo").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **environment(cfg)}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # Ahead of the editable installs, so a --source-root copy is what runs.
    paths = [str(cfg.source_root / d) for d in SRC_DIRS] + [str(REPO / "dev"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
    manager = Manager()
    for name, cmd in processes(cfg).items():
        manager.add_process(name, cmd, env=env, cwd=str(REPO))
    threading.Thread(target=_announce_when_ready, args=(cfg, manager), daemon=True).start()
    family: list = []
    watcher = threading.Thread(target=_track_descendants, args=(family,), daemon=True)
    watcher.start()
    manager.loop()
    _kill_all(family + _strays(cfg.state_dir))
    return manager.returncode or 0


def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _track_descendants(family: list) -> None:
    # watchmedo starts its command in a session of its own; a worker it restarted while honcho was stopping
    # would outlive the stack. Remember every descendant, so the last step can end the stragglers.
    while True:
        family[:] = list({p.pid: p for p in [*family, *_descendants(os.getpid())]}.values())
        time.sleep(2)


def _strays(state_dir: Path) -> list:
    """Processes still naming this stack's state dir (a worker watchmedo restarted while the stack stopped)."""
    import psutil

    me = psutil.Process()
    spared = {me.pid, *(p.pid for p in me.parents())}  # this runner (its own argv names the state dir)
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.pid not in spared and any(str(state_dir) in arg for arg in proc.info["cmdline"] or ()):
            found.append(proc)
    return found


def _kill_all(processes: list) -> None:
    import psutil

    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            if proc.is_running():
                proc.kill()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nta_dev.stack.local", description=__doc__.splitlines()[0])
    parser.add_argument("--port-offset", type=int, default=0, help="add N to every port (nginx 31000+N, ...)")
    parser.add_argument("--state-dir", type=Path, default=REPO / ".local-stack", help="data, logs, rendered config")
    parser.add_argument("--source-root", type=Path, default=REPO, help="run the services' code from this tree")
    parser.add_argument("--worker-threads", type=int, default=2, help="threads of the Dask worker (jobs at once)")
    parser.add_argument("--max-upload-mb", type=int, default=100, help="upload limit of nginx and Django")
    parser.add_argument("--lease-seconds", type=float, default=60.0, help="a job without heartbeat this long fails")
    parser.add_argument("--debug", action="append", default=[], choices=sorted(DEBUG_PORTS),
                        help="run this service under a debugger (repeatable); its port is printed")
    parser.add_argument("--debugger", choices=DEBUGGERS, default="dap",
                        help="dap: debugpy listens (VS Code & co attach); pycharm: dial PyCharm's debug server")
    parser.add_argument("--render-nginx", action="store_true", help="only render the nginx config and exit")
    args = parser.parse_args(argv)
    cfg = StackConfig(port_offset=args.port_offset, state_dir=args.state_dir.resolve(),
                      worker_threads=args.worker_threads, source_root=args.source_root.resolve(),
                      max_upload_mb=args.max_upload_mb, lease_seconds=args.lease_seconds,
                      debug=tuple(args.debug), debugger=args.debugger)  # fmt: skip
    try:
        if args.render_nginx:
            write_nginx_conf(cfg)
            return 0
        return run_local_stack(cfg)
    except StackError as exc:
        print(f"nta: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""Faults and rollouts in the rendered manifests: liveness probes never ask MongoDB (readiness may), the web pods
leave their Service before they stop (preStop), nginx quits gracefully, and every grace period outlasts the
server's own graceful shutdown. Each check also runs on a broken copy, to show it can fail."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from . import invariants as inv
from .conftest import Renderer
from .contract import OVERLAYS

Obj = dict[str, Any]
REPO = Path(__file__).resolve().parents[2]
RENDERED = ("base", *OVERLAYS, "cluster-local")

# Liveness paths that answer without MongoDB: nginx's static /healthz (nginx.conf.template), the apps' ?probe=live
# (nta_web.views.healthz, nta_api.app), Dask's own /health. MongoDB's own liveness pings itself, which is the point.
LIVENESS = {
    "nta-nginx": "/healthz",
    "nta-django": "/nta/healthz?probe=live",
    "nta-flask": "/nta/rest/healthz?probe=live",
    "nta-dask-scheduler": "/nta/dask/health",
    "nta-dask-worker": "/health",
}
READINESS = {"nta-django": "/nta/healthz", "nta-flask": "/nta/rest/healthz"}  # these ping MongoDB
WEB = ("nta-nginx", "nta-django", "nta-flask")  # behind a Service that takes requests in flight
GUNICORN_GRACEFUL_S = 30  # gunicorn's --graceful-timeout default, which the prod images' CMD keeps
MIN_PRESTOP_SLEEP_S = 3  # endpoint removal reaching kube-proxy and nginx takes a few seconds


def _workload(objs: list[Obj], name: str) -> Obj:
    found = [o for o in inv.workloads(objs) if o["metadata"]["name"] == name]
    assert found, f"{name} not rendered"
    return found[0]


def _container(objs: list[Obj], name: str) -> Obj:
    return next(inv.containers(_workload(objs, name), init=False))


def _prestop_command(objs: list[Obj], name: str) -> str:
    hook = ((_container(objs, name).get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}
    return " ".join(hook.get("command") or [])


def _prestop_sleep(objs: list[Obj], name: str) -> float:
    match = re.search(r"\bsleep (\d+(?:\.\d+)?)", _prestop_command(objs, name))
    return float(match.group(1)) if match else 0.0


def _grace(objs: list[Obj], name: str) -> float:
    return float(inv.pod_spec(_workload(objs, name)).get("terminationGracePeriodSeconds", 30))


def check_liveness_without_mongodb(objs: list[Obj]) -> list[str]:
    problems = []
    for name, path in LIVENESS.items():
        probe = _container(objs, name).get("livenessProbe") or {}
        got = (probe.get("httpGet") or {}).get("path")
        if got != path:
            problems.append(f"{name}: liveness probe {got or probe!r}, expected {path} (answers without MongoDB)")
        if name in READINESS and got == READINESS[name]:
            problems.append(f"{name}: liveness is the readiness path {got}, which pings MongoDB")
    for name, path in READINESS.items():
        got = ((_container(objs, name).get("readinessProbe") or {}).get("httpGet") or {}).get("path")
        if got != path:
            problems.append(f"{name}: readiness probe {got!r}, expected {path} (MongoDB reachable)")
    return problems


def check_prestop(objs: list[Obj]) -> list[str]:
    problems = []
    for name in WEB:
        if _prestop_sleep(objs, name) < MIN_PRESTOP_SLEEP_S:
            problems.append(f"{name}: no preStop sleep of >= {MIN_PRESTOP_SLEEP_S} s before SIGTERM "
                            f"(got {_prestop_command(objs, name)!r})")  # fmt: skip
    return problems


def check_nginx_quits_gracefully(objs: list[Obj]) -> list[str]:
    command = _prestop_command(objs, "nta-nginx")
    entrypoint = (REPO / "services/nginx/docker-entrypoint.sh").read_text()
    template = (REPO / "services/nginx/nginx.conf.template").read_text()
    problems = []
    if "-s quit" not in command:
        problems.append(f"nta-nginx: preStop does not quit nginx gracefully (SIGTERM is a fast stop): {command!r}")
    # The hook finds nginx by the same defaults the entrypoint renders with, and waits until it has exited.
    for var in ("NTA_CONF", "NTA_RUN_DIR"):
        default = re.search(rf': "\${{{var}:=([^}}]+)}}"', entrypoint)
        if not default or f"${{{var}:-{default.group(1)}}}" not in command:
            problems.append(f"nta-nginx: preStop does not use {var} with the entrypoint's default")
    if "pid ${NTA_RUN_DIR}/nginx.pid;" not in template or 'nginx.pid" ]' not in command:
        problems.append("nta-nginx: preStop does not wait for nginx's pid file to go (nginx.conf.template's pid)")
    return problems


def check_grace_periods(objs: list[Obj]) -> list[str]:
    problems = []
    for name in ("nta-django", "nta-flask"):
        needed = _prestop_sleep(objs, name) + GUNICORN_GRACEFUL_S
        if _grace(objs, name) <= needed:
            problems.append(f"{name}: terminationGracePeriodSeconds {_grace(objs, name):g} <= preStop sleep + "
                            f"gunicorn's graceful timeout ({needed:g} s)")  # fmt: skip
    apps = max(_grace(objs, "nta-django"), _grace(objs, "nta-flask"))
    if _grace(objs, "nta-nginx") < apps:
        problems.append(f"nta-nginx: grace period {_grace(objs, 'nta-nginx'):g} s is shorter than the apps' "
                        f"({apps:g} s), whose answers it waits for")  # fmt: skip
    return problems


CHECKS = [check_liveness_without_mongodb, check_prestop, check_nginx_quits_gracefully, check_grace_periods]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("overlay", RENDERED)
def test_rollout_and_fault_invariants(rendered: Renderer, overlay: str,
                                      check: Callable[[list[Obj]], list[str]]) -> None:  # fmt: skip
    problems = check(rendered(overlay))
    assert not problems, "\n".join(problems)


def _break(objs: list[Obj], name: str, edit: Callable[[Obj, Obj], None]) -> list[Obj]:
    broken = copy.deepcopy(objs)
    workload = _workload(broken, name)
    edit(inv.pod_spec(workload), next(inv.containers(workload, init=False)))
    return broken


BROKEN = {
    "django liveness asks MongoDB": (check_liveness_without_mongodb, "nta-django",
                                     lambda pod, c: c["livenessProbe"]["httpGet"].update(path="/nta/healthz")),
    "flask liveness over tcp": (check_liveness_without_mongodb, "nta-flask",
                                lambda pod, c: c.update(livenessProbe={"tcpSocket": {"port": "http"}})),
    "flask readiness without MongoDB": (check_liveness_without_mongodb, "nta-flask",
                                        lambda pod, c: c["readinessProbe"]["httpGet"].update(path="/nta/rest/livez")),
    "django without preStop": (check_prestop, "nta-django", lambda pod, c: c.pop("lifecycle")),
    "nginx preStop too short": (check_prestop, "nta-nginx",
                                lambda pod, c: c["lifecycle"]["preStop"]["exec"].update(command=["sleep", "1"])),
    "nginx stops fast": (check_nginx_quits_gracefully, "nta-nginx",
                         lambda pod, c: c["lifecycle"]["preStop"]["exec"].update(command=["sleep", "5"])),
    "flask default grace": (check_grace_periods, "nta-flask", lambda pod, c: pod.pop("terminationGracePeriodSeconds")),
    "nginx shorter grace": (check_grace_periods, "nta-nginx",
                            lambda pod, c: pod.update(terminationGracePeriodSeconds=40)),
}  # fmt: skip


@pytest.mark.parametrize("case", BROKEN)
def test_each_check_catches_a_broken_copy(rendered: Renderer, case: str) -> None:
    check, name, edit = BROKEN[case]
    assert not check(rendered("dev"))
    assert check(_break(rendered("dev"), name, edit)), f"{check.__name__} missed: {case}"

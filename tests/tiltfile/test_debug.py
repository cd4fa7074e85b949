"""`tilt up -- --debug SERVICE`: that workload runs under debugpy and Tilt forwards the debugger's port."""

from __future__ import annotations

import pytest

from .conftest import RunTilt, TiltfileError
from .result import TiltResult

# Stated here, not read from dev/services.yaml: a changed port must show up in a test.
EXPECTED = {"django": ("nta-django", 5678), "flask": ("nta-flask", 5679), "worker": ("nta-dask-worker", 5680)}


def debug_env(result: TiltResult) -> dict[str, str]:
    """Workload -> its NTA_DEBUG value, for the workloads that have one."""
    found = {}
    for name, obj in result.workloads().items():
        for container in obj["spec"]["template"]["spec"]["containers"]:
            for env in container.get("env", []):
                if env["name"] == "NTA_DEBUG":
                    found[name] = env["value"]
    return found


def debug_forwards(result: TiltResult) -> dict[str, list[tuple[int, int]]]:
    return {name: [f for f in m.port_forwards if f[0] in {p for _, p in EXPECTED.values()}]
            for name, m in result.manifests.items() if m.port_forwards}


def test_no_debugger_unless_asked(result: TiltResult) -> None:
    assert debug_env(result) == {}
    assert all(not forwards for forwards in debug_forwards(result).values())


@pytest.mark.parametrize("service", sorted(EXPECTED))
def test_debug_one_service(run_tilt: RunTilt, service: str) -> None:
    workload, port = EXPECTED[service]
    result = run_tilt(args=["--debug", service])
    assert debug_env(result) == {workload: f"0.0.0.0:{port}"}
    assert debug_forwards(result)[workload] == [(port, port)]
    assert f"nta: debugpy in {service} (attach a DAP client to localhost:{port})" in result.log


def test_debug_two_services_with_a_subset(run_tilt: RunTilt) -> None:
    result = run_tilt(args=["web", "--debug", "django", "--debug", "worker"])
    assert debug_env(result) == {"nta-django": "0.0.0.0:5678", "nta-dask-worker": "0.0.0.0:5680"}
    assert "nta-django" in result.enabled


def test_unknown_debug_service_fails(run_tilt: RunTilt) -> None:
    with pytest.raises(TiltfileError) as failure:
        run_tilt(args=["--debug", "nginx"])
    assert 'Unknown service "nginx" in `--debug`' in failure.value.stderr
    assert "django, flask, worker" in failure.value.stderr

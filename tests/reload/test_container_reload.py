"""Live update into the running dev containers (Tilt's way: a tar stream through `docker exec`, then the run
step): Django, Flask, the Dask worker and nginx serve the change without a new container or a new master process.

Images are built by the images layer's code (nta_dev.images.build.build, cached); a missing Docker engine skips these
tests locally and fails them in CI. Bounds are generous; benchmarks/bench_reload.py prints the real timings.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator

import pytest

from nta_dev.images.build import IMAGES, MONGO_STANDIN, REPO, build
from nta_dev.stack.containers import ContainerStack, start_container_stack
from tests.fixtures.livesync import LiveSyncError, NeedsRebuild, container_deliver, exec_in, live_update, tilt_rules
from tests.fixtures.reload import EDITS, dask_probe, http_probe, measure

BOUND_S = 30.0
pytestmark = pytest.mark.filterwarnings("ignore:Mismatched versions found")  # host vs image Python patch level


@pytest.fixture(scope="module")
def stack(docker_client, base_image: str) -> Iterator[ContainerStack]:
    for spec in [*IMAGES.values(), MONGO_STANDIN]:
        build(spec, "dev" if "dev" in spec.targets else None, base_image=base_image, client=docker_client)
    running = start_container_stack("dev", seed=False)
    try:
        yield running
    finally:
        running.stop()


def identity(stack: ContainerStack) -> dict[str, tuple]:
    """What a container restart or re-creation would change, for every container of the stack."""
    state = {}
    for service, container in stack.containers.items():
        container.reload()
        s = container.attrs["State"]
        state[service] = (container.id, s["StartedAt"], container.attrs["RestartCount"], s["Pid"], s["Status"])
    return state


def processes(container) -> list[dict[str, str]]:
    """`docker top`: host pids, parents and command lines of the container's processes."""
    top = container.top(ps_args="-eo pid,ppid,args")
    return [dict(zip(["PID", "PPID", "CMD"], row, strict=True)) for row in top["Processes"]]


def gunicorn(container) -> tuple[str, set[str]]:
    """(master pid, worker pids): the master is the gunicorn whose parent is not a gunicorn."""
    procs = [p for p in processes(container) if "bin/gunicorn" in p["CMD"]]
    pids = {p["PID"] for p in procs}
    masters = [p["PID"] for p in procs if p["PPID"] not in pids]
    assert len(masters) == 1, procs
    return masters[0], pids - set(masters)


def task_pids(scheduler: str) -> set[int]:
    """The pids of the processes that run tasks (the nanny's child, not `dask worker` itself)."""
    from distributed import Client

    with Client(scheduler, timeout=10, set_as_default=False) as client:
        return set(client.run(os.getpid).values())


def restore(stack: ContainerStack, path: str) -> None:
    container_deliver(stack.containers.values())(path, (REPO / path).read_bytes())


@pytest.mark.parametrize("service", ["django", "flask"])
def test_a_synced_file_is_served_by_a_new_gunicorn_worker_not_a_new_master(stack: ContainerStack,
                                                                             service: str) -> None:  # fmt: skip
    edit = EDITS[service]
    container = stack.containers[service]
    before, (master, workers) = identity(stack), gunicorn(container)
    try:
        seconds = measure(edit, (REPO / edit.path).read_text(), container_deliver(stack.containers.values()),
                          http_probe(stack.base_url, service), timeout=BOUND_S)  # fmt: skip
        print(f"\n{service}: change served {seconds:.2f} s after the sync started")
        assert identity(stack) == before  # no container was restarted or re-created
        new_master, new_workers = gunicorn(container)
        assert new_master == master  # gunicorn --reload restarts its worker: the port and master stay up
        assert new_workers and not new_workers & workers
    finally:
        restore(stack, edit.path)


def test_a_pipeline_change_is_reloaded_inside_the_running_worker(stack: ContainerStack) -> None:
    edit = EDITS["worker"]
    scheduler = f"tcp://{stack.address('scheduler')}:8786"
    before, pids = identity(stack), task_pids(scheduler)
    probe, close = dask_probe(scheduler)
    try:
        assert not probe("never-served")  # the probe can fail
        seconds = measure(edit, (REPO / edit.path).read_text(), container_deliver(stack.containers.values()), probe,
                          timeout=BOUND_S)  # fmt: skip
        print(f"\nworker: new code running {seconds:.2f} s after the sync started")
        assert identity(stack) == before
        assert task_pids(scheduler) == pids  # reloaded in place: the same process runs the new code
    finally:
        close()
        restore(stack, edit.path)
    # Tilt syncs services/pipeline/src into every image built from it: Django submits jobs with the same code.
    code, text = exec_in(stack.containers["django"], ["cat", "/app/" + edit.path])
    assert code == 0 and text == (REPO / edit.path).read_text()


def test_an_nginx_config_change_is_rendered_and_reloaded(stack: ContainerStack) -> None:
    edit = EDITS["nginx"]
    before = identity(stack)
    try:
        seconds = measure(edit, (REPO / edit.path).read_text(), container_deliver(stack.containers.values()),
                          http_probe(stack.base_url, "nginx"), timeout=BOUND_S)  # fmt: skip
        print(f"\nnginx: change served {seconds:.2f} s after the sync started")
        assert identity(stack) == before  # `nginx -s reload`: same master, same container
    finally:
        restore(stack, edit.path)


def test_a_broken_nginx_template_fails_the_run_step_and_keeps_serving(stack: ContainerStack) -> None:
    path = "services/nginx/nginx.conf.template"
    broken = (REPO / path).read_text().replace("server {", "server {\n    no_such_directive on;", 1)
    try:
        with pytest.raises(LiveSyncError) as failure:
            live_update(stack.containers["nginx"], {path: broken.encode()})
        assert "nta-nginx-reload" in str(failure.value)
        assert "no_such_directive" in str(failure.value)  # nginx -t's own message reaches the developer
        with urllib.request.urlopen(stack.base_url + "/healthz", timeout=5) as resp:
            assert resp.status == 200  # the running config stays in place
    finally:
        restore(stack, path)


def test_a_failed_tar_step_raises_with_tars_output(stack: ContainerStack) -> None:
    rules = tilt_rules()["nta-flask"]
    # The same rules, pointed at a directory the app user cannot write: tar itself must fail.
    denied = type(rules)(rules.image, rules.only, (("services/flask/src", "/etc/nta-denied"),))
    with pytest.raises(LiveSyncError, match=r"(?s)tar -C / -x -f -` exited with [1-9].*etc/nta-denied: Cannot mkdir"):
        live_update(stack.containers["flask"], {"services/flask/src/nta_api/app.py": b"x = 1\n"}, rules=denied)


def test_every_sync_target_exists_in_the_running_dev_containers(stack: ContainerStack) -> None:
    """The Tiltfile's sync() pairs (the table tests.fixtures.livesync uses) name real paths in the dev images."""
    rules = tilt_rules()
    checked = 0
    for service, container in stack.containers.items():
        image = container.attrs["Config"]["Image"].split(":")[0]
        for local, remote in rules[image].syncs if image in rules else ():
            assert (REPO / local).exists(), local
            code, out = exec_in(container, ["test", "-w", remote])
            assert code == 0, f"{service}: {remote} (sync of {local}) is missing or not writable: {out}"
            checked += 1
    assert checked >= 7


@pytest.mark.parametrize("path, reason", [
    ("services/flask/pyproject.toml", "fall_back_on"),
    ("services/flask/seed/reference_seed.csv", "no sync()"),
])  # fmt: skip
def test_files_tilt_cannot_sync_need_a_rebuild(stack: ContainerStack, path: str, reason: str) -> None:
    with pytest.raises(NeedsRebuild, match=reason):
        live_update(stack.containers["flask"], {path: b"changed\n"})


def test_files_outside_an_images_context_are_not_synced(stack: ContainerStack) -> None:
    assert live_update(stack.containers["flask"], {"services/django/src/nta_web/views.py": b"x = 1\n"}) == []
    with pytest.raises(NeedsRebuild, match="no running container"):
        container_deliver([stack.containers["mongodb"]])("services/flask/src/nta_api/app.py", b"x = 1\n")

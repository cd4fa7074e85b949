"""The real Tiltfile, evaluated by go.starlark.net: what `tilt up` would build, sync, deploy and group."""

from __future__ import annotations

import pytest

from . import checks
from .conftest import TILTFILE, Evaluator
from .fake_tilt import Recording, TiltfileFail

# What the Tiltfile must deploy (the dev overlay's workloads), stated independently of it.
WORKLOADS = {"nta-nginx", "nta-django", "nta-flask", "nta-dask-scheduler", "nta-dask-worker", "nta-mongodb"}
BUILT_IMAGES = {"nta-nginx", "nta-django", "nta-flask", "nta-dask"}


def test_no_extension_loads() -> None:
    checks.check_source(TILTFILE.read_text(encoding="utf-8"))


def test_deploys_the_dev_overlay(recording: Recording) -> None:
    assert set(recording.workloads()) == WORKLOADS
    assert {o["metadata"].get("namespace") for o in recording.k8s_objects if o["kind"] != "Namespace"} == {"nta"}


def test_secrets_env_created_without_the_venv(recording: Recording, scratch_root) -> None:
    # The scratch k8s/ starts without secrets.env and local() ran with a PATH that has no venv.
    assert (scratch_root / "k8s/overlays/dev/secrets.env").is_file()
    assert any(o["kind"] == "Secret" and o["metadata"]["name"] == "nta-secrets" for o in recording.k8s_objects)


def test_every_image_has_a_live_update(recording: Recording) -> None:
    assert set(recording.docker_builds) == BUILT_IMAGES
    assert all(build.target == "dev" for build in recording.docker_builds.values())
    checks.check_images(recording)


def test_sync_paths_exist_inside_context_and_only(recording: Recording) -> None:
    checks.check_live_update_paths(recording)


def test_dockerfiles_have_the_target_and_their_sources(recording: Recording) -> None:
    checks.check_dockerfiles(recording)


def test_resources_name_deployed_workloads(recording: Recording) -> None:
    checks.check_resources(recording)


def test_resource_deps_exist_and_are_acyclic(recording: Recording) -> None:
    checks.check_deps(recording)
    deps = {name: set(r.resource_deps) for name, r in recording.resources.items()}
    # The architecture's order: Mongo before the apps, the scheduler before the workers.
    assert {"nta-mongodb"} <= deps["nta-django"] & deps["nta-flask"] & deps["nta-dask-worker"]
    assert "nta-dask-scheduler" in deps["nta-dask-worker"]


def test_every_resource_has_a_label(recording: Recording) -> None:
    checks.check_labels(recording)
    assert {label for r in recording.resources.values() for label in r.labels} >= {"web", "api", "compute", "data"}


def test_links_and_dashboard_forward(recording: Recording) -> None:
    urls = {link["url"] for r in recording.resources.values() for link in r.links}
    assert {"http://localhost:31000/nta/", "http://localhost:31000/nta/dask/status"} <= urls
    forwards = [(p["local_port"], p["container_port"]) for p in recording.resources["nta-dask-scheduler"].port_forwards]
    assert (8787, 8787) in forwards


def test_test_buttons(recording: Recording) -> None:
    checks.check_buttons(recording)
    assert {r.name for r in recording.resources.values() if r.kind == "local"} >= {"unit-tests"}


def test_synced_processes_reload(recording: Recording) -> None:
    checks.check_process_reload(recording)


@pytest.mark.parametrize("context", ["docker-desktop", "minikube", "nta-local", "kind-nta"])
def test_local_contexts_are_allowed(run_tiltfile: Evaluator, context: str) -> None:
    rec = run_tiltfile(context=context)
    checks.check_contexts(rec)
    # Tilt itself admits kind-*; the others are allowed explicitly.
    assert context in rec.allowed_contexts or context.startswith("kind-")


@pytest.mark.parametrize("context", ["gke_acme_us-east1_prod", "arn:aws:eks:us-east-1:1:cluster/nta", "default"])
def test_remote_contexts_fail_with_a_message(run_tiltfile: Evaluator, context: str) -> None:
    with pytest.raises(TiltfileFail) as failure:
        run_tiltfile(context=context)
    assert context in str(failure.value) and "local" in str(failure.value)


def test_all_resources_run_without_args(recording: Recording) -> None:
    assert recording.enabled_resources is None


def _expected(rec: Recording, args: list[str]) -> set[str]:
    """Resources carrying one of the labels (or named), the test buttons, and what they start after."""
    chosen = {n for n, r in rec.resources.items() if n in args or set(r.labels) & set(args) or "tests" in r.labels}
    return checks.dependency_closure(rec, chosen)


@pytest.mark.parametrize("args", [["web", "api"], ["api"], ["compute"], ["data"], ["nta-flask"], ["web"]])
def test_subset_by_label_or_name(run_tiltfile: Evaluator, recording: Recording, args: list[str]) -> None:
    rec = run_tiltfile(args=args)
    checks.check_enabled(rec)
    assert set(rec.enabled_resources) == _expected(recording, args)
    assert len(rec.enabled_resources) < len(recording.resources)


def test_web_api_subset_leaves_the_worker_out(run_tiltfile: Evaluator) -> None:
    enabled = set(run_tiltfile(args=["web", "api"]).enabled_resources)
    assert {"nta-nginx", "nta-django", "nta-flask", "nta-mongodb"} <= enabled
    assert "nta-dask-worker" not in enabled


def test_unknown_subset_name_fails(run_tiltfile: Evaluator) -> None:
    with pytest.raises(TiltfileFail, match="'?\"?webb"):
        run_tiltfile(args=["webb"])

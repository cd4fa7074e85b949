"""The real Tiltfile, evaluated by the real Tilt on docker-desktop: what `tilt up` would build, sync, deploy, group."""

from __future__ import annotations

from pathlib import Path

from . import checks
from .conftest import REPO_ROOT, TILTFILE
from .result import TRIGGER_MODE_AUTO, TRIGGER_MODE_MANUAL, TiltResult

# What the Tiltfile must deploy (the dev overlay's workloads) and build, stated independently of it.
WORKLOADS = {"nta-nginx", "nta-django", "nta-flask", "nta-dask-scheduler", "nta-dask-worker", "nta-mongodb"}
BUILT_IMAGES = {"nta-nginx", "nta-django", "nta-flask", "nta-dask"}
LABELS = {"web", "api", "compute", "data", "tests"}
BUTTONS = {"unit-tests", "e2e-tests"}


def test_no_extension_loads() -> None:
    checks.check_source(TILTFILE.read_text(encoding="utf-8"))


def test_deploys_the_dev_overlay(result: TiltResult) -> None:
    assert set(result.workloads()) == WORKLOADS
    assert {o["metadata"].get("namespace") for o in result.objects() if o["kind"] != "Namespace"} == {"nta"}
    assert "nta: context docker-desktop -> deploying k8s/overlays/dev" in result.log


def test_secrets_env_created_without_the_venv(result: TiltResult, scratch_root: Path) -> None:
    # The scratch k8s/ starts without secrets.env and Tilt ran with a PATH that has no venv.
    assert (scratch_root / "k8s/overlays/dev/secrets.env").is_file()
    assert [o["metadata"]["name"] for o in result.objects() if o["kind"] == "Secret"] == ["nta-secrets"]


def test_every_image_is_built_for_dev_with_a_live_update_and_none_unused(result: TiltResult) -> None:
    assert set(result.images()) == BUILT_IMAGES
    assert {t.target for t in result.images().values()} == {"dev"}
    checks.check_images(result)
    checks.check_warnings(result)  # Tilt's "Image not used" names a build no container uses


def test_build_context_filters(result: TiltResult) -> None:
    """Tilt narrows each context by only= and by the repo's .dockerignore, which the sync checks rely on."""
    flask = result.images()["nta-flask"]
    assert flask.context == result.root
    assert flask.only == ["services/flask", "services/pipeline", "services/devserver", "services/requirements.py"]
    assert any(d.is_dockerignore for d in flask.ignores)


def test_sync_paths_exist_inside_context_and_only(result: TiltResult) -> None:
    checks.check_live_update_paths(result)


def test_nginx_reloads_after_a_config_sync(result: TiltResult) -> None:
    execs = result.images()["nta-nginx"].live_update.execs
    assert [(e.args[-1], e.trigger_paths) for e in execs] == [
        ("nta-nginx-reload", ["services/nginx/nginx.conf.template"])]


def test_dockerfiles_have_the_target_and_their_sources(result: TiltResult) -> None:
    checks.check_dockerfiles(result)


def test_one_resource_per_workload_and_one_for_the_config(result: TiltResult) -> None:
    checks.check_resources(result)
    assert set(result.manifests) >= WORKLOADS
    # Namespace, config, secret and network policies are one resource, so Tilt leaves nothing "uncategorized".
    assert "uncategorized" not in result.manifests
    kinds = {o["kind"] for o in result.manifests["nta-config"].objects()}
    assert kinds == {"Namespace", "ConfigMap", "Secret", "NetworkPolicy"}
    assert "HorizontalPodAutoscaler" in {o["kind"] for o in result.manifests["nta-dask-worker"].objects()}


def test_resource_deps_exist_are_acyclic_and_follow_the_architecture(result: TiltResult) -> None:
    checks.check_deps(result)
    deps = {name: checks.dependency_closure(result, {name}) - {name} for name in result.manifests}
    # Mongo before the apps, the scheduler before the workers, nginx after its upstreams.
    assert {"nta-mongodb"} <= deps["nta-django"] & deps["nta-flask"] & deps["nta-dask-worker"]
    assert "nta-dask-scheduler" in deps["nta-dask-worker"]
    assert {"nta-django", "nta-flask", "nta-dask-scheduler"} <= deps["nta-nginx"]


def test_every_resource_has_a_label(result: TiltResult) -> None:
    checks.check_labels(result)
    assert {label for m in result.manifests.values() for label in m.labels} == LABELS
    assert all(len(m.labels) == 1 for m in result.manifests.values())


def test_links_and_dashboard_forward(result: TiltResult) -> None:
    urls = {url for m in result.manifests.values() for url in m.links}
    assert {"http://localhost:31000/nta/", "http://localhost:31000/nta/dask/status"} <= urls
    assert (8787, 8787) in result.manifests["nta-dask-scheduler"].port_forwards


def test_test_buttons(result: TiltResult) -> None:
    checks.check_buttons(result, checks.invoke_tasks(REPO_ROOT / "tasks.py"))
    assert {m.name for m in result.manifests.values() if "tests" in m.labels} == BUTTONS
    assert {result.manifests[b].trigger_mode for b in BUTTONS} == {TRIGGER_MODE_MANUAL}
    assert {checks.command_argv(result.manifests[b].cmd)[1] for b in BUTTONS} == {"test", "test-e2e"}
    assert "http://localhost:31000" in result.manifests["e2e-tests"].cmd[-1]  # the stack Tilt brings up


def test_seed_reference_loads_into_flask_on_up(result: TiltResult) -> None:
    seed = result.manifests["seed-reference"]
    assert seed.cmd[:3] == ["kubectl", "--context", "docker-desktop"]
    assert "deploy/nta-flask" in seed.cmd and "nta-load-reference" in seed.cmd
    assert seed.deps == ["nta-flask"] and seed.trigger_mode == TRIGGER_MODE_AUTO


def test_synced_processes_reload(result: TiltResult) -> None:
    checks.check_process_reload(result)


def test_all_resources_run_without_args(result: TiltResult) -> None:
    assert set(result.enabled) == set(result.manifests)


def test_update_checks_are_off(result: TiltResult) -> None:
    assert result.check_updates is False

"""Invariants of the dev loop that real Tilt does not check itself. Each raises TiltfileCheckError naming the fix.

Tilt already refuses what it can see (unknown arguments and resources, cycles, unmet version constraints,
remote contexts without allow_k8s_contexts): those surface as TiltfileError from the runner. What stays here
is what Tilt accepts but what breaks `tilt up` for us later: a sync of a path that does not exist or that the
build context leaves out, a dependency file that never rebuilds, a process that ignores synced code, a button
that runs on start. The expectations come from the stack's conventions (the images' container layout, label
syntax, dependency files, dev/local-contexts.yaml), not from the Tiltfile.
"""

from __future__ import annotations

import ast
import functools
import itertools
import json
import os
import re
import shlex
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import yaml

from tests.fixtures.gunicorn import gunicorn_settings
from tests.manifests.contract import IMAGE_PREFIX

from .result import TRIGGER_MODE_MANUAL, WORKLOAD_KINDS, IgnoreDef, ImageTarget, TiltResult, container_images

# Container layout of the images: Python sources mirrored under /app; nginx's own files.
APP_ROOT = "/app"
NGINX_DESTINATIONS = {
    "services/nginx/nginx.conf.template": "/etc/nginx/nta/nginx.conf.template",
    "services/nginx/errors": "/srv/nta/errors",
    "services/django/src/nta_web/static": "/srv/nta/static",
}
# A change to one of these must rebuild the image (fall_back_on), never be synced.
DEPENDENCY_FILES = ("pyproject.toml", "Dockerfile")
# Images built without live_update: the MongoDB stand-in runs no code of ours, there is nothing to sync.
NOT_LIVE_UPDATED = frozenset({"nta-mongo-standin"})
# Tilt's label syntax (api.html#api.k8s_resource, labels).
LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
# Local resources with this label are buttons: run on demand, never on `tilt up`.
BUTTON_LABEL = "tests"
# Workloads that run no synced code themselves (the scheduler only hands pipeline tasks to the workers).
RELOAD_EXEMPT = frozenset({"nta-dask-scheduler"})
# Tilt's warnings that do not fail the evaluation (tiltfile_state.go), though the dev loop is broken.
TILT_WARNINGS = (
    "Image not used in any",  # a docker_build no deployed container uses: never built
    "specified a dependency on unknown resource",  # resource_deps typo: Tilt drops the dependency
)


class TiltfileCheckError(AssertionError):
    """The Tiltfile evaluated but breaks an invariant of the dev loop."""


@dataclass(frozen=True)
class LocalContexts:
    """dev/local-contexts.yaml: the contexts the toolkit treats as local clusters, and each one's overlay."""

    names: list[str]
    prefixes: list[str]
    overlays: dict[str, str]
    default_overlay: str

    @classmethod
    def load(cls, path: Path) -> LocalContexts:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return cls(names=list(data.get("names") or []), prefixes=list(data.get("prefixes") or []),
                   overlays=dict(data.get("overlays") or {}), default_overlay=data.get("default_overlay", ""))

    def is_local(self, context: str) -> bool:
        return context in self.names or context.startswith(tuple(self.prefixes))

    def overlay(self, context: str) -> str:
        return self.overlays.get(context, self.default_overlay)


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _join(base: Path, path: str) -> Path:
    """base/path with `..` resolved lexically (a sync of '../x' lies outside base)."""
    return Path(os.path.normpath(base / path))


def _rel(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)


def check_source(text: str) -> None:
    """No `load('ext://...')`: extensions are cloned from GitHub at run time, which build machines cannot reach."""
    if "ext://" in text:
        raise TiltfileCheckError("the Tiltfile loads an ext:// extension; write the helper into the repo and "
                                 "load() it by path")


def check_context(result: TiltResult, local: LocalContexts) -> None:
    """The Tiltfile evaluated, so it admitted its context: that must be a local cluster."""
    if not local.is_local(result.context):
        raise TiltfileCheckError(f"the Tiltfile accepted the non-local context {result.context!r}: it must fail() "
                                 "for any context not in dev/local-contexts.yaml (names, prefixes)")


def check_warnings(result: TiltResult) -> None:
    """Tilt's warnings that leave the evaluation green: an image never built, a dependency dropped."""
    lines = result.log.splitlines()
    warnings = []
    for i, line in enumerate(lines):
        if any(w in line for w in TILT_WARNINGS):
            # "Image not used in any Kubernetes config:" names the image on the indented lines below it.
            details = [x.strip() for x in itertools.takewhile(lambda x: x.startswith((" ", "\t")), lines[i + 1:])]
            warnings.append(" ".join([line.strip(), *details]))
    if warnings:
        raise TiltfileCheckError(f"Tilt warned: {warnings}; fix the docker_build ref or resource_deps name")


def check_images(result: TiltResult) -> None:
    """Every image of ours the YAML deploys is built, and each build syncs code (no rebuild per change)."""
    deployed = {image for w in result.workloads().values() for image in container_images(w)}
    missing = sorted(i for i in deployed if i.startswith(IMAGE_PREFIX) and i not in result.images())
    if missing:
        raise TiltfileCheckError(f"images {missing} are deployed by the overlay but have no docker_build()")
    for target in result.images().values():
        if target.ref in NOT_LIVE_UPDATED:
            continue
        if target.live_update is None or not target.live_update.syncs:
            raise TiltfileCheckError(f"docker_build({target.ref!r}) has no live_update sync: every change rebuilds")


def _excluded_by(ignores: list[IgnoreDef], path: Path) -> IgnoreDef | None:
    """The first context filter (other than only=) that leaves path out of the build context."""
    try:
        from docker.utils.build import PatternMatcher  # docker's own dockerignore semantics (`!` exceptions, **)
    except ImportError:
        raise TiltfileCheckError("docker SDK missing: `.venv/bin/pip install docker` (root test extra)") from None

    for ignore in ignores:
        if ignore.is_only or not _inside(path, ignore.base_path):
            continue
        relative = path.relative_to(ignore.base_path).as_posix()
        if not ignore.patterns or PatternMatcher(ignore.patterns).matches(relative):
            return ignore
    return None


def _in_only(target: ImageTarget, path: Path) -> bool:
    return not target.only or any(_inside(path, _join(target.context, p)) for p in target.only)


def _check_sync_source(result: TiltResult, target: ImageTarget, source: Path, where: str) -> None:
    if not source.exists():
        raise TiltfileCheckError(f"{where}: {_rel(source, result.root)} does not exist (typo, or moved?)")
    if not _inside(source, target.context):
        raise TiltfileCheckError(f"{where}: source lies outside the build context {target.context}")
    if not _in_only(target, source):
        raise TiltfileCheckError(f"{where}: source lies outside only={target.only} (Tilt would never see its changes)")
    ignore = _excluded_by(target.ignores, source)
    if ignore is not None:
        what = f"{ignore.base_path.name}/.dockerignore" if ignore.is_dockerignore else f"the filter {ignore.patterns}"
        raise TiltfileCheckError(f"{where}: {what} excludes the source, so Tilt never syncs it; re-include it "
                                 "(`!path` in .dockerignore, or drop it from ignore=)")


def check_live_update_paths(result: TiltResult) -> None:
    """Sync sources exist in the context and only=; destinations follow the container layout; deps rebuild."""
    for target in result.images().values():
        lu = target.live_update
        if lu is None:
            continue
        fallback = {_join(lu.base_path, f) for f in lu.stop_paths}
        for path in sorted(fallback):
            if not path.exists() or not _inside(path, target.context) or not _in_only(target, path):
                raise TiltfileCheckError(f"docker_build({target.ref!r}): fall_back_on path "
                                         f"{_rel(path, lu.base_path)} must exist inside the build context "
                                         "and only=")
        synced: list[Path] = []
        for sync in lu.syncs:
            where = f"docker_build({target.ref!r}): sync({sync.local_path!r}, {sync.container_path!r})"
            source = _join(lu.base_path, sync.local_path)
            _check_sync_source(result, target, source, where)
            relative = Path(_rel(source, result.root)).as_posix()
            allowed = {f"{APP_ROOT}/{relative}", NGINX_DESTINATIONS.get(relative)} - {None}
            if sync.container_path not in allowed:
                raise TiltfileCheckError(f"{where}: destination must be {sorted(allowed)} (the images' container "
                                         "layout)")
            synced.append(source)
        for run in lu.execs:
            for trigger in run.trigger_paths:
                if not any(_inside(_join(lu.base_path, trigger), s) for s in synced):
                    raise TiltfileCheckError(f"docker_build({target.ref!r}): run trigger {trigger!r} is not synced")
        for only in target.only:
            folder = _join(target.context, only)
            for dep in sorted(d for name in DEPENDENCY_FILES for d in folder.rglob(name)) if folder.is_dir() else []:
                if not any(_inside(dep, f) for f in fallback):  # a folder in fall_back_on covers its files
                    raise TiltfileCheckError(f"docker_build({target.ref!r}): {_rel(dep, result.root)} is in "
                                             "only= but not in fall_back_on: a dependency change must rebuild")


def dockerfile_sources(text: str) -> list[str]:
    """Context paths that COPY/ADD instructions read (not those copying --from another stage), in order."""
    sources: list[str] = []
    for line in re.sub(r"\\\r?\n", " ", text).splitlines():
        match = re.match(r"(?i)^\s*(?:COPY|ADD)\s+(.*)$", line)
        if not match:
            continue
        flags = re.match(r"^((?:--\S+\s+)*)(.*)$", match.group(1).strip())
        if "--from" in flags.group(1):
            continue
        rest = flags.group(2).strip()
        args = json.loads(rest) if rest.startswith("[") else shlex.split(rest)
        sources += args[:-1]
    return sources


def dockerfile_stages(text: str) -> list[str]:
    return [m.lower() for m in re.findall(r"(?im)^\s*FROM\s+\S+(?:\s+AS\s+(\S+))?", text) if m]


def check_dockerfiles(result: TiltResult) -> None:
    """The Dockerfile Tilt read has the target stage, and every COPY source is sent in the narrowed context."""
    for target in result.images().values():
        stages = dockerfile_stages(target.dockerfile)
        if target.target and target.target.lower() not in stages:
            raise TiltfileCheckError(f"docker_build({target.ref!r}): the Dockerfile has no stage "
                                     f"`AS {target.target}` (stages: {stages})")
        for source in dockerfile_sources(target.dockerfile):
            fixed = Path(re.split(r"[*?\[]", source, maxsplit=1)[0].rstrip("/") or ".")
            overlaps = any(_inside(fixed, Path(p)) or _inside(Path(p), fixed) for p in target.only)
            if target.only and not overlaps:
                raise TiltfileCheckError(f"docker_build({target.ref!r}): the Dockerfile copies {source!r}, which "
                                         f"only={target.only} leaves out of the context")


def check_resources(result: TiltResult) -> None:
    """Each workload is a resource of its own (its logs, status and deps apart from the others')."""
    for manifest in result.manifests.values():
        workloads = [o["metadata"]["name"] for o in manifest.objects() if o.get("kind") in WORKLOAD_KINDS]
        if len(workloads) > 1:
            raise TiltfileCheckError(f"resource {manifest.name!r} deploys workloads {workloads}: one resource per "
                                     "workload (k8s_resource(objects=...) only for non-workload objects)")


def check_deps(result: TiltResult) -> None:
    """resource_deps name resources and form no cycle (the closure of a subset assumes both)."""
    graph = {name: set(m.deps) for name, m in result.manifests.items()}
    for name, deps in graph.items():
        unknown = sorted(deps - set(graph))
        if unknown:
            raise TiltfileCheckError(f"resource {name!r} depends on unknown resources {unknown}")
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise TiltfileCheckError(f"resource_deps form a cycle: {' -> '.join(exc.args[1])}") from None


def dependency_closure(result: TiltResult, names: set[str]) -> set[str]:
    """names and every resource they (transitively) start after."""
    closed: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name not in closed:
            closed.add(name)
            todo += result.manifests[name].deps if name in result.manifests else []
    return closed


def check_labels(result: TiltResult) -> None:
    """Every resource has a label (the UI groups by it; `tilt up -- LABEL` selects by it), in Tilt's syntax.

    Objects no resource claims land in Tilt's "uncategorized" resource, which has no label: this catches it too.
    """
    for manifest in result.manifests.values():
        if not manifest.labels:
            raise TiltfileCheckError(f"resource {manifest.name!r} has no label (the UI groups by label; "
                                     "`tilt up -- LABEL`)")
        bad = [label for label in manifest.labels if not LABEL_RE.match(label)]
        if bad:
            raise TiltfileCheckError(f"resource {manifest.name!r} has invalid labels {bad} (Tilt's label syntax)")


def invoke_tasks(tasks_py: Path) -> dict[str, set[str]]:
    """The @task functions in tasks.py and their options, as invoke spells them on the command line."""
    tree = ast.parse(tasks_py.read_text(encoding="utf-8"))
    tasks: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if isinstance(target, ast.Name) and target.id == "task":
                    params = [a.arg for a in node.args.args[1:] + node.args.kwonlyargs]  # [0] is the Context
                    tasks[node.name.replace("_", "-")] = {"--" + p.replace("_", "-") for p in params}
    return tasks


def command_argv(cmd: list[str]) -> list[str]:
    """A local_resource's command as argv: Tilt runs a string cmd as ["sh", "-c", cmd]."""
    return shlex.split(cmd[2]) if cmd[:2] == ["sh", "-c"] and len(cmd) == 3 else cmd


def check_buttons(result: TiltResult, tasks: dict[str, set[str]]) -> None:
    """Test resources are manual buttons; a local resource's `./inv TASK --option` exists in tasks.py."""
    for manifest in result.manifests.values():
        if not manifest.is_local:
            continue
        if BUTTON_LABEL in manifest.labels and manifest.trigger_mode != TRIGGER_MODE_MANUAL:
            raise TiltfileCheckError(f"local_resource {manifest.name!r} must be a button: auto_init=False, "
                                     "trigger_mode=TRIGGER_MODE_MANUAL")
        argv = command_argv(manifest.cmd or [])
        if argv[:1] != ["./inv"]:
            continue
        task = argv[1] if len(argv) > 1 else ""
        if task not in tasks:
            raise TiltfileCheckError(f"local_resource {manifest.name!r} runs `{shlex.join(argv)}`, but tasks.py "
                                     f"has no such task (tasks: {sorted(tasks)})")
        unknown = [arg.split("=", 1)[0] for arg in argv[2:] if arg.startswith("--")
                   and arg.split("=", 1)[0] not in tasks[task]]
        if unknown:
            raise TiltfileCheckError(f"local_resource {manifest.name!r} runs `{shlex.join(argv)}`, but task {task!r} "
                                     f"has no options {unknown} (options: {sorted(tasks[task])})")


def dockerfile_command(text: str, target: str) -> list[str]:
    """The CMD a stage runs (exec form), following `FROM <stage> AS target` to the stage it extends."""
    stages: dict[str, tuple[str, list[str]]] = {}
    name, parent, cmd = "", "", []
    for line in re.sub(r"\\\r?\n", " ", text).splitlines() + ["FROM end AS __end__"]:
        if m := re.match(r"(?i)^\s*FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line):
            if name:
                stages[name] = (parent, cmd)
            parent, name, cmd = m.group(1).lower(), (m.group(2) or "").lower(), []
        elif m := re.match(r"(?i)^\s*CMD\s+(\[.*\])\s*$", line):
            cmd = json.loads(m.group(1))
    target = target.lower()
    while target in stages and not stages[target][1]:
        target = stages[target][0]
    return stages.get(target, ("", []))[1]


DASK_RELOADER = "nta_devserver.dask"


def _preloads(argv: list[str], module: str) -> bool:
    return any(a == "--preload" and b == module for a, b in zip(argv, argv[1:], strict=False)) and "worker" in argv


@functools.cache
def _gunicorn_reloads(argv: tuple[str, ...]) -> bool:
    """--reload on the command line or `reload = True` in its `-c python:MODULE` config: gunicorn's own reading."""
    return bool(gunicorn_settings(list(argv))["reload"])


def check_process_reload(result: TiltResult) -> None:
    """Each workload whose code is synced picks the change up: gunicorn reloading (--reload, or `reload = True` in
    its config module), a Dask worker with
    `--preload nta_devserver.dask` (which reloads nta_pipeline, synced to services/pipeline/src), or a command
    wrapped in watchmedo."""
    images = result.images()
    for name, obj in result.workloads().items():
        container = obj["spec"]["template"]["spec"]["containers"][0]
        target = images.get(container["image"].rsplit(":", 1)[0])
        if name in RELOAD_EXEMPT or target is None or target.live_update is None:
            continue
        synced = [s.container_path for s in target.live_update.syncs if s.container_path.startswith(f"{APP_ROOT}/")]
        if not synced:
            continue
        # Kubernetes: command replaces the image's ENTRYPOINT (and drops its CMD); args replace the CMD.
        argv = container.get("command", []) + container.get("args", [])
        if not argv:
            argv = dockerfile_command(target.dockerfile, target.target)
        if argv[:1] == ["gunicorn"] and _gunicorn_reloads(tuple(argv)):
            continue
        if _preloads(argv, DASK_RELOADER):
            watched = Path(f"{APP_ROOT}/services/pipeline/src")
        elif argv[:2] == ["watchmedo", "auto-restart"] and "--directory" in argv:
            watched = Path(argv[argv.index("--directory") + 1])
        else:
            raise TiltfileCheckError(f"{name} runs {argv[:3]}..., which ignores synced code: use gunicorn --reload, "
                                     f"`dask worker ... --preload {DASK_RELOADER}`, or wrap it as `watchmedo "
                                     "auto-restart --directory DIR --recursive -- ...` (the dev overlay or the dev "
                                     "target's CMD)")
        if not all(_inside(Path(s), watched) for s in synced):
            raise TiltfileCheckError(f"{name} watches {watched}, but live_update syncs to {synced}")


def check_all(result: TiltResult, local: LocalContexts) -> None:
    """Everything the layer asserts about an evaluated Tiltfile, beyond what Tilt checked itself."""
    check_context(result, local)
    check_images(result)
    check_warnings(result)
    check_live_update_paths(result)
    check_dockerfiles(result)
    check_resources(result)
    check_deps(result)
    check_labels(result)
    check_buttons(result, invoke_tasks(result.root / "tasks.py"))
    check_process_reload(result)

"""Invariants of an evaluated Tiltfile (a fake_tilt.Recording). Each check raises TiltfileCheckError naming the fix.

The expectations come from the stack's conventions (ARCHITECTURE.md, the images' container layout), not from
the Tiltfile: container paths, local context names, label syntax, dependency files.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from tests.manifests.contract import IMAGE_PREFIX

from .fake_tilt import DockerBuild, Recording

# Contexts Tilt may deploy to: local clusters only (kind names its contexts kind-<cluster>).
LOCAL_CONTEXTS = frozenset({"docker-desktop", "minikube", "nta-local"})
LOCAL_CONTEXT_PREFIXES = ("kind-",)
# Container layout of the images: Python sources mirrored under /app; nginx's own files.
APP_ROOT = "/app"
NGINX_DESTINATIONS = {
    "services/nginx/nginx.conf.template": "/etc/nginx/nta/nginx.conf.template",
    "services/nginx/errors": "/srv/nta/errors",
    "services/django/src/nta_web/static": "/srv/nta/static",
}
# A change to one of these must rebuild the image (fall_back_on), never be synced.
DEPENDENCY_FILES = ("pyproject.toml", "Dockerfile")
# Tilt's label syntax (api.html#api.k8s_resource, labels).
LABEL_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
# Workloads that run no synced code themselves (the scheduler only hands pipeline tasks to the workers).
RELOAD_EXEMPT = {"nta-dask-scheduler"}


class TiltfileCheckError(AssertionError):
    """The Tiltfile evaluated but breaks an invariant of the dev loop."""


def _rel(rec: Recording, path: str | Path) -> str:
    return Path(path).relative_to(rec.root).as_posix() if Path(path).is_absolute() else str(path)


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def check_source(text: str) -> None:
    """No `load('ext://...')`: extensions are cloned from GitHub at run time."""
    if "ext://" in text:
        raise TiltfileCheckError("the Tiltfile loads an ext:// extension; write the helper in the repo (dev/tilt/)")


def check_contexts(rec: Recording) -> None:
    remote = [c for c in rec.allowed_contexts if c not in LOCAL_CONTEXTS and not c.startswith(LOCAL_CONTEXT_PREFIXES)]
    if remote:
        raise TiltfileCheckError(f"allow_k8s_contexts admits non-local contexts {remote}; only "
                                 f"{sorted(LOCAL_CONTEXTS)} and kind-* may be allowed")


def _images(rec: Recording) -> dict[str, list[str]]:
    """Image name (without tag) -> workloads using it, from the rendered YAML the Tiltfile deployed."""
    used: dict[str, list[str]] = {}
    for name, obj in rec.workloads().items():
        spec = obj["spec"]["template"]["spec"] if "template" in obj.get("spec", {}) else obj.get("spec", {})
        for container in spec.get("initContainers", []) + spec.get("containers", []):
            used.setdefault(container["image"].rsplit(":", 1)[0], []).append(name)
    return used


def check_images(rec: Recording) -> None:
    """Every image of ours in the overlay is built by docker_build with a live_update that syncs; none is unused."""
    used = _images(rec)
    ours = {image for image in used if image.startswith(IMAGE_PREFIX)}
    missing = sorted(ours - set(rec.docker_builds))
    if missing:
        raise TiltfileCheckError(f"images {missing} are deployed by the overlay but have no docker_build()")
    unused = sorted(set(rec.docker_builds) - set(used))
    if unused:
        raise TiltfileCheckError(f"docker_build refs {unused} match no container image in the deployed YAML")
    for build in rec.docker_builds.values():
        if not any(step.kind == "sync" for step in build.live_update):
            raise TiltfileCheckError(f"docker_build({build.ref!r}) has no live_update sync: every change rebuilds")


def _in_only(build: DockerBuild, path: Path) -> bool:
    return not build.only or any(_inside(path, Path(p)) for p in build.only)


def check_live_update_paths(rec: Recording) -> None:
    """Sync sources exist inside the context and only=; destinations follow the container layout; deps rebuild."""
    for build in rec.docker_builds.values():
        context = Path(build.context)
        fallback: set[Path] = set()
        synced: list[Path] = []
        for step in build.live_update:
            if step.kind == "fall_back_on":
                for f in step.files:
                    path = Path(rec.root, f).absolute()
                    if not path.exists() or not _inside(path, context) or not _in_only(build, path):
                        raise TiltfileCheckError(f"docker_build({build.ref!r}): fall_back_on path {f!r} must exist "
                                                 f"inside the build context and only=")
                    fallback.add(path)
            elif step.kind == "sync":
                source = Path(rec.root, step.local_path).absolute()
                where = f"docker_build({build.ref!r}): sync({step.local_path!r}, {step.remote_path!r})"
                if not source.exists():
                    raise TiltfileCheckError(f"{where}: {step.local_path!r} does not exist (typo, or moved?)")
                if not _inside(source, context):
                    raise TiltfileCheckError(f"{where}: source lies outside the build context {build.context}")
                if not _in_only(build, source):
                    raise TiltfileCheckError(f"{where}: source lies outside only={[_rel(rec, p) for p in build.only]}"
                                             " (Tilt would never see its changes)")
                relative = _rel(rec, source)
                if _dockerignored(context, source):
                    raise TiltfileCheckError(f"{where}: {context.name}/.dockerignore excludes the source, so Tilt "
                                             "never syncs it; re-include it there (`!path`)")
                allowed = {f"{APP_ROOT}/{relative}", NGINX_DESTINATIONS.get(relative)}
                if step.remote_path not in allowed:
                    raise TiltfileCheckError(f"{where}: destination must be {sorted(a for a in allowed if a)} "
                                             "(the images' container layout)")
                synced.append(source)
            elif step.kind == "run":
                for t in step.trigger:
                    path = Path(rec.root, t).absolute()
                    if not any(_inside(path, s) for s in synced):
                        raise TiltfileCheckError(f"docker_build({build.ref!r}): run trigger {t!r} is not synced")
        for only in build.only:
            for name in DEPENDENCY_FILES:
                for dep in Path(only).rglob(name) if Path(only).is_dir() else []:
                    if dep.absolute() not in fallback:
                        raise TiltfileCheckError(f"docker_build({build.ref!r}): {_rel(rec, dep)} is in only= but not "
                                                 "in fall_back_on: a dependency change must rebuild the image")


def _dockerignored(context: Path, path: Path) -> bool:
    """Whether the context's .dockerignore excludes path: Tilt neither builds nor syncs such files."""
    ignore_file = context / ".dockerignore"
    if not ignore_file.is_file():
        return False
    try:
        from docker.utils.build import PatternMatcher  # docker's own dockerignore semantics (`!` exceptions, **)
    except ImportError:
        raise TiltfileCheckError("docker SDK missing: `.venv/bin/pip install docker` (root test extra)") from None

    lines = ignore_file.read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    return PatternMatcher(patterns).matches(path.relative_to(context).as_posix())


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


def check_dockerfiles(rec: Recording) -> None:
    """The Dockerfile exists, has the target stage, and every COPY source is sent in the narrowed context."""
    for build in rec.docker_builds.values():
        dockerfile = Path(build.dockerfile)
        if not dockerfile.is_file():
            raise TiltfileCheckError(f"docker_build({build.ref!r}): {_rel(rec, dockerfile)} does not exist")
        text = dockerfile.read_text(encoding="utf-8")
        if build.target and build.target.lower() not in dockerfile_stages(text):
            raise TiltfileCheckError(f"docker_build({build.ref!r}): {_rel(rec, dockerfile)} has no stage "
                                     f"`AS {build.target}` (stages: {dockerfile_stages(text)})")
        for source in dockerfile_sources(text):
            fixed = re.split(r"[*?\[]", source, maxsplit=1)[0].rstrip("/") or "."
            path = Path(build.context, fixed).absolute()
            overlaps = any(_inside(path, Path(p)) or _inside(Path(p), path) for p in build.only)
            if build.only and not overlaps:
                raise TiltfileCheckError(f"docker_build({build.ref!r}): {_rel(rec, dockerfile)} copies {source!r}, "
                                         f"which only={[_rel(rec, p) for p in build.only]} leaves out of the context")


def check_resources(rec: Recording) -> None:
    """One k8s_resource per workload of the deployed YAML, each naming a workload that exists."""
    workloads = rec.workloads()
    k8s = {r.name: r for r in rec.resources.values() if r.kind == "k8s"}
    unknown = sorted(name for name, r in k8s.items() if (r.cmd.removeprefix("workload:") or name) not in workloads)
    if unknown:
        raise TiltfileCheckError(f"k8s_resource names {unknown}, which are not workloads of the deployed YAML "
                                 f"(workloads: {sorted(workloads)})")
    unconfigured = sorted(set(workloads) - {r.cmd.removeprefix("workload:") or n for n, r in k8s.items()})
    if unconfigured:
        raise TiltfileCheckError(f"workloads {unconfigured} have no k8s_resource (labels, deps)")


def check_deps(rec: Recording) -> None:
    graph = {name: set(r.resource_deps) for name, r in rec.resources.items()}
    for name, deps in graph.items():
        unknown = sorted(deps - set(graph))
        if unknown:
            raise TiltfileCheckError(f"resource {name!r} depends on unknown resources {unknown}")
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise TiltfileCheckError(f"resource_deps form a cycle: {' -> '.join(exc.args[1])}") from None


def check_labels(rec: Recording) -> None:
    for r in rec.resources.values():
        if not r.labels:
            raise TiltfileCheckError(f"resource {r.name!r} has no label (the UI groups by label; `tilt up -- LABEL`)")
        bad = [label for label in r.labels if not LABEL_RE.match(label)]
        if bad:
            raise TiltfileCheckError(f"resource {r.name!r} has invalid labels {bad} (Tilt's label syntax)")


def dependency_closure(rec: Recording, names: set[str]) -> set[str]:
    closed, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in closed:
            closed.add(name)
            todo += rec.resources[name].resource_deps if name in rec.resources else []
    return closed


def check_enabled(rec: Recording) -> None:
    """config.set_enabled_resources names real resources and includes what they start after."""
    if rec.enabled_resources is None:
        return
    enabled = set(rec.enabled_resources)
    unknown = sorted(enabled - set(rec.resources))
    if unknown:
        raise TiltfileCheckError(f"set_enabled_resources names unknown resources {unknown}")
    missing = sorted(dependency_closure(rec, enabled) - enabled)
    if missing:
        raise TiltfileCheckError(f"enabled resources depend on disabled {missing}: they would wait forever")


def invoke_tasks(tasks_py: Path) -> set[str]:
    """Names of the @task functions in tasks.py, as invoke spells them on the command line."""
    tree = ast.parse(tasks_py.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for dec in node.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if isinstance(target, ast.Name) and target.id == "task":
                    names.add(node.name.replace("_", "-"))
    return names


def check_buttons(rec: Recording) -> None:
    """Local test resources are manual buttons whose `./inv TASK` exists in tasks.py."""
    tasks = invoke_tasks(rec.root / "tasks.py")
    for r in rec.resources.values():
        if r.kind != "local":
            continue
        if r.auto_init or r.trigger_mode != "manual":
            raise TiltfileCheckError(f"local_resource {r.name!r} must be a button: auto_init=False, "
                                     "trigger_mode=TRIGGER_MODE_MANUAL")
        argv = shlex.split(r.cmd) if isinstance(r.cmd, str) else r.cmd
        if argv[0] == "./inv" and argv[1] not in tasks:
            raise TiltfileCheckError(f"local_resource {r.name!r} runs `./inv {argv[1]}`, which tasks.py does not "
                                     f"define (tasks: {sorted(tasks)})")


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


def check_process_reload(rec: Recording) -> None:
    """Each workload whose code is synced picks the change up: gunicorn --reload, or wrapped in watchmedo."""
    for name, obj in rec.workloads().items():
        if name in RELOAD_EXEMPT:
            continue
        container = obj["spec"]["template"]["spec"]["containers"][0]
        build = rec.docker_builds.get(container["image"].rsplit(":", 1)[0])
        synced = [s.remote_path for s in build.live_update if s.kind == "sync"] if build else []
        if not any(path.startswith(f"{APP_ROOT}/") for path in synced):
            continue
        image_cmd = dockerfile_command(Path(build.dockerfile).read_text(encoding="utf-8"), build.target)
        argv = [*container.get("command", image_cmd), *container.get("args", [])]
        if "--reload" in argv:
            continue
        if argv[:2] != ["watchmedo", "auto-restart"] or "--directory" not in argv:
            raise TiltfileCheckError(f"{name} runs {argv[:3]}..., which ignores synced code: use gunicorn --reload, "
                                     "or wrap it as `watchmedo auto-restart --directory DIR --recursive -- ...` "
                                     "(the dev overlay or the dev target's CMD)")
        watched = Path(argv[argv.index("--directory") + 1])
        if not all(_inside(Path(s), watched) for s in synced if s.startswith(f"{APP_ROOT}/")):
            raise TiltfileCheckError(f"{name} watches {watched}, but live_update syncs to {synced}")


ALL_CHECKS = (check_contexts, check_images, check_live_update_paths, check_dockerfiles, check_resources,
              check_deps, check_labels, check_enabled, check_buttons, check_process_reload)


def check_all(rec: Recording, text: str) -> None:
    check_source(text)
    for check in ALL_CHECKS:
        check(rec)

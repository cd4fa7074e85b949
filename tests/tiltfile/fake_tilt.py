"""A recording implementation of the Tilt built-ins our Tiltfile calls, evaluated by go.starlark.net.

Tilt cannot be installed on the build machines, so the real Tiltfile text runs under the real Starlark
interpreter (``starlark-go``, the Python bindings of go.starlark.net, which Tilt embeds) against Python
functions with the signatures of Tilt's API (https://docs.tilt.dev/api.html, generated from
tilt-dev/tilt internal/tiltfile/api/*.py). Python rejects unknown keyword arguments and missing required
ones exactly like Tilt's ``starlark.UnpackArgs`` does. Side effects are real where they are cheap:
``local()`` runs its command, ``kustomize()`` runs ``kubectl kustomize``, ``read_file()`` reads.

One source transformation is applied: go.starlark.net's bare interpreter has no module values, so
``config.parse`` is rewritten to ``config_parse`` (same length: line and column numbers stay exact).
``load()`` is not available in starlark-go; the Tiltfile does not use it (and ``ext://`` is banned).
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml as pyyaml

# Tilt's module namespaces that the bare interpreter cannot express as values.
MODULES = ("config",)
KUBECTL_FIX = "install kubectl >= 1.27 (it bundles kustomize) and put it on PATH, or set KUBECTL=/path/to/kubectl"


class TiltfileError(Exception):
    """The Tiltfile failed to load, as Tilt would report it (fail(), a bad argument, a failing command)."""


class TiltfileFail(TiltfileError):
    """The Tiltfile called fail(msg)."""


@dataclass
class Step:
    kind: str  # fall_back_on | sync | run | restart_container
    local_path: str = ""
    remote_path: str = ""
    files: list[str] = field(default_factory=list)
    cmd: str | list[str] = ""
    trigger: list[str] = field(default_factory=list)


@dataclass
class DockerBuild:
    ref: str
    context: str  # absolute, normalised
    dockerfile: str  # absolute, normalised
    target: str
    only: list[str]  # absolute, normalised
    ignore: list[str]
    live_update: list[Step]
    build_args: dict[str, str]


@dataclass
class Resource:
    name: str
    kind: str  # k8s | local
    labels: list[str] = field(default_factory=list)
    resource_deps: list[str] = field(default_factory=list)
    port_forwards: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    trigger_mode: str = "auto"
    auto_init: bool = True
    cmd: str | list[str] = ""


@dataclass
class Recording:
    root: Path
    context: str
    docker_builds: dict[str, DockerBuild] = field(default_factory=dict)
    k8s_objects: list[dict[str, Any]] = field(default_factory=list)
    resources: dict[str, Resource] = field(default_factory=dict)
    allowed_contexts: list[str] = field(default_factory=list)
    local_commands: list[str | list[str]] = field(default_factory=list)
    config_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    config: dict[str, Any] | None = None  # what config.parse() returned
    enabled_resources: list[str] | None = None  # None: Tilt runs everything
    output: list[str] = field(default_factory=list)

    def workloads(self) -> dict[str, dict[str, Any]]:
        kinds = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
        return {obj["metadata"]["name"]: obj for obj in self.k8s_objects if obj.get("kind") in kinds}


# --- values handed to Starlark: plain dicts tagged with their Tilt type ---------------------------

def _tagged(tilt_type: str, **fields: Any) -> dict[str, Any]:
    return {"__tilt__": tilt_type, **fields}


def _is(value: Any, tilt_type: str) -> bool:
    return isinstance(value, dict) and value.get("__tilt__") == tilt_type


TRIGGER_MODE_AUTO = _tagged("TriggerMode", mode="auto")
TRIGGER_MODE_MANUAL = _tagged("TriggerMode", mode="manual")


def _str_list(fn: str, arg: str, value: Any, *, allow_str: bool = True) -> list[str]:
    """Tilt's "str or list of str" arguments (value.StringOrStringList)."""
    if allow_str and isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TiltfileError(f"{fn}: for parameter {arg!r}: expected str or list of str, got {value!r}")


def _expect(fn: str, arg: str, value: Any, types: type | tuple[type, ...]) -> Any:
    if not isinstance(value, types):
        raise TiltfileError(f"{fn}: for parameter {arg!r}: got {type(value).__name__}, want {types}")
    return value


def flatten_modules(text: str) -> str:
    """Rewrite ``config.x`` to ``config_x`` (code tokens only, never inside strings or comments)."""
    chars = [list(line) for line in text.splitlines(keepends=True)]
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
              if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)]
    for i, tok in enumerate(tokens[:-2]):
        dot, attr = tokens[i + 1], tokens[i + 2]
        preceded_by_dot = i > 0 and tokens[i - 1].string == "."
        if (tok.type == tokenize.NAME and tok.string in MODULES and dot.string == "." and attr.type == tokenize.NAME
                and not preceded_by_dot):
            row, col = dot.start
            chars[row - 1][col] = "_"
    return "".join("".join(line) for line in chars)


class FakeTilt:
    """Tilt built-ins that record what a Tiltfile declares. One instance per evaluation."""

    def __init__(self, root: Path, *, context: str, args: list[str], kubectl: str,
                 env: dict[str, str] | None = None, kustomize_cache: dict | None = None) -> None:
        self.rec = Recording(root=root.resolve(), context=context)
        self.args = list(args)
        self.kubectl = kubectl
        self.env = {**os.environ, **(env or {})}  # the shell Tilt was started from
        # Renders of an unchanged overlay, shared by the evaluations of one test session (argv -> YAML).
        self.kustomize_cache = {} if kustomize_cache is None else kustomize_cache
        self.failure: str | None = None  # the message of fail(), if the Tiltfile called it

    # -- paths are relative to the Tiltfile's directory, as in Tilt
    def _abs(self, path: str) -> str:
        return os.path.normpath(os.path.join(self.rec.root, path))

    def _run(self, fn: str, command: str | list[str], *, env: dict[str, str] | None = None, cwd: str = "",
             stdin: str | None = None) -> str:
        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        try:
            proc = subprocess.run(argv, cwd=self._abs(cwd), env={**self.env, **(env or {})}, input=stdin,
                                  capture_output=True, text=True, timeout=120, check=False)
        except OSError as exc:
            raise TiltfileError(f"{fn}: cannot run {shlex.join(argv)}: {exc}") from exc
        if proc.returncode != 0:
            raise TiltfileError(f"{fn}: command {shlex.join(argv)!r} exited {proc.returncode}:\n{proc.stderr.strip()}")
        return proc.stdout

    def builtins(self) -> dict[str, Any]:
        """The predeclared globals: plain functions (starlark-go converts functions, not arbitrary objects)."""
        rec = self.rec

        # https://docs.tilt.dev/api.html#api.k8s_context
        def k8s_context() -> str:
            return rec.context

        # https://docs.tilt.dev/api.html#api.allow_k8s_contexts
        def allow_k8s_contexts(contexts):
            rec.allowed_contexts += _str_list("allow_k8s_contexts", "contexts", contexts)

        # https://docs.tilt.dev/api.html#api.fail
        def fail(msg):
            self.failure = str(msg)
            raise TiltfileFail(self.failure)

        # https://docs.tilt.dev/api.html#api.local
        def local(command, quiet=False, command_bat="", echo_off=False, env=None, dir="", stdin=None):
            _expect("local", "env", env or {}, dict)
            rec.local_commands.append(command)
            text = stdin.get("text") if _is(stdin, "Blob") else stdin
            return _tagged("Blob", text=self._run("local", command, env=env, cwd=dir, stdin=text))

        # https://docs.tilt.dev/api.html#api.read_file
        def read_file(file_path, default=None):
            path = Path(self._abs(file_path))
            if not path.exists() and default is not None:
                return _tagged("Blob", text=default)
            try:
                return _tagged("Blob", text=path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise TiltfileError(f"read_file: {exc}") from exc

        # https://docs.tilt.dev/api.html#api.kustomize
        def kustomize(pathToDir, kustomize_bin=None, flags=None):  # noqa: N803 (Tilt's parameter name)
            flags = _str_list("kustomize", "flags", flags or [], allow_str=False)
            if kustomize_bin is not None:
                raise TiltfileError("kustomize: this fake runs `kubectl kustomize` only; drop kustomize_bin")
            argv = [self.kubectl, "kustomize", self._abs(pathToDir), *flags]
            key = tuple(argv)
            if key not in self.kustomize_cache:
                self.kustomize_cache[key] = self._run("kustomize", argv)
            return _tagged("Blob", text=self.kustomize_cache[key])

        # https://docs.tilt.dev/api.html#api.k8s_yaml
        def k8s_yaml(yaml, allow_duplicates=False):
            items = yaml if isinstance(yaml, list) else [yaml]
            for item in items:
                if _is(item, "Blob"):
                    text = item["text"]
                elif isinstance(item, str):  # a path, as in Tilt (a plain string is never YAML content)
                    text = Path(self._abs(item)).read_text(encoding="utf-8")
                else:
                    raise TiltfileError(f"k8s_yaml: expected a path or a Blob, got {item!r}")
                for doc in pyyaml.safe_load_all(text):
                    if not doc:
                        continue
                    key = (doc.get("kind"), doc["metadata"].get("name"), doc["metadata"].get("namespace"))
                    seen = {(o.get("kind"), o["metadata"].get("name"), o["metadata"].get("namespace"))
                            for o in rec.k8s_objects}
                    if key in seen and not allow_duplicates:
                        raise TiltfileError(f"k8s_yaml: duplicate object {key}")
                    rec.k8s_objects.append(doc)

        # https://docs.tilt.dev/api.html#api.sync and the live_update reference
        def sync(local_path, remote_path):
            _expect("sync", "local_path", local_path, str)
            _expect("sync", "remote_path", remote_path, str)
            return _tagged("LiveUpdateStep", kind="sync", local_path=local_path, remote_path=remote_path)

        # https://docs.tilt.dev/api.html#api.run
        def run(cmd, trigger=None, echo_off=False):
            if not isinstance(cmd, str):
                _str_list("run", "cmd", cmd)
            return _tagged("LiveUpdateStep", kind="run", cmd=cmd, trigger=_str_list("run", "trigger", trigger or []))

        # https://docs.tilt.dev/api.html#api.fall_back_on
        def fall_back_on(files):
            return _tagged("LiveUpdateStep", kind="fall_back_on", files=_str_list("fall_back_on", "files", files))

        # https://docs.tilt.dev/api.html#api.restart_container
        def restart_container():
            return _tagged("LiveUpdateStep", kind="restart_container")

        # https://docs.tilt.dev/api.html#api.docker_build
        def docker_build(ref, context, build_args=None, dockerfile="Dockerfile", dockerfile_contents="",
                         live_update=None, match_in_env_vars=False, ignore=None, only=None, entrypoint=None,
                         target="", ssh="", network="", secret="", extra_tag="", container_args=None,
                         cache_from=None, pull=False, platform="", extra_hosts=None):
            _expect("docker_build", "ref", ref, str)
            if ref in rec.docker_builds:
                raise TiltfileError(f"docker_build: image for ref {ref!r} has already been defined")
            if dockerfile_contents and dockerfile != "Dockerfile":
                raise TiltfileError("docker_build: cannot specify both dockerfile and dockerfile_contents")
            steps = [self._step(s) for s in (live_update or [])]
            _check_step_order(ref, steps)
            context_abs = self._abs(context)
            rec.docker_builds[ref] = DockerBuild(
                ref=ref, context=context_abs,
                dockerfile=self._abs(dockerfile),
                target=_expect("docker_build", "target", target, str),
                only=[os.path.normpath(os.path.join(context_abs, p))
                      for p in _str_list("docker_build", "only", only or [])],
                ignore=_str_list("docker_build", "ignore", ignore or []),
                live_update=steps,
                build_args=_expect("docker_build", "build_args", build_args or {}, dict),
            )

        # https://docs.tilt.dev/api.html#api.link
        def link(url, name=""):
            return _tagged("Link", url=_expect("link", "url", url, str), name=name)

        # https://docs.tilt.dev/api.html#api.port_forward
        def port_forward(local_port, container_port=None, name=None, link_path=None, host=None):
            _expect("port_forward", "local_port", local_port, int)
            return _tagged("PortForward", local_port=local_port, container_port=container_port, name=name,
                           link_path=link_path, host=host)

        # https://docs.tilt.dev/api.html#api.k8s_resource
        def k8s_resource(workload="", new_name="", port_forwards=None, extra_pod_selectors=None,
                         trigger_mode=TRIGGER_MODE_AUTO, resource_deps=None, objects=None, auto_init=True,
                         pod_readiness="", links=None, labels=None, discovery_strategy=""):
            if not workload and not (objects and new_name):
                raise TiltfileError("k8s_resource: give workload=, or objects= with new_name=")
            name = new_name or workload
            res = rec.resources.setdefault(name, Resource(name=name, kind="k8s"))
            res.labels += _str_list("k8s_resource", "labels", labels or [])
            res.resource_deps += _str_list("k8s_resource", "resource_deps", resource_deps or [], allow_str=False)
            res.port_forwards += [self._port_forward(p) for p in _as_list(port_forwards)]
            res.links += [self._link(x) for x in _as_list(links)]
            res.trigger_mode = self._trigger_mode("k8s_resource", trigger_mode)
            res.auto_init = _expect("k8s_resource", "auto_init", auto_init, bool)
            if workload and workload != name:
                res.cmd = f"workload:{workload}"

        # https://docs.tilt.dev/api.html#api.local_resource
        def local_resource(name, cmd, deps=None, trigger_mode=TRIGGER_MODE_AUTO, resource_deps=None, ignore=None,
                           auto_init=True, serve_cmd="", cmd_bat="", serve_cmd_bat="", allow_parallel=False,
                           links=None, labels=None, env=None, serve_env=None, readiness_probe=None, dir="",
                           serve_dir=""):
            _expect("local_resource", "name", name, str)
            if name in rec.resources:
                raise TiltfileError(f"local_resource named {name!r} already exists")
            if not isinstance(cmd, str):
                _str_list("local_resource", "cmd", cmd)
            rec.resources[name] = Resource(
                name=name, kind="local", cmd=cmd,
                labels=_str_list("local_resource", "labels", labels or []),
                resource_deps=_str_list("local_resource", "resource_deps", resource_deps or [], allow_str=False),
                links=[self._link(x) for x in _as_list(links)],
                trigger_mode=self._trigger_mode("local_resource", trigger_mode),
                auto_init=_expect("local_resource", "auto_init", auto_init, bool),
            )

        # https://docs.tilt.dev/api.html#modules.config.define_string_list (and define_string, define_bool)
        def config_define_string_list(name, args=False, usage=""):
            self._define("list", name, args, usage)

        def config_define_string(name, args=False, usage=""):
            self._define("str", name, args, usage)

        def config_define_bool(name, args=False, usage=""):
            self._define("bool", name, args, usage)

        # https://docs.tilt.dev/api.html#modules.config.parse
        def config_parse():
            return self._parse_args()

        # https://docs.tilt.dev/api.html#modules.config.set_enabled_resources
        def config_set_enabled_resources(resources):
            rec.enabled_resources = _str_list("config.set_enabled_resources", "resources", resources, allow_str=False)

        functions = {f.__name__: f for f in (
            k8s_context, allow_k8s_contexts, fail, local, read_file, kustomize, k8s_yaml, sync, run, fall_back_on,
            restart_container, docker_build, link, port_forward, k8s_resource, local_resource,
            config_define_string_list, config_define_string, config_define_bool, config_parse,
            config_set_enabled_resources,
        )}
        return {
            **functions,
            "TRIGGER_MODE_AUTO": TRIGGER_MODE_AUTO,
            "TRIGGER_MODE_MANUAL": TRIGGER_MODE_MANUAL,
            "config_tilt_subcommand": "up",
            "config_main_dir": str(rec.root),
            "config_main_path": str(rec.root / "Tiltfile"),
        }

    # -- helpers behind the built-ins

    def _step(self, value: Any) -> Step:
        if not _is(value, "LiveUpdateStep"):
            raise TiltfileError(f"docker_build: live_update takes LiveUpdateSteps (sync(), run(), ...), got {value!r}")
        fields = {k: v for k, v in value.items() if k != "__tilt__"}
        return Step(**fields)

    def _port_forward(self, value: Any) -> dict[str, Any]:
        if _is(value, "PortForward"):
            return value
        if isinstance(value, int | str):
            parts = str(value).split(":")
            if not all(p.isdigit() for p in parts[-2:]) or len(parts) > 3:
                raise TiltfileError(f"k8s_resource: bad port_forward {value!r}")
            return _tagged("PortForward", local_port=int(parts[-2] if len(parts) > 1 else parts[0]),
                           container_port=int(parts[-1]) if len(parts) > 1 else None, name=None, link_path=None,
                           host=parts[0] if len(parts) == 3 else None)
        raise TiltfileError(f"k8s_resource: port_forwards takes str, int or port_forward(), got {value!r}")

    def _link(self, value: Any) -> dict[str, Any]:
        if _is(value, "Link"):
            return value
        if isinstance(value, str):
            return _tagged("Link", url=value, name="")
        raise TiltfileError(f"links takes str or link(), got {value!r}")

    def _trigger_mode(self, fn: str, value: Any) -> str:
        if not _is(value, "TriggerMode"):
            raise TiltfileError(f"{fn}: trigger_mode must be TRIGGER_MODE_AUTO or TRIGGER_MODE_MANUAL, got {value!r}")
        return value["mode"]

    def _define(self, kind: str, name: str, args: bool, usage: str) -> None:
        _expect("config.define_*", "name", name, str)
        if name in self.rec.config_settings:
            raise TiltfileError(f"config.define_*: {name!r} defined twice")
        if args and any(s["args"] for s in self.rec.config_settings.values()):
            raise TiltfileError("config.define_*: only one setting may take the positional args")
        self.rec.config_settings[name] = {"kind": kind, "args": bool(args), "usage": usage}

    def _parse_args(self) -> dict[str, Any]:
        """Tilt's config.parse for command-line args (`tilt up -- ARGS`); no tilt_config.json here."""
        settings, result = self.rec.config_settings, {}
        positional = next((n for n, s in settings.items() if s["args"]), None)
        args = list(self.args)
        while args:
            arg = args.pop(0)
            if arg.startswith("--"):
                name, _, value = arg[2:].partition("=")
                if name not in settings:
                    raise TiltfileError(f"config.parse: unknown flag --{name}; defined: {sorted(settings)}")
                kind = settings[name]["kind"]
                if kind == "bool":
                    result[name] = value.lower() != "false" if value else True
                    continue
                value = value or (args.pop(0) if args else "")
                result[name] = [*result.get(name, []), value] if kind == "list" else value
            elif positional is None:
                raise TiltfileError(f"config.parse: positional arg {arg!r} but no setting has args=True")
            elif settings[positional]["kind"] == "list":
                result.setdefault(positional, []).append(arg)
            else:
                result[positional] = arg
        self.rec.config = result
        return result


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _check_step_order(ref: str, steps: list[Step]) -> None:
    """Tilt's rule: fall_back_on* then sync* then run*, restart_container at most once and last."""
    rank = {"fall_back_on": 0, "sync": 1, "run": 2, "restart_container": 3}
    ranks = [rank[s.kind] for s in steps]
    if ranks != sorted(ranks) or ranks.count(3) > 1:
        raise TiltfileError(f"docker_build({ref!r}): live_update steps must be fall_back_on, sync, run, "
                            f"restart_container in that order; got {[s.kind for s in steps]}")


def evaluate(tiltfile: Path, *, root: Path | None = None, text: str | None = None, context: str = "docker-desktop",
             args: list[str] | None = None, kubectl: str = "kubectl", env: dict[str, str] | None = None,
             kustomize_cache: dict | None = None) -> Recording:
    """Run a Tiltfile under go.starlark.net with the recording built-ins; raise TiltfileError as Tilt would fail."""
    import starlark_go  # imported here so that collecting tests never needs it (the fixture reports it missing)

    # Tilt's interpreter options (tilt-dev/starkit): sets, top-level reassignment and recursion are allowed.
    starlark_go.configure_starlark(allow_set=True, allow_global_reassign=True, allow_recursion=True)
    root = (root or tiltfile.parent).resolve()
    source = tiltfile.read_text(encoding="utf-8") if text is None else text
    fake = FakeTilt(root, context=context, args=args or [], kubectl=kubectl, env=env,
                    kustomize_cache=kustomize_cache)
    globals_ = fake.builtins()  # kept alive here: starlark-go holds borrowed references to these functions
    interpreter = starlark_go.Starlark(globals=globals_, print=fake.rec.output.append)
    try:
        interpreter.exec(flatten_modules(source), filename=str(tiltfile))
    except starlark_go.StarlarkError as exc:
        where = getattr(exc, "backtrace", "") or ""
        error = TiltfileFail if fake.failure is not None else TiltfileError
        raise error(f"{exc.error}\n{where}".strip()) from None
    del globals_
    return fake.rec

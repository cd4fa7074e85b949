"""Live update into running containers, the way Tilt's live_update does it: no image rebuild, no restart.

The rules come from the Tiltfile itself (one table, no copy): each `docker_build(image, ..., only=[...],
live_update=[fall_back_on(...), sync(local, remote), run(cmd, trigger=...)])` is read with Python's `ast` (the
Tiltfile is Starlark, a Python subset; its live_update arguments are literals). For a running container of that
image, changed files are

1. mapped to container paths by the sync() pairs (a file under an image's `only=` that no sync() covers, or one
   under fall_back_on(), needs an image rebuild: `NeedsRebuild`, as Tilt falls back to a full build);
2. streamed as one tar archive into `tar -C / -x -f -` through `docker exec` with stdin (deleted files are
   removed with `rm -rf` first), as Tilt does for a Kubernetes container;
3. followed by the run() steps whose triggers match a changed file, through `sh -c` in the container.

A failing step raises `LiveSyncError` with the command's output. Used by tests/reload (containers level) and
benchmarks/bench_reload.py.
"""

from __future__ import annotations

import ast
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

from .errors import ToolkitError
from .reload import Deliver, tar_stream

REPO = Path(__file__).resolve().parents[2]
TILTFILE = REPO / "Tiltfile"


class LiveSyncError(ToolkitError):
    """A live-update step failed inside the container; the message carries its output."""


class NeedsRebuild(LiveSyncError):
    """The change cannot be synced (dependency file, or no sync() covers it): rebuild the image."""


@dataclass(frozen=True)
class Run:
    command: str
    triggers: tuple[str, ...] = ()  # repo paths; empty: runs after every sync


@dataclass(frozen=True)
class LiveUpdate:
    """One docker_build()'s live_update, with repo-relative local paths."""

    image: str
    only: tuple[str, ...]
    syncs: tuple[tuple[str, str], ...]  # (repo path, container path)
    runs: tuple[Run, ...] = ()
    fall_back_on: tuple[str, ...] = ()

    def concerns(self, path: str) -> bool:
        """Is the file part of this image's build context (Tilt watches only those)?"""
        return not self.only or any(_under(path, root) for root in self.only)

    def container_path(self, path: str) -> str:
        if any(_under(path, root) for root in self.fall_back_on):
            raise NeedsRebuild(f"{path} is a fall_back_on() file of {self.image}: rebuild the image "
                               f"(`python -m nta_dev.images --target dev {self.image}`)")  # fmt: skip
        matches = [(local, remote) for local, remote in self.syncs if _under(path, local)]
        if not matches:
            raise NeedsRebuild(f"{path} is in the build context of {self.image} but no sync() in the Tiltfile "
                               f"covers it: add one, or rebuild the image")  # fmt: skip
        local, remote = max(matches, key=lambda m: len(m[0]))  # the most specific sync wins
        rest = PurePosixPath(path).relative_to(local)
        return str(PurePosixPath(remote) / rest) if rest.parts else remote

    def triggered(self, paths: Iterable[str]) -> list[str]:
        paths = list(paths)
        return [r.command for r in self.runs
                if not r.triggers or any(_under(p, t) for p in paths for t in r.triggers)]  # fmt: skip


def _under(path: str, root: str) -> bool:
    p, r = PurePosixPath(path), PurePosixPath(root)
    return p == r or r in p.parents


def _literal(node: ast.expr, what: str) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise LiveSyncError(f"Tiltfile line {node.lineno}: {what} is not a literal; nta_dev.livesync reads "
                            f"live_update rules as literals, so write it out there") from None  # fmt: skip


def _strings(value: object) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)  # Tilt takes a str or a list of them


def _name(call: ast.Call) -> str:
    return call.func.id if isinstance(call.func, ast.Name) else ""


def parse_tiltfile(text: str) -> dict[str, LiveUpdate]:
    """{image: LiveUpdate} of every docker_build() with a live_update in the Tiltfile's text."""
    rules = {}
    for node in ast.walk(ast.parse(text, "Tiltfile")):
        if not (isinstance(node, ast.Call) and _name(node) == "docker_build"):
            continue
        image = str(_literal(node.args[0], "docker_build's image name"))
        kwargs = {k.arg: k.value for k in node.keywords}
        steps = kwargs.get("live_update")
        if steps is None:
            continue
        if not isinstance(steps, ast.List):
            raise LiveSyncError(f"Tiltfile line {steps.lineno}: live_update of {image} must be a list literal")
        only = _strings(_literal(kwargs["only"], "only=")) if "only" in kwargs else ()
        syncs, runs, fall_back = [], [], []
        for step in steps.elts:
            if not isinstance(step, ast.Call):
                raise LiveSyncError(f"Tiltfile line {step.lineno}: unexpected live_update step")
            args = [_literal(a, f"{_name(step)}() argument") for a in step.args]
            kw = {k.arg: _literal(k.value, f"{_name(step)}({k.arg}=)") for k in step.keywords}
            if _name(step) == "sync":
                syncs.append((str(args[0]).rstrip("/"), str(args[1]).rstrip("/")))
            elif _name(step) == "run":
                runs.append(Run(str(args[0]), _strings(kw.get("trigger", ()))))
            elif _name(step) == "fall_back_on":
                fall_back.extend(_strings(args[0]))
            else:
                raise LiveSyncError(f"Tiltfile line {step.lineno}: live_update step {_name(step)}() is not "
                                    f"supported by nta_dev.livesync")  # fmt: skip
        rules[image] = LiveUpdate(image, only, tuple(syncs), tuple(runs), tuple(fall_back))
    return rules


@cache
def tilt_rules(tiltfile: Path = TILTFILE) -> dict[str, LiveUpdate]:
    return parse_tiltfile(tiltfile.read_text())


def image_name(container) -> str:
    """`nta-dask:dev` -> `nta-dask` (the docker_build name the container's image was built under)."""
    ref = container.attrs["Config"]["Image"]
    return ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref


def exec_in(container, cmd: list[str], stdin: bytes | None = None, *, timeout: float = 60.0) -> tuple[int, str]:
    """Run cmd in the container like `docker exec -i`: stdin (if any) is written and closed. -> (exit code, output)"""
    from docker.utils.socket import frames_iter

    api = container.client.api
    exec_id = api.exec_create(container.id, cmd, stdin=stdin is not None, stdout=True, stderr=True)["Id"]
    sock = api.exec_start(exec_id, socket=True)
    raw = getattr(sock, "_sock", sock)  # the SDK hands a SocketIO over the hijacked connection
    try:
        raw.settimeout(timeout)
        if stdin is not None:
            raw.sendall(stdin)
            raw.shutdown(socket.SHUT_WR)  # EOF on the process's stdin, as `docker exec -i` does at the end
        output = b"".join(data for _stream, data in frames_iter(sock, tty=False))  # stdout and stderr
    finally:
        sock.close()
        raw.close()
    deadline = time.monotonic() + timeout
    while (state := api.exec_inspect(exec_id))["Running"] and time.monotonic() < deadline:
        time.sleep(0.01)  # output ended a moment before the engine records the exit code
    return state["ExitCode"], output.decode(errors="replace")


def _check(container, cmd: list[str], stdin: bytes | None = None) -> None:
    code, output = exec_in(container, cmd, stdin)
    if code != 0:
        raise LiveSyncError(f"live update of {container.name}: `{' '.join(cmd)}` exited with {code}:\n"
                            f"{output.strip() or '(no output)'}")  # fmt: skip


def live_update(container, files: Mapping[str, bytes], deleted: Iterable[str] = (),
                rules: LiveUpdate | None = None) -> list[str]:  # fmt: skip
    """Sync changed repo files into a running container and run the triggered run() steps.

    files: {repo-relative path: new content}; deleted: repo-relative paths removed on the host. Files outside the
    image's build context are ignored. Returns the container paths written or removed (empty: nothing to do).
    """
    if rules is None:
        image = image_name(container)
        rules = tilt_rules().get(image)
        if rules is None:
            raise LiveSyncError(f"no docker_build({image!r}, live_update=...) in {TILTFILE}")
    deleted = [p for p in deleted if rules.concerns(p)]
    files = {p: data for p, data in files.items() if rules.concerns(p)}
    if not files and not deleted:
        return []
    gone = [rules.container_path(p) for p in deleted]
    archive = {rules.container_path(p): data for p, data in files.items()}
    if gone:
        _check(container, ["rm", "-rf", *gone])
    if archive:
        _check(container, ["tar", "-C", "/", "-x", "-f", "-"], tar_stream(archive))
    for command in rules.triggered([*files, *deleted]):
        _check(container, ["sh", "-c", command])
    return [*gone, *archive]


def container_deliver(containers: Iterable) -> Deliver:
    """A nta_dev.reload Deliver that live-updates every given container whose image's build context has the file
    (a pipeline change reaches Django, the scheduler and the worker, as with Tilt)."""
    rules = tilt_rules()
    targets = [(c, rules[image_name(c)]) for c in containers if image_name(c) in rules]  # not: the Mongo stand-in

    def deliver(path: str, content: bytes) -> None:
        if not any([live_update(c, {path: content}, rules=r) for c, r in targets]):
            raise NeedsRebuild(f"{path} is in no running container's build context: nothing to sync")

    return deliver

"""Kube contexts: which exist, which is current, which are local; and a kubectl runner bound to one context.

Kubeconfig files are read with the ``kubernetes`` client's loader (``KUBECONFIG`` lists merge the way kubectl
merges them), never hand-parsed. Switching the current context is left to ``kubectl config use-context``.
"""

from __future__ import annotations

import functools
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from invoke import Context, Result, UnexpectedExit

from ..errors import ToolkitError
from ..tools import require

# Contexts created by local cluster tools: one list in dev/local-contexts.yaml, which the Tiltfile reads too.
LOCAL_CONTEXTS_FILE = Path(__file__).resolve().parents[2] / "local-contexts.yaml"
# minikube names a context after its profile, so a profile "dev" is recognised by this kubeconfig extension.
MINIKUBE_PROVIDER = "minikube.sigs.k8s.io"
EXTRA_LOCAL_ENV = "NTA_LOCAL_CONTEXTS"  # comma-separated names the developer declares local


class UnknownContext(ToolkitError):
    """A context name that is not in the kubeconfig; the message lists the ones that are."""

    def __init__(self, name: str, available: list[str]) -> None:
        listed = ", ".join(available) if available else "(none: create a cluster first, see `./inv doctor`)"
        super().__init__(f"no kube context named {name!r}; available: {listed}")


@dataclass(frozen=True)
class KubeContext:
    name: str
    cluster: str = ""
    provider: str = ""  # from the kubeconfig's context_info extension (minikube sets it)

    @property
    def is_minikube(self) -> bool:
        return self.provider == MINIKUBE_PROVIDER or self.name == "minikube"

    @property
    def local(self) -> bool:
        return is_local_context(self.name) or self.is_minikube


@dataclass(frozen=True)
class KubeConfig:
    contexts: tuple[KubeContext, ...]
    current: str | None
    paths: tuple[str, ...] = ()

    @property
    def names(self) -> list[str]:
        return [ctx.name for ctx in self.contexts]

    def get(self, name: str) -> KubeContext | None:
        return next((ctx for ctx in self.contexts if ctx.name == name), None)

    def require(self, name: str) -> KubeContext:
        ctx = self.get(name)
        if ctx is None:
            raise UnknownContext(name, self.names)
        return ctx


@functools.cache
def local_contexts() -> dict[str, Any]:
    """dev/local-contexts.yaml: ``names``, ``prefixes``, ``overlays`` (context -> overlay), ``default_overlay``."""
    import yaml

    return yaml.safe_load(LOCAL_CONTEXTS_FILE.read_text(encoding="utf-8"))


def is_local_context(name: str) -> bool:
    """True for the context names local cluster tools create (docker-desktop, kind-*, k3d-*, minikube, ...)."""
    known = local_contexts()
    extra = {n.strip() for n in os.environ.get(EXTRA_LOCAL_ENV, "").split(",") if n.strip()}
    return name in known["names"] or name in extra or name.startswith(tuple(known["prefixes"]))


def overlay_for(name: str) -> str:
    """The overlay `tilt up` deploys on context ``name`` (the Tiltfile reads the same table)."""
    known = local_contexts()
    return str(known["overlays"].get(name, known["default_overlay"]))


def kubeconfig_paths() -> str:
    """The kubeconfig search path kubectl uses: ``$KUBECONFIG`` (a list) or ``~/.kube/config``."""
    return os.environ.get("KUBECONFIG", "").strip() or str(Path.home() / ".kube" / "config")


def _provider(context: dict[str, Any]) -> str:
    for ext in context.get("extensions") or []:
        value = ext.get("extension") if isinstance(ext, dict) else None
        if isinstance(value, dict) and value.get("provider"):
            return str(value["provider"])
    return ""


def load_kubeconfig(paths: str | None = None) -> KubeConfig:
    """Contexts and current context of the kubeconfig (merged over a ``KUBECONFIG`` list); empty if none exists."""
    from kubernetes.config.config_exception import ConfigException
    from kubernetes.config.kube_config import KubeConfigMerger

    paths = paths or kubeconfig_paths()
    try:
        merged = KubeConfigMerger(paths)
    except (ConfigException, OSError, ValueError) as exc:
        raise ToolkitError(f"cannot read kubeconfig {paths}: {exc}; fix or move the file") from None
    if merged.config is None:
        return KubeConfig((), None, tuple(merged.paths))
    raw = _plain(merged.config.value)
    contexts = []
    for entry in raw.get("contexts") or []:
        if not isinstance(entry, dict) or not entry.get("name"):
            continue
        body = entry.get("context") or {}
        contexts.append(KubeContext(str(entry["name"]), str(body.get("cluster") or ""), _provider(body)))
    return KubeConfig(tuple(contexts), _current_context(merged.paths), tuple(merged.paths))


def _current_context(paths: list[str]) -> str | None:
    # kubectl takes current-context from the first file that sets it; the client's merger keeps the last one.
    from kubernetes.config.kube_config import KubeConfigMerger

    for path in paths:
        config = KubeConfigMerger(path).config
        current = config.value.get("current-context") if config is not None else None
        if current:
            return str(current)
    return None


def _plain(value: Any) -> Any:
    # The merger wraps nested mappings in ConfigNode objects; unwrap them into dicts and lists.
    value = getattr(value, "value", value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def describe(cfg: KubeConfig) -> str:
    """Human summary: the current context and whether it is local, then every context."""
    if not cfg.contexts:
        return (f"no kube contexts in {kubeconfig_paths()}: create a local cluster (Docker Desktop's Kubernetes, "
                "`kind create cluster`, `minikube start`) and run `./inv context NAME`")  # fmt: skip
    lines = []
    if cfg.current is None:
        lines.append("current context: (none) - pick one with `./inv context NAME`")
    else:
        ctx = cfg.get(cfg.current)
        where = "local" if ctx is not None and ctx.local else "NOT local: tasks that change it need --context --yes"
        lines.append(f"current context: {cfg.current} ({where})")
    lines.append("contexts:")
    for ctx in cfg.contexts:
        mark = "*" if ctx.name == cfg.current else " "
        lines.append(f"  {mark} {ctx.name}{'  (local)' if ctx.local else ''}")
    return "\n".join(lines)


def use_context(c: Context, name: str) -> KubeContext:
    """Make ``name`` the current context (``kubectl config use-context``); unknown names raise UnknownContext."""
    ctx = load_kubeconfig().require(name)
    kubectl = require("kubectl", "switch the kube context")
    c.run(shlex.join([kubectl, "config", "use-context", name]), in_stream=False)
    return ctx


class Kubectl:
    """kubectl bound to one context: every call carries ``--context`` (the current context is never relied on)."""

    def __init__(self, c: Context, context: KubeContext, path: str) -> None:
        self.c, self.context, self.path = c, context, path

    def argv(self, *args: str) -> list[str]:
        return [self.path, "--context", self.context.name, *args]

    def run(self, *args: str, stdin: str | None = None, hide: bool | str = False, warn: bool = False) -> Result:
        """Run kubectl; ``stdin`` is fed to it (for ``apply -f -``). Failures raise UnexpectedExit unless ``warn``."""
        if stdin is not None:
            return self._run_fed(self.argv(*args), stdin.encode("utf-8"), shlex.join(self.argv(*args)), hide, warn)
        # in_stream=False: never forward our own stdin (kubectl would wait on it; pytest forbids reading it).
        return self.c.run(shlex.join(self.argv(*args)), in_stream=False, hide=hide, warn=warn, pty=False)

    def stream_file(self, args: list[str], path: Path) -> int:
        """Run kubectl with a file as its stdin; returns the exit status (output goes straight to the terminal)."""
        argv = self.argv(*args)
        with path.open("rb") as handle:
            result = self._run_fed(argv, handle, f"{shlex.join(argv)} < {shlex.quote(str(path))}", False, True)
        return result.exited

    def _run_fed(self, argv: list[str], data: bytes | BinaryIO, command: str, hide: bool | str, warn: bool) -> Result:
        # Not invoke's in_stream: it copies stdin about one character per 10 ms (a 20 KB manifest takes minutes).
        if self.c.config.run.echo:
            print(self.c.config.run.echo_format.format(command=command), flush=True)
        hide_out, hide_err = hide in (True, "out", "stdout", "both"), hide in (True, "err", "stderr", "both")
        feed: dict[str, Any] = {"input": data} if isinstance(data, bytes) else {"stdin": data}
        done = subprocess.run(argv, **feed, stdout=subprocess.PIPE if hide_out else None,
                              stderr=subprocess.PIPE if hide_err else None, check=False)  # fmt: skip
        result = Result(stdout=(done.stdout or b"").decode("utf-8", "replace"),
                        stderr=(done.stderr or b"").decode("utf-8", "replace"), command=command,
                        exited=done.returncode)  # fmt: skip
        if done.returncode != 0 and not warn:
            raise UnexpectedExit(result)
        return result

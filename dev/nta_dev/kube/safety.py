"""The safety rule of every task that changes a cluster.

A local context (docker-desktop, kind-*, minikube, ...) is used freely. Any other context is refused unless the
command names it with ``--context NAME`` *and* confirms with ``--yes``; being the current context is not enough.
The chosen context is then passed to every kubectl call, so the current context is neither relied on nor changed.
"""

from __future__ import annotations

from invoke import Context

from ..errors import ToolkitError
from ..tools import require
from .context import KubeConfig, KubeContext, Kubectl, load_kubeconfig


class UnsafeContext(ToolkitError):
    """A task would change a non-local cluster without explicit confirmation."""


def resolve_target(cfg: KubeConfig, context: str | None, yes: bool, *, action: str,
                   changes_cluster: bool = True) -> KubeContext:  # fmt: skip
    """The context a task may use, or UnsafeContext / UnknownContext saying what to type instead."""
    if context:
        target = cfg.require(context)
    elif cfg.current:
        target = cfg.require(cfg.current)
    elif cfg.contexts:
        raise ToolkitError(f"no current kube context: pick one with `./inv context NAME` or pass --context NAME "
                           f"(available: {', '.join(cfg.names)})")  # fmt: skip
    else:
        raise ToolkitError("no kube contexts configured: create a local cluster (Docker Desktop's Kubernetes, "
                           "`kind create cluster`, `minikube start`); `./inv doctor` checks the setup")  # fmt: skip
    if not changes_cluster or target.local:
        return target
    if context and yes:
        return target
    if context:
        raise UnsafeContext(f"refusing to {action} on {target.name!r}: it is not a local cluster. "
                            f"Confirm with `--context {target.name} --yes`.")  # fmt: skip
    raise UnsafeContext(f"refusing to {action}: the current context {target.name!r} is not a local cluster. "
                        f"Name it to confirm: `--context {target.name} --yes`, or switch to a local one with "
                        "`./inv context NAME`.")  # fmt: skip


def kubectl_for(c: Context, context: str | None, yes: bool, *, action: str, changes_cluster: bool = True) -> Kubectl:
    """A :class:`Kubectl` bound to the checked context; prints which context and whether it is local."""
    target = resolve_target(load_kubeconfig(), context, yes, action=action, changes_cluster=changes_cluster)
    path = require("kubectl", action)
    if changes_cluster:
        print(f"nta: context {target.name} ({'local' if target.local else 'REMOTE, confirmed with --yes'})")
    return Kubectl(c, target, path)

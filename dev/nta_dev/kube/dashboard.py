"""A cluster web UI (`./inv dashboard`): Kubernetes Dashboard v2.7.0, or Headlamp with ``--headlamp``.

Dashboard v2.7.0's ``recommended.yaml`` is the last release with ``--enable-skip-login`` (v7 is Helm-only and
has none); the project was archived upstream on 2026-01-21 and Headlamp is its maintained successor.
Both get a read-only ServiceAccount whose token logs in with the ``view`` ClusterRole (no Secrets, no writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolkitError
from .context import Kubectl
from .yamldocs import Doc, add_container_arg, dump, load

DASHBOARD_URL = "https://raw.githubusercontent.com/kubernetes/dashboard/v2.7.0/aio/deploy/recommended.yaml"
HEADLAMP_URL = "https://raw.githubusercontent.com/kubernetes-sigs/headlamp/main/kubernetes-headlamp.yaml"
DASHBOARD_NAMESPACE = "kubernetes-dashboard"
HEADLAMP_NAMESPACE = "kube-system"
VIEWER = "nta-dashboard-viewer"
SKIP_LOGIN = "--enable-skip-login"

ARCHIVED_NOTE = (
    "note: Kubernetes Dashboard was archived upstream on 2026-01-21; v2.7.0 is its last release with "
    "--enable-skip-login. Headlamp is the maintained successor: `./inv dashboard --headlamp`."
)
# Why `./inv cluster-local`'s cluster gets no UI built here (README, "A real cluster without docker-desktop"):
NO_UI_ON_CLUSTER_LOCAL = (
    "{context} pulls no images (no registry is reachable from these machines) and neither UI can be built "
    "here from source: the Go module proxy refuses github.com/kubernetes/dashboard v2.7.0+incompatible and "
    "github.com/kubernetes-sigs/headlamp/backend (403, checked 2026-12-02). Use docker-desktop, kind or minikube "
    "for the dashboard, or pass --manifest FILE whose images are already in the local Docker engine (this cluster "
    "runs local images without a pull)."
)
_BAR = "!" * 100
SKIP_LOGIN_WARNING = f"""{_BAR}
!! WARNING: the dashboard runs with --enable-skip-login: anyone who can reach it may press "Skip" and use it
!! without a token. This is for a LOCAL cluster only - it is never added on any other context.
{_BAR}"""


@dataclass(frozen=True)
class DashboardAccess:
    context: str
    url: str
    serve_args: tuple[str, ...]  # kubectl proxy / port-forward that makes ``url`` answer
    token_args: tuple[str, ...]  # prints a login token of the read-only ServiceAccount
    skip_login: bool

    def command(self, args: tuple[str, ...]) -> str:
        return " ".join(("kubectl", "--context", self.context, *args))


def viewer_objects(namespace: str) -> list[Doc]:
    """A ServiceAccount bound to the built-in read-only ``view`` ClusterRole."""
    labels = {"app.kubernetes.io/name": VIEWER, "app.kubernetes.io/part-of": "nta"}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": VIEWER, "namespace": namespace, "labels": labels}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": VIEWER, "labels": labels},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
         "subjects": [{"kind": "ServiceAccount", "name": VIEWER, "namespace": namespace}]},
    ]  # fmt: skip


def install_dashboard(kubectl: Kubectl, manifest: str | Path | None = None, headlamp: bool = False) -> DashboardAccess:
    """Apply the UI's manifest (skip-login only on a local context) and the viewer account; print how to log in."""
    ctx = kubectl.context
    from ..cluster import CONTEXT as cluster_context  # here: that package costs ~0.1 s of every task's start-up

    if manifest is None and ctx.name == cluster_context:
        raise ToolkitError(NO_UI_ON_CLUSTER_LOCAL.format(context=cluster_context))
    if headlamp:
        namespace = HEADLAMP_NAMESPACE
        docs = load(manifest or HEADLAMP_URL)
        skip_login = False
    else:
        print(ARCHIVED_NOTE)
        namespace = DASHBOARD_NAMESPACE
        docs = load(manifest or DASHBOARD_URL)
        skip_login = ctx.local
        if skip_login and not add_container_arg(docs, "Deployment", "kubernetes-dashboard", "kubernetes-dashboard",
                                                SKIP_LOGIN):  # fmt: skip
            raise ToolkitError(f"{manifest or DASHBOARD_URL} has no Deployment kubernetes-dashboard with a container "
                               "of that name: pass Dashboard v2.7.0's recommended.yaml as --manifest")  # fmt: skip
    kubectl.run("apply", "-f", "-", stdin=dump(docs))
    kubectl.run("apply", "-f", "-", stdin=dump(viewer_objects(namespace)))
    access = _access(ctx.name, namespace, headlamp, skip_login)
    if skip_login:
        print(SKIP_LOGIN_WARNING)
    elif not headlamp:
        print(f"nta: --enable-skip-login NOT added: {ctx.name} is not a local context; log in with the token below")
    print(f"nta: read-only login token (ServiceAccount {namespace}/{VIEWER}, ClusterRole view):\n"
          f"  {access.command(access.token_args)}")  # fmt: skip
    print(f"nta: open {access.url}\n  after starting: {access.command(access.serve_args)}   "
          "(`./inv dashboard --proxy` starts it)")  # fmt: skip
    return access


def _access(context: str, namespace: str, headlamp: bool, skip_login: bool) -> DashboardAccess:
    token = ("-n", namespace, "create", "token", VIEWER)
    if headlamp:
        # Headlamp serves at its root path, which the API server proxy would rewrite: port-forward instead.
        serve = ("-n", namespace, "port-forward", "service/headlamp", "4466:80")
        return DashboardAccess(context, "http://localhost:4466/", serve, token, skip_login)
    url = f"http://localhost:8001/api/v1/namespaces/{namespace}/services/https:kubernetes-dashboard:/proxy/"
    return DashboardAccess(context, url, ("proxy",), token, skip_login)

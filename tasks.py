"""Developer tasks for the NTA stack. `./inv --list` shows the menu; `./inv --help TASK` the details.

Each task only parses its arguments; the logic lives (and is tested) in dev/nta_dev/. Tasks that change a
cluster refuse a non-local context unless it is named with `--context NAME` and confirmed with `--yes`.
"""

from __future__ import annotations

import os
from pathlib import Path

from invoke import Collection, Context, Exit, task

from nta_dev import doctor as doc
from nta_dev import testsuite
from nta_dev.cli import OptionalPositionalTask, toolkit_task
from nta_dev.images import base as offline_base
from nta_dev.images import build as image_builds
from nta_dev.kube import apply as applying
from nta_dev.kube import context as kube
from nta_dev.kube import dashboard as dash
from nta_dev.kube import logs as podlogs
from nta_dev.kube import metrics
from nta_dev.kube import seed as seeding
from nta_dev.kube import status as stack
from nta_dev.kube.safety import kubectl_for
from nta_dev.stack import containers as container_stack
from nta_dev.stack import up as dev_up
from nta_dev.tilt import install as tilt

REPO = Path(__file__).resolve().parent
CONTEXT_HELP = "kube context to use (default: the current one); a non-local one also needs --yes"
YES_HELP = "confirm changing a non-local cluster named with --context"


@task
def lint(c: Context) -> None:
    """Ruff: lint every Python file of the repository."""
    c.run("ruff check .", pty=False)


@task(help={"layer": "run only this test layer (a folder under tests/, e.g. unit)", "k": "pytest -k expression"})
def test(c: Context, layer: str = "", k: str = "") -> None:
    """Lint, then run every test layer (what CI runs)."""
    lint(c)
    target = f"tests/{layer}" if layer else "tests"
    selection = f" -k {k!r}" if k else ""
    result = c.run(f"python -m pytest {target} -q{selection}", warn=True, pty=False)
    if result.exited != 0:
        raise Exit(f"tests failed (exit {result.exited}); rerun one layer with `./inv test --layer unit`",
                   code=result.exited)


@task(help={"url": "base URL of a running stack, e.g. http://localhost:31000 (default: start the local stack)",
            "k": "pytest -k expression"})  # fmt: skip
def test_e2e(c: Context, url: str = "", k: str = "") -> None:
    """End-to-end tests against a running stack (--url).

    Without --url the suite starts the local stack itself; `--url http://localhost:31000` tests a cluster.
    """
    code = testsuite.run_e2e(c, url or None, k)
    if code != 0:
        raise Exit(f"e2e tests failed (exit {code})", code=code)


@task
def bench(c: Context) -> None:
    """Print seconds per workflow step (benchmarks)."""
    c.run("python benchmarks/bench_workflow.py", pty=False)


@toolkit_task(klass=OptionalPositionalTask, positional=["name"], help={"name": "context to switch to"})
def context(c: Context, name: str = "") -> None:
    """Show the kube context (local?); `context NAME` switches."""
    if name:
        ctx = kube.use_context(c, name)
        print(f"nta: current context is now {ctx.name} ({'local' if ctx.local else 'NOT local'})")
    else:
        print(kube.describe(kube.load_kubeconfig()))


@toolkit_task(help={"headlamp": "install Headlamp (the maintained successor) instead of Kubernetes Dashboard v2.7.0",
                    "manifest": "apply this local manifest file instead of downloading it (offline machines)",
                    "proxy": "then serve the UI (kubectl proxy / port-forward) until Ctrl-C",
                    "context": CONTEXT_HELP, "yes": YES_HELP})  # fmt: skip
def dashboard(c: Context, headlamp: bool = False, manifest: str = "", proxy: bool = False, context: str = "",
              yes: bool = False) -> None:  # fmt: skip
    """Install a cluster web UI with a read-only login token.

    Kubernetes Dashboard v2.7.0 (archived upstream in 2026-01) with --enable-skip-login on local contexts
    only, or Headlamp with --headlamp. Creates ServiceAccount nta-dashboard-viewer (ClusterRole view).
    """
    kubectl = kubectl_for(c, context or None, yes, action="install a dashboard")
    access = dash.install_dashboard(kubectl, manifest or None, headlamp)
    if proxy:
        kubectl.run(*access.serve_args, warn=True)


@toolkit_task(help={"manifest": "apply this local components.yaml instead of downloading it (offline machines)",
                    "timeout": "seconds to wait for `kubectl top nodes`", "context": CONTEXT_HELP, "yes": YES_HELP})
def metrics_server(c: Context, manifest: str = "", timeout: int = 120, context: str = "", yes: bool = False) -> None:
    """Install metrics-server and wait for `kubectl top nodes`.

    Adds --kubelet-insecure-tls on local contexts only; on minikube enables its addon instead.
    """
    kubectl = kubectl_for(c, context or None, yes, action="install metrics-server")
    metrics.install_metrics_server(kubectl, manifest or None, timeout=timeout)


@toolkit_task(help={"overlay": "k8s/overlays/<overlay>: dev (local clusters) or aws", "context": CONTEXT_HELP,
                    "yes": YES_HELP})  # fmt: skip
def apply(c: Context, overlay: str = "", context: str = "", yes: bool = False) -> None:
    """Deploy an overlay in dependency order (MongoDB first).

    Order: Namespace, ConfigMap, Secret, PersistentVolume, PersistentVolumeClaim, Service, StatefulSet
    (then waits for its rollout), Deployment, HorizontalPodAutoscaler, anything else. The dev overlay's
    secrets.env is generated on first use.
    """
    overlay = overlay or c.config.nta.overlay
    kubectl = kubectl_for(c, context or None, yes, action=f"apply the {overlay} overlay")
    applying.apply_overlay(kubectl, REPO / "k8s", overlay)
    print(f"nta: applied; `./inv status --context {kubectl.context.name}` shows readiness and the URL")


@toolkit_task(help={"overlay": "the overlay that was applied", "purge": "also delete the namespace and MongoDB's data",
                    "context": CONTEXT_HELP, "yes": YES_HELP})  # fmt: skip
def down(c: Context, overlay: str = "", purge: bool = False, context: str = "", yes: bool = False) -> None:
    """Delete the deployed stack (data kept unless --purge)."""
    overlay = overlay or c.config.nta.overlay
    kubectl = kubectl_for(c, context or None, yes, action=f"delete the {overlay} overlay")
    applying.delete_overlay(kubectl, REPO / "k8s", overlay, purge)


@toolkit_task(help={"context": "kube context to read (default: the current one)"})
def status(c: Context, context: str = "") -> None:
    """Show workloads, pod readiness, HPAs and the stack URL."""
    kubectl = kubectl_for(c, context or None, False, action="show the status", changes_cluster=False)
    stack.show_status(kubectl, c.config.nta.namespace)


@toolkit_task(positional=["service"], help={"service": ", ".join(podlogs.SERVICES), "follow": "stream new lines",
                                            "tail": "lines of history per pod", "context": "kube context to read"})
def logs(c: Context, service: str, follow: bool = False, tail: int = 200, context: str = "") -> None:
    """Print (or --follow) one service's logs from all its pods."""
    podlogs.label_for(service)  # an unknown name fails before any cluster call
    kubectl = kubectl_for(c, context or None, False, action="read logs", changes_cluster=False)
    podlogs.show_logs(kubectl, service, c.config.nta.namespace, follow, tail)


@toolkit_task(help={"context": "kube context to read (default: the current one)"})
def url(c: Context, context: str = "") -> None:
    """Print the URL of the deployed stack."""
    kubectl = kubectl_for(c, context or None, False, action="find the URL", changes_cluster=False)
    print(stack.stack_url(kubectl, c.config.nta.namespace))


@toolkit_task(help={"file": f"reference CSV (default: {seeding.SEED_CSV.relative_to(REPO)})",
                    "replace": "empty the reference collection first",
                    "mongo_url": "load straight into this MongoDB (default: $NTA_MONGO_URL; unset = the cluster)",
                    "context": CONTEXT_HELP, "yes": YES_HELP})  # fmt: skip
def seed(c: Context, file: str = "", replace: bool = False, mongo_url: str = "", context: str = "",
         yes: bool = False) -> None:  # fmt: skip
    """Load a chemical reference CSV into the running stack.

    With NTA_MONGO_URL (or --mongo-url) it loads straight into that MongoDB; otherwise it streams the file
    into the cluster's Flask pod (`nta-load-reference -`).
    """
    csv = Path(file) if file else seeding.SEED_CSV
    mongo_url = mongo_url or os.environ.get("NTA_MONGO_URL", "")
    if mongo_url:
        db_name = os.environ.get("NTA_DB_NAME", "nta")
        count = seeding.seed_local(mongo_url, csv, db_name, replace)
        print(f"nta: loaded {count} compounds from {csv.name} into {db_name}")
    else:
        kubectl = kubectl_for(c, context or None, yes, action="load reference data")
        seeding.seed_cluster(kubectl, csv, c.config.nta.namespace, replace)


@toolkit_task(iterable=["debug"],
              help={"local": "run the local stack even when Tilt could be used",
                    "port_offset": "local stack only: add N to every port (nginx 31000+N, ...)",
                    "debug": "run under a debugger: django, flask or worker (repeatable; port printed)",
                    "debugger": "dap (debugpy listens: VS Code & co attach) or pycharm (dials PyCharm)"})  # fmt: skip
def up(c: Context, local: bool = False, port_offset: int = 0, debug: list[str] | None = None,
       debugger: str = "dap") -> None:
    """Start the dev loop: Tilt if possible, else local processes.

    Tilt is chosen when tilt is on PATH, a Tiltfile exists and the current context is local; the task
    says which it chose and why. `--debug django` runs Django under debugpy (DAP on 127.0.0.1:5678; flask 5679,
    worker 5680); breakpoints survive reloads. `--debugger pycharm` makes it dial PyCharm's debug server instead.
    """
    code = dev_up.run_up(c, local, port_offset, debug=debug or (), debugger=debugger)
    if code:
        raise Exit(code=code)


@toolkit_task(help={"down": "stop the cluster and remove what it left (processes, mounts, containers, firewall rules)",
                    "merge_kubeconfig": "also add context nta-local to ~/.kube/config (the current context is kept)",
                    "restart_docker": "allow restarting dockerd with the runc wrapper this kernel needs "
                                      "(stops containers)",
                    "version": "Kubernetes release to build and run (default: $NTA_K8S_VERSION, else the toolkit's "
                               "default; `python -m nta_dev.cluster releases` lists them)"})  # fmt: skip
def cluster_local(c: Context, down: bool = False, merge_kubeconfig: bool = False, restart_docker: bool = False,
                  version: str = "") -> None:  # fmt: skip
    """Start (or --down) a real single-node Kubernetes here.

    Builds the release once from source (cached in ~/.cache/nta-dev/kubernetes/<version>), then etcd, the control
    plane, cri-dockerd in front of the Docker engine, a kubelet and kube-proxy; writes a kubeconfig with the
    local context nta-local. Needs root.
    """
    from nta_dev import cluster

    if down:
        cluster.down()
        print("nta: the local cluster is stopped")
        return
    started = cluster.up(merge_kubeconfig=merge_kubeconfig, allow_docker_restart=restart_docker,
                         version=version or None)
    print(f"nta: Kubernetes {started.version} node Ready. export KUBECONFIG={started.kubeconfig}   "
          f"# context {started.context}\n"
          "nta: then `./inv apply --overlay cluster-local` (images: python -m nta_dev.images.build --target dev)")


@toolkit_task(help={"version": f"Tilt release to build (default {tilt.TILT_VERSION})",
                    "link_dir": "folder to put a `tilt` symlink in (default: the venv's bin, on PATH under ./inv)"})
def tools(c: Context, version: str = tilt.TILT_VERSION, link_dir: str = "") -> None:
    """Build the pinned Tilt from its Go source (once, cached).

    Needs Go >= 1.26; about 5 minutes on 2 cores the first time, cached in ~/.cache/nta-dev/tools by version.
    Links it into .venv/bin, so `./inv up` and an activated venv find `tilt`.
    """
    import sys

    binary = tilt.ensure(version)
    linked = tilt.link(binary, Path(link_dir) if link_dir else Path(sys.prefix) / "bin")
    print(f"nta: {linked} -> {binary}")


@toolkit_task(iterable=["name"], help={"name": "image to build (repeatable; default all four)",
                                       "target": "Dockerfile target: dev, prod or all",
                                       "base_image": "BASE_IMAGE build arg (default: the offline nta-base:bookworm)",
                                       "quiet": "print only the summary"})  # fmt: skip
def images(c: Context, name: list[str] | None = None, target: str = "dev", base_image: str = "",
           quiet: bool = False) -> None:  # fmt: skip
    """Build the service images (Docker), cached when current."""
    argv = [*(name or []), "--target", target, *(["--base-image", base_image] if base_image else []),
            *(["--quiet"] if quiet else [])]  # fmt: skip
    image_builds.main(argv)


@toolkit_task(help={"tag": "image tag to create", "force": "rebuild even if the tag exists",
                    "fresh": "also re-run debootstrap instead of the cached rootfs"})  # fmt: skip
def base_image(c: Context, tag: str = "", force: bool = False, fresh: bool = False) -> None:
    """Build the offline Python base image (debootstrap)."""
    offline_base.main([*(["--tag", tag] if tag else []), *(["--force"] if force else []),
                       *(["--fresh"] if fresh else [])])  # fmt: skip


@toolkit_task(klass=OptionalPositionalTask, positional=["action"],
              help={"action": "up (start a stack, print its URL) or down (remove the stacks `up` started)",
                    "target": "up: dev or prod images", "port": "up: host port of nginx (default: a free one)",
                    "build": "up: build the images first"})  # fmt: skip
def containers(c: Context, action: str = "up", target: str = "dev", port: int = 0, build: bool = False) -> None:
    """Run the stack as Docker containers: up, down."""
    if action not in ("up", "down"):
        raise Exit(f"nta: error: `containers {action}`: choose up or down", code=2)
    extra = ["--target", target, *(["--port", str(port)] if port else []), *(["--build"] if build else [])]
    container_stack.main([action, *(extra if action == "up" else [])])


@task
def doctor(c: Context) -> None:
    """Check tools, context, ports, MongoDB; name each fix."""
    text, problems = doc.report(doc.diagnose())
    print(text)
    if problems:
        raise Exit(code=1)


ns = Collection(up, status, url, logs, seed, context, apply, down, dashboard, metrics_server, cluster_local, tools,
                images, base_image, containers, doctor, test, test_e2e, lint, bench)  # fmt: skip
ns.configure({
    "run": {"echo": True},
    # The contract with k8s/: namespace of every object, overlay applied by default.
    "nta": {"namespace": "nta", "overlay": "dev"},
})  # fmt: skip

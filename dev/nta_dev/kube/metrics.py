"""metrics-server (`./inv metrics-server`): what the Dask worker HPA and `kubectl top` need.

Local clusters' kubelets serve self-signed certificates, so ``--kubelet-insecure-tls`` is added there and only
there; minikube ships metrics-server as an addon, which is used instead of the manifest. On the toolkit's own
cluster (context ``nta-local``), which reaches no registry or download site, the image is built here from
metrics-server's Go module and the manifest comes from the same module (``nta_dev.cluster.metrics_server``).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from ..errors import ToolkitError
from ..tools import require
from .context import Kubectl
from .yamldocs import add_container_arg, dump, load, parse

METRICS_SERVER_URL = "https://github.com/kubernetes-sigs/metrics-server/releases/download/v0.7.2/components.yaml"
INSECURE_TLS = "--kubelet-insecure-tls"
NAMESPACE = "kube-system"


def install_metrics_server(kubectl: Kubectl, manifest: str | Path | None = None, timeout: float = 120.0,
                           interval: float = 5.0) -> str:  # fmt: skip
    """Install metrics-server, then wait until ``kubectl top nodes`` answers; returns its output."""
    ctx = kubectl.context
    if ctx.is_minikube:
        minikube = require("minikube", "enable minikube's metrics-server addon")
        print(f"nta: {ctx.name} is minikube: using its addon instead of the manifest")
        kubectl.c.run(shlex.join([minikube, "addons", "enable", "metrics-server", "-p", ctx.name]),
                      in_stream=False, pty=False)  # fmt: skip
    else:
        from ..cluster import CONTEXT as cluster_context  # here: that package costs ~0.1 s of every task's start-up

        if manifest is None and ctx.name == cluster_context:
            from ..cluster import metrics_server as built

            image = built.ensure_image()
            docs = parse(built.render_manifest(), "metrics-server's module manifests")
            built.set_local_image(docs, image)
            print(f"nta: {ctx.name} is the toolkit's cluster: metrics-server {image} built from its Go module")
        else:
            docs = load(manifest or METRICS_SERVER_URL)
        if ctx.local:
            if not add_container_arg(docs, "Deployment", "metrics-server", "metrics-server", INSECURE_TLS):
                raise ToolkitError(f"{manifest or METRICS_SERVER_URL} has no Deployment metrics-server with a "
                                   "container of that name: pass metrics-server's components.yaml as --manifest")
            print(f"nta: {ctx.name} is local: adding {INSECURE_TLS} (local kubelets use self-signed certificates)")
        kubectl.run("apply", "-f", "-", stdin=dump(docs))
    return wait_for_metrics(kubectl, timeout, interval)


def wait_for_metrics(kubectl: Kubectl, timeout: float, interval: float) -> str:
    """Poll ``kubectl top nodes`` until it answers; after ``timeout`` raise an error that says why not."""
    deadline = time.monotonic() + timeout
    print(f"nta: waiting for `kubectl top nodes` (at most {timeout:g} s; the first scrape takes about a minute)")
    while True:
        result = kubectl.run("top", "nodes", hide=True, warn=True)
        if result.exited == 0:
            print(result.stdout, end="")
            return result.stdout
        if time.monotonic() + interval > deadline:
            break
        time.sleep(interval)
    reason = (result.stderr or result.stdout).strip().splitlines()
    name = kubectl.context.name
    raise ToolkitError(
        f"`kubectl top nodes` still fails after {timeout:g} s: {reason[-1] if reason else 'no output'}. "
        f"See why with `kubectl --context {name} -n {NAMESPACE} logs deploy/metrics-server` and "
        f"`kubectl --context {name} get apiservice v1beta1.metrics.k8s.io` (a kubelet certificate error on a "
        "non-local cluster needs valid kubelet serving certificates); rerun `./inv metrics-server` to wait again."
    )

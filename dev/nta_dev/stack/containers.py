"""The whole NTA stack as containers on one Docker network (docker SDK), reachable through nginx on a host port.

    python -m nta_dev.stack.containers up [--target dev|prod] [--port N] [--build]   # prints the base URL
    python -m nta_dev.stack.containers down [STACK_ID ...]                          # default: every stack it started

Containers: the MongoDB stand-in (nta-mongo-standin), flask, django, the Dask scheduler and one worker, nginx.
Each joins the stack's own network under the Kubernetes Service name (nta-mongodb, nta-flask, ...), so the images
run with the same configuration contract as on a cluster, and several stacks can run side by side. Everything the
module creates carries the label `org.nta.stack=<id>`, which `down` uses to clean up.

In tests: ``with running_container_stack() as stack: run e2e against stack.base_url``; or start it from a shell
and run ``pytest tests/e2e --base-url URL``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from ..errors import ToolkitError, entry_point
from ..images.base import docker_client
from ..images.build import IMAGES, MONGO_STANDIN, build_many
from ..kube import manifests
from ..services import health_paths

LABEL = "org.nta.stack"
MONGO_URL = "mongodb://nta-mongodb:27017"
SEED_CSV = "/app/services/flask/seed/reference_seed.csv"
WORKER_NAME = "worker-1"  # Kubernetes names each worker after its pod ($(POD_NAME)); here there is one


class ContainerStackError(ToolkitError):
    """The container stack did not come up; the message carries the failing container's log tail."""


def environment(secret_key: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The configuration contract as the containers see it: the ConfigMap nta-config of k8s/base, and the keys of
    the Secret nta-secrets."""
    return {**manifests.config(), "NTA_MONGO_URL": MONGO_URL, "DJANGO_SECRET_KEY": secret_key, **(extra or {})}


def worker_command(target: str) -> list[str]:
    """The worker Deployment's command (with the dev overlay's reloader for the dev images)."""
    argv = manifests.command("nta-dask-worker", "dev" if target == "dev" else None)
    return [WORKER_NAME if a == "$(POD_NAME)" else a for a in argv]


@dataclass
class ContainerStack:
    stack_id: str
    target: str
    base_url: str = ""
    containers: dict = field(default_factory=dict)  # service -> docker Container
    network: object = None

    def logs(self, service: str, tail: int = 60) -> str:
        try:
            return self.containers[service].logs(tail=tail).decode(errors="replace")
        except Exception as exc:  # the container may be gone already
            return f"(no logs: {exc})"

    def stop(self) -> None:
        remove_stacks([self.stack_id])

    def address(self, service: str) -> str:
        """The container's IP on the stack network: reachable from this host (Linux bridge), e.g. to reach the
        Dask scheduler, which nginx does not route to."""
        container = self.containers[service]
        container.reload()
        return container.attrs["NetworkSettings"]["Networks"][self.stack_id]["IPAddress"]


def _get(url: str, timeout: float = 3.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
    except (urllib.error.URLError, OSError):
        return 0, b""


def health_urls(base_url: str) -> dict[str, str]:
    return {service: base_url + path for service, path in health_paths().items()}


def worker_count(base_url: str) -> int:
    """Workers connected to the stack's scheduler, from its dashboard through nginx (0 when it does not answer)."""
    status, body = _get(f"{base_url}/nta/dask/json/counts.json")
    try:
        return int(json.loads(body).get("workers", 0)) if status == 200 else 0
    except ValueError:
        return 0


def _wait_ready(stack: ContainerStack, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = dict(health_urls(stack.base_url))
    while time.monotonic() < deadline:
        for name, url in list(pending.items()):
            if _get(url)[0] == 200:
                del pending[name]
        if not pending and worker_count(stack.base_url) >= 1:
            return
        for service, container in stack.containers.items():
            container.reload()
            if container.status == "exited":
                raise ContainerStackError(
                    f"container {container.name} ({service}) exited with "
                    f"{container.attrs['State'].get('ExitCode')}:\n{stack.logs(service)}"
                )
        time.sleep(0.5)
    waiting = list(pending) or ["worker"]  # every health check passed: no worker joined the scheduler
    logs = "\n".join(f"--- {s} ---\n{stack.logs(s, 25)}" for s in waiting)
    raise ContainerStackError(f"stack {stack.stack_id} not ready after {timeout:.0f} s; still waiting for "
                              f"{', '.join(waiting)}; their logs:\n{logs}")  # fmt: skip


def _seed_reference(stack: ContainerStack, timeout: float = 30.0) -> None:
    """Load the shipped reference seed (as the local stack does), so searches find something out of the box."""
    deadline = time.monotonic() + timeout
    while True:
        code, output = stack.containers["flask"].exec_run(["nta-load-reference", SEED_CSV])
        if code == 0:
            return
        if time.monotonic() > deadline:
            raise ContainerStackError(f"seeding the reference collection failed: {output.decode(errors='replace')}")
        time.sleep(1)


def start_container_stack(
    target: str = "dev",
    *,
    host_port: int | None = None,
    build: bool = False,
    base_image: str | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
    seed: bool = True,
    log: Callable[[str], None] = lambda _line: None,
) -> ContainerStack:
    """Start the stack from the `nta-*:<target>` images; returns it ready (every health check through nginx
    answers 200, one worker joined). `host_port` None picks a free port on 127.0.0.1. Stop it with `.stop()`."""
    import docker.errors

    client = docker_client()
    if build:
        build_many([*IMAGES, MONGO_STANDIN.name], [target], base_image=base_image, log=log)
    missing = []
    for tag in [MONGO_STANDIN.tag(None)] + [spec.tag(target) for spec in IMAGES.values()]:
        try:
            client.images.get(tag)
        except docker.errors.ImageNotFound:
            missing.append(tag)
    if missing:
        raise ContainerStackError(f"images missing: {', '.join(missing)}; build them with "
                                  f"`python -m nta_dev.images.build --target {target} nta-mongo-standin "
                                  f"{' '.join(IMAGES)}` (or pass build=True / --build)")  # fmt: skip
    stack_id = f"nta-{secrets.token_hex(4)}"
    labels = {LABEL: stack_id}
    env = environment(secrets.token_urlsafe(40), extra_env)
    stack = ContainerStack(stack_id, target)
    try:
        stack.network = client.networks.create(stack_id, driver="bridge", labels=labels)

        def run(service: str, image: str, alias: str, **kwargs) -> None:
            container = client.containers.create(image, name=f"{stack_id}-{service}", labels=labels,
                                                 environment=env, network=stack_id, **kwargs)  # fmt: skip
            stack.containers[service] = container
            # Connect with the Service name as alias (create() can only give the default network no aliases).
            stack.network.disconnect(container)
            stack.network.connect(container, aliases=[alias])
            container.start()
            log(f"containers: started {container.name} ({image})")

        run("mongodb", MONGO_STANDIN.tag(None), "nta-mongodb")
        run("flask", IMAGES["nta-flask"].tag(target), "nta-flask")
        run("django", IMAGES["nta-django"].tag(target), "nta-django")
        run("scheduler", IMAGES["nta-dask"].tag(target), "nta-dask-scheduler")  # the image's CMD, as on Kubernetes
        run("worker", IMAGES["nta-dask"].tag(target), "nta-dask-worker", command=worker_command(target))
        # Last: nginx resolves its upstream names when it starts.
        run("nginx", IMAGES["nta-nginx"].tag(target), "nta-nginx", ports={"8080/tcp": ("127.0.0.1", host_port)})
        nginx = stack.containers["nginx"]
        nginx.reload()
        bound = nginx.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
        stack.base_url = f"http://127.0.0.1:{bound}"
        _wait_ready(stack, timeout)
        if seed:
            _seed_reference(stack)
    except BaseException:
        stack.stop()
        raise
    log(f"containers: stack {stack_id} ready at {stack.base_url}")
    return stack


@contextmanager
def running_container_stack(target: str = "dev", **kwargs) -> Iterator[ContainerStack]:
    stack = start_container_stack(target, **kwargs)
    try:
        yield stack
    finally:
        stack.stop()


def remove_stacks(stack_ids: list[str] | None = None) -> list[str]:
    """Remove the containers and networks of the given stacks (all stacks this module started when None)."""
    client = docker_client()
    filters = {"label": [LABEL] if stack_ids is None else [f"{LABEL}={s}" for s in stack_ids]}
    removed = []
    # One label filter per stack id: Docker ANDs label filters, so query each id separately.
    for flt in [{"label": f} for f in filters["label"]]:
        for container in client.containers.list(all=True, filters=flt):
            container.remove(force=True, v=True)
            removed.append(container.name)
        for network in client.networks.list(filters=flt):
            network.remove()
            removed.append(network.name)
    return removed


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nta_dev.stack.containers", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a stack and print its base URL (it keeps running)")
    up.add_argument("--target", choices=("dev", "prod"), default="dev")
    up.add_argument("--port", type=int, default=None, help="host port for nginx (default: a free one)")
    up.add_argument("--build", action="store_true", help="build the images first")
    down = sub.add_parser("down", help="remove stacks started by `up` (default: all of them)")
    down.add_argument("stack_ids", nargs="*")
    args = parser.parse_args(argv)
    if args.command == "up":
        stack = start_container_stack(args.target, host_port=args.port, build=args.build, log=print)
        print(f"{stack.base_url}\n(stop with: python -m nta_dev.stack.containers down {stack.stack_id})")
    else:
        for name in remove_stacks(args.stack_ids or None):
            print(f"removed {name}")


if __name__ == "__main__":
    sys.exit(main())

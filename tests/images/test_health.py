"""Each service container starts on its own and answers its health check (the probe of the manifests)."""

from __future__ import annotations

import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from nta_dev.images.build import TARGETS


def wait_http_200(container, port: str, path: str, timeout: float = 60.0) -> None:
    container.reload()
    host_port = container.attrs["NetworkSettings"]["Ports"][port][0]["HostPort"]
    url, last = f"http://127.0.0.1:{host_port}{path}", ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        container.reload()
        if container.status == "exited":
            break
        time.sleep(0.5)
    logs = container.logs(tail=30).decode(errors="replace")
    pytest.fail(f"{container.image.tags} {url}: no 200 within {timeout:.0f} s (last: {last}); "
                f"status {container.status}; logs:\n{logs}")  # fmt: skip


@pytest.fixture(scope="module")
def mongo_network(built, docker_client) -> Iterator[str]:
    """A network with the MongoDB stand-in answering as nta-mongodb (the Service name)."""
    name = f"nta-images-test-{secrets.token_hex(4)}"
    network = docker_client.networks.create(name, labels={"org.nta.test": "images"})
    mongo = docker_client.containers.create("nta-mongo-standin:dev", labels={"org.nta.test": "images"})
    network.connect(mongo, aliases=["nta-mongodb"])
    mongo.start()
    try:
        yield name
    finally:
        mongo.remove(force=True, v=True)
        network.remove()


ENV = {
    "NTA_MONGO_URL": "mongodb://nta-mongodb:27017",
    "DJANGO_ALLOWED_HOSTS": "*",
    "DJANGO_DEBUG": "0",
    "NTA_DASK_SCHEDULER": "tcp://nta-dask-scheduler:8786",
    "NTA_API_URL": "http://nta-flask:5000/nta/rest",
}


@pytest.mark.parametrize("target", TARGETS)
def test_flask_answers_healthz(run_container, mongo_network: str, target: str) -> None:
    flask = run_container(f"nta-flask:{target}", network=mongo_network, environment=ENV,
                          ports={"5000/tcp": ("127.0.0.1", None)})  # fmt: skip
    wait_http_200(flask, "5000/tcp", "/nta/rest/healthz")


@pytest.mark.parametrize("target", TARGETS)
def test_django_answers_healthz(run_container, mongo_network: str, target: str) -> None:
    env = {**ENV, "DJANGO_SECRET_KEY": secrets.token_urlsafe(40)}
    django = run_container(f"nta-django:{target}", network=mongo_network, environment=env,
                           ports={"8000/tcp": ("127.0.0.1", None)})  # fmt: skip
    wait_http_200(django, "8000/tcp", "/nta/healthz")


@pytest.mark.parametrize("target", TARGETS)
def test_dask_scheduler_answers_health(built, run_container, target: str) -> None:
    # No command: the image's own CMD, which the scheduler Deployment runs too.
    scheduler = run_container(f"nta-dask:{target}", ports={"8787/tcp": ("127.0.0.1", None)})
    wait_http_200(scheduler, "8787/tcp", "/nta/dask/health")


@pytest.mark.parametrize("target", TARGETS)
def test_nginx_answers_healthz_as_the_app_user(built, run_container, target: str) -> None:
    # Upstreams on localhost: this container runs alone, without the Service names of the stack.
    env = {f"NTA_{s}_UPSTREAM": "127.0.0.1:9" for s in ("DJANGO", "FLASK", "DASK")}
    nginx = run_container(f"nta-nginx:{target}", environment=env, ports={"8080/tcp": ("127.0.0.1", None)})
    wait_http_200(nginx, "8080/tcp", "/healthz")
    # PID 1 is the nginx master: not root. The reload script (Tilt's run step) works as the same user.
    # demux: nginx's own "signal process started" notice goes to stderr and may interleave anywhere.
    code, (out, err) = nginx.exec_run(["sh", "-c", "stat -c %u /proc/1 && nta-nginx-reload"], demux=True)
    assert code == 0, (out or b"").decode() + (err or b"").decode()
    lines = (out or b"").decode().strip().splitlines()
    assert lines == ["10001", "nta-nginx: reloaded /tmp/nginx.conf"], lines

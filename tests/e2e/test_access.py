"""Access through nginx on a local stack started with the aws overlay's access settings (NTA_AUTH=header,
NTA_TRUST_FORWARDED_PROTO=on, NTA_DASK_DASHBOARD=off). The test plays the auth proxy / Ingress in front: it sets
the identity header and X-Forwarded-Proto itself. Then the default stack (auth off) shows the other side of each
switch. Both need stacks this suite starts: with --base-url these tests are skipped."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from nta_dev.stack.local import StackConfig, free_port_offset
from tests.e2e.client import StackClient
from tests.e2e.data import shipped
from tests.fixtures.require import unavailable
from tests.fixtures.stack import background_stack

HEADER = "X-Auth-Request-User"  # oauth2-proxy's, the default NTA_AUTH_HEADER
ALICE, BOB = "alice@example.org", "bob@example.org"
ACCESS_ENV = {"NTA_AUTH": "header", "NTA_TRUST_FORWARDED_PROTO": "on", "NTA_DASK_DASHBOARD": "off"}


@pytest.fixture(scope="module")
def secured_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.config.getoption("--base-url"):
        pytest.skip("needs a local stack started with NTA_AUTH=header (not --base-url)")
    tmp = tmp_path_factory.mktemp("secured-stack")
    cfg = StackConfig(port_offset=free_port_offset(), state_dir=tmp / "state", max_upload_mb=16, lease_seconds=15,
                      extra_env=ACCESS_ENV)  # fmt: skip
    with background_stack(cfg, tmp / "secured-stack.log"):
        yield cfg.base_url


def _client(base_url: str, user: str | None) -> StackClient:
    client = StackClient(base_url)
    if user:
        client.http.headers[HEADER] = user  # what the auth proxy adds to every request it lets through
    return client


@pytest.fixture(scope="module")
def alices_job(secured_url: str) -> str:
    alice = _client(secured_url, ALICE)
    job_id = alice.submit(shipped("pos"), {"project_name": "Alice private e2e"})
    status, _ = alice.wait(job_id, timeout=240)
    assert status["status"] == "completed", status
    return job_id


def _job_urls(job_id: str) -> list[str]:
    return [f"/nta/jobs/{job_id}/", f"/nta/jobs/{job_id}/status.json", f"/nta/jobs/{job_id}/results/",
            f"/nta/jobs/{job_id}/files/workbook", f"/nta/rest/jobs/{job_id}", f"/nta/rest/jobs/{job_id}/results",
            f"/nta/rest/jobs/{job_id}/results/workbook"]  # fmt: skip


def test_anonymous_is_refused_with_401(secured_url: str, alices_job: str) -> None:
    anonymous = requests.Session()
    for path in ("/nta/", "/nta/jobs/", "/nta/rest/jobs/", *_job_urls(alices_job)):
        response = anonymous.get(secured_url + path, timeout=30)
        assert response.status_code == 401, path
        assert alices_job not in response.text and "Alice private" not in response.text, path
    assert "Sign-in required" in anonymous.get(secured_url + "/nta/", timeout=30).text
    assert anonymous.post(secured_url + "/nta/jobs/", data={"project_name": "x"}, timeout=30).status_code == 401
    # probes and static files need no user
    assert anonymous.get(secured_url + "/nta/healthz", timeout=30).status_code == 200
    assert anonymous.get(secured_url + "/nta/static/nta_web/nta.css", timeout=30).status_code == 200


def test_another_user_cannot_see_the_job_anywhere(secured_url: str, alices_job: str) -> None:
    bob = _client(secured_url, BOB)
    listing = bob.http.get(secured_url + "/nta/jobs/", timeout=30)
    assert listing.status_code == 200 and alices_job not in listing.text and "Alice private" not in listing.text
    rest = bob.http.get(secured_url + "/nta/rest/jobs/", timeout=30).json()
    assert alices_job not in {j["job_id"] for j in rest["jobs"]}
    for path in _job_urls(alices_job):
        response = bob.http.get(secured_url + path, timeout=30)
        assert response.status_code == 404, path  # not 403: the job's existence is not revealed
        assert response.content[:2] != b"PK", path


def test_the_owner_sees_everything(secured_url: str, alices_job: str) -> None:
    alice = _client(secured_url, ALICE)
    assert alices_job in alice.http.get(secured_url + "/nta/jobs/", timeout=30).text
    for path in _job_urls(alices_job):
        assert alice.http.get(secured_url + path, timeout=60).status_code == 200, path
    assert alice.file(alices_job, "workbook").content[:2] == b"PK"
    rest = alice.http.get(secured_url + "/nta/rest/jobs/", timeout=30).json()
    assert alices_job in {j["job_id"] for j in rest["jobs"]}


def _https_post(base_url: str, forwarded_proto: str | None) -> requests.Response:
    """The form posted as a browser on https://<host> does, through an Ingress that sends `forwarded_proto`."""
    alice = _client(base_url, ALICE)
    if forwarded_proto:
        alice.http.headers["X-Forwarded-Proto"] = forwarded_proto
    page = alice.http.get(base_url + "/nta/", timeout=30)
    assert page.status_code == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    origin = base_url.replace("http://", "https://")
    return alice.http.post(base_url + "/nta/jobs/", files={"pos": shipped("pos")["pos"]},
                           data={"csrfmiddlewaretoken": token, "project_name": "https e2e"},
                           headers={"Origin": origin, "Referer": origin + "/nta/", "Accept": "application/json"},
                           timeout=120)  # fmt: skip


def test_an_upload_refused_by_csrf_gets_the_403_not_a_502(secured_url: str) -> None:
    # Django answers before it has read a big upload; the rest must still be read, or nginx, still sending it,
    # fails its write and answers 502 in Django's place.
    alice = _client(secured_url, ALICE)
    big = ("big.csv", b"Feature,Mass\n" + b"1,100.0\n" * 1_200_000)  # ~10 MB, under the stack's 16 MB limit
    cross_site = {"Origin": "https://elsewhere.example", "Accept": "application/json"}  # refused before the body
    for _ in range(3):
        response = alice.http.post(secured_url + "/nta/jobs/", files={"pos": big}, data={"project_name": "x"},
                                   headers=cross_site, timeout=120)  # fmt: skip
        assert response.status_code == 403, f"HTTP {response.status_code}: {response.text[:200]}"


def test_https_forwarded_post_passes_csrf(secured_url: str) -> None:
    response = _https_post(secured_url, "https")
    assert response.status_code == 201, response.text[:500]
    # Django now knows the browser's scheme: the links it builds are https
    assert response.json()["url"].startswith(secured_url.replace("http://", "https://") + "/nta/jobs/")
    # without the Ingress's header, the https Origin is cross-site for an http request: refused
    assert _https_post(secured_url, None).status_code == 403


def test_client_sent_forwarded_host_is_ignored(secured_url: str) -> None:
    alice = _client(secured_url, ALICE)
    alice.http.headers["X-Forwarded-Host"] = "evil.example"
    response = alice.upload(shipped("pos"), {"project_name": "xfh e2e"})
    assert response.status_code == 201, response.text[:500]
    assert response.json()["url"].startswith(secured_url + "/nta/jobs/"), response.json()["url"]
    assert "evil.example" not in response.text


def test_dask_dashboard_is_not_routed(secured_url: str) -> None:
    for path in ("/nta/dask/status", "/nta/dask/health", "/nta/dask/"):
        assert requests.get(secured_url + path, headers={HEADER: ALICE}, timeout=30).status_code == 404, path


# -- the default local stack: every switch in its local position ----------------------------------------------


@pytest.fixture
def local_stack(stack):
    if not stack.local:
        pytest.skip("needs the local stack this suite starts (not --base-url)")
    return stack


def test_default_stack_does_not_trust_a_client_forwarded_proto(local_stack) -> None:
    # nginx overwrites the client's X-Forwarded-Proto with its own scheme: a forged "https" does not make an
    # https Origin same-site
    assert _https_post(local_stack.base_url, "https").status_code == 403


def test_default_stack_is_open_says_so_and_routes_the_dashboard(local_stack) -> None:
    page = requests.get(local_stack.base_url + "/nta/jobs/", timeout=30)
    assert page.status_code == 200 and "Authentication off: local only" in page.text
    assert requests.get(local_stack.base_url + "/nta/rest/jobs/?limit=1", timeout=30).status_code == 200
    assert requests.get(local_stack.base_url + "/nta/dask/health", timeout=30).status_code == 200


# -- the image's renderer (docker-entrypoint.sh, envsubst) ----------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = REPO / "services" / "nginx" / "docker-entrypoint.sh"


def _render(tmp_path: Path, **switches: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "NTA_TEMPLATE": str(REPO / "services" / "nginx" / "nginx.conf.template"),
           "NTA_CONF": str(tmp_path / "nginx.conf"), "NTA_RUN_DIR": str(tmp_path / "run"),
           "NTA_STATIC_ROOT": str(tmp_path), "NTA_ERROR_ROOT": str(tmp_path), "NTA_DJANGO_UPSTREAM": "127.0.0.1:9",
           "NTA_FLASK_UPSTREAM": "127.0.0.1:9", "NTA_DASK_UPSTREAM": "127.0.0.1:9", **switches}  # fmt: skip
    return subprocess.run(["sh", str(ENTRYPOINT), "render"], env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("switches", [{}, {"NTA_DASK_DASHBOARD": "off", "NTA_TRUST_FORWARDED_PROTO": "on"}])
def test_image_renders_a_valid_config(tmp_path: Path, switches: dict[str, str]) -> None:
    for tool in ("envsubst", "nginx"):
        if not shutil.which(tool):
            unavailable(f"{tool} is not installed (apt-get install gettext-base nginx)")
    done = _render(tmp_path, **switches)
    assert done.returncode == 0, done.stderr
    conf = (tmp_path / "nginx.conf").read_text()
    dashboard = switches.get("NTA_DASK_DASHBOARD", "on")  # the entrypoint's defaults: on, off
    trust = switches.get("NTA_TRUST_FORWARDED_PROTO", "off")
    assert f'map "{dashboard}" $nta_dask_closed' in conf
    assert f'map "{trust}:$http_x_forwarded_proto" $nta_forwarded_proto' in conf
    assert "proxy_set_header X-Forwarded-Host $host;" in conf
    check = subprocess.run(["nginx", "-e", "stderr", "-t", "-q", "-c", str(tmp_path / "nginx.conf")],
                           capture_output=True, text=True, timeout=30)  # fmt: skip
    assert check.returncode == 0, check.stderr


@pytest.mark.parametrize("switch", ["NTA_DASK_DASHBOARD", "NTA_TRUST_FORWARDED_PROTO"])
def test_image_refuses_a_bad_switch(tmp_path: Path, switch: str) -> None:
    done = _render(tmp_path, **{switch: "yes"})
    assert done.returncode != 0 and switch in done.stderr and "on or off" in done.stderr
    assert not (tmp_path / "nginx.conf").exists()

"""The whole stack as containers on one Docker network, smoke-tested through the nginx container.

The full end-to-end suite runs against the same stack: `python -m nta_dev.stack.containers up` prints its URL, then
`pytest tests/e2e --base-url URL`.
"""

from __future__ import annotations

import csv
import json
import urllib.request
from collections.abc import Iterator

import pytest

from nta_dev.images.build import REPO, TARGETS
from nta_dev.stack.containers import ContainerStack, start_container_stack

SEED = REPO / "services/flask/seed/reference_seed.csv"


@pytest.fixture(scope="module", params=TARGETS)
def stack(request: pytest.FixtureRequest, built) -> Iterator[ContainerStack]:
    running = start_container_stack(request.param)
    try:
        yield running
    finally:
        running.stop()


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()


@pytest.mark.parametrize("path", ["/healthz", "/nta/healthz", "/nta/rest/healthz", "/nta/dask/health"])
def test_health_through_nginx(stack: ContainerStack, path: str) -> None:
    assert get(stack.base_url + path)[0] == 200


def test_pages_static_files_and_dashboard(stack: ContainerStack) -> None:
    status, ctype, body = get(f"{stack.base_url}/nta/")
    assert status == 200 and ctype.startswith("text/html") and b"<form" in body
    css = (REPO / "services/django/src/nta_web/static/nta_web/nta.css").read_bytes()
    assert get(f"{stack.base_url}/nta/static/nta_web/nta.css")[1:] == ("text/css", css)
    status, _, body = get(f"{stack.base_url}/nta/dask/json/counts.json")
    assert status == 200 and json.loads(body)["workers"] == 1


def test_search_api_finds_the_seeded_reference(stack: ContainerStack) -> None:
    rows = list(csv.DictReader(SEED.open()))
    health = json.loads(get(f"{stack.base_url}/nta/rest/healthz")[2])
    assert health["reference_compounds"] == len(rows)
    row = next(r for r in rows if r["PREFERRED_NAME"] == "Bisphenol A")
    body = json.dumps({"search_by": "mass", "query": [float(row["MONOISOTOPIC_MASS"])], "accuracy": 5}).encode()
    request = urllib.request.Request(f"{stack.base_url}/nta/rest/ms1/batch/smoke", data=body,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as resp:
        found = json.loads(resp.read())["results"]
    dtxsid = found["columns"].index("DTXSID")
    assert row["DTXSID"] in [r[dtxsid] for r in found["data"]]


def test_services_run_as_the_app_user(stack: ContainerStack) -> None:
    for service, container in stack.containers.items():
        if service == "mongodb":
            continue
        code, out = container.exec_run(["stat", "-c", "%u", "/proc/1"])
        assert (code, out.decode().strip()) == (0, "10001"), service

"""The search API through nginx: a 5,000-mass batch, a formula query, refusals."""

from __future__ import annotations

import numpy as np

from tests.e2e.client import StackClient


def test_a_batch_of_5000_masses(client: StackClient) -> None:
    masses = np.random.default_rng(7).uniform(100, 900, 5000).round(5).tolist()
    masses[0] = 194.179395  # DIMP-d14 of the shipped tracer list, present in the seed
    resp = client.http.post(client.url("/nta/rest/ms1/batch/e2e"), json={"search_by": "mass", "query": masses,
                                                                          "accuracy": 5}, timeout=60)  # fmt: skip
    assert resp.status_code == 200, resp.text[:300]
    results = resp.json()["results"]
    rows = [dict(zip(results["columns"], r, strict=True)) for r in results["data"]]
    assert any(r["DTXSID"] == "DTXSID201348522" and abs(r["MASS_ERROR_PPM"]) < 5 for r in rows)


def test_a_formula_query(client: StackClient) -> None:
    resp = client.http.post(client.url("/nta/rest/ms1/batch/e2e"),
                            json={"search_by": "formula", "query": ["C7H3D14O3P"], "accuracy": 5})
    assert resp.status_code == 200
    assert resp.json()["results"]["data"], "the seed's DIMP-d14 formula found nothing"


def test_unknown_job_is_404_json(client: StackClient) -> None:
    resp = client.http.get(client.url("/nta/rest/jobs/0123456789abcdef"))
    assert resp.status_code == 404 and "not found" in resp.json()["error"]


def test_health_checks_through_nginx(client: StackClient) -> None:
    for path in ("/healthz", "/nta/healthz", "/nta/rest/healthz", "/nta/dask/health", "/nta/dask/status"):
        assert client.http.get(client.url(path), timeout=10).status_code == 200, path

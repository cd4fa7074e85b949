"""The app as deployed: a gunicorn process on a real port, queried over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from nta_api.reference import load_reference_csv
from tests.fixtures.mongo import _free_port

from .conftest import SEED

SRC = Path(__file__).resolve().parents[2] / "services" / "flask" / "src"


def test_gunicorn_serves_search(db, mongo_url: str, db_name: str, tmp_path: Path) -> None:
    load_reference_csv(db, SEED, replace=True)
    port = _free_port()
    env = {**os.environ, "NTA_MONGO_URL": mongo_url, "NTA_DB_NAME": db_name, "NTA_URL_PREFIX": "/nta",
           "PYTHONPATH": str(SRC)}  # fmt: skip
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "2",
                                 "--bind", f"127.0.0.1:{port}", "nta_api.app:create_app()"],
                                env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}/nta/rest"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert proc.poll() is None, f"gunicorn exited: {log.read_text()[-2000:]}"
            try:
                health = requests.get(f"{base}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, f"gunicorn did not answer: {log.read_text()[-2000:]}"
                time.sleep(0.1)
        assert health.status_code == 200 and health.json()["reference_compounds"] > 100

        body = {"search_by": "mass", "query": [194.080376, 225.990625], "accuracy": 5}
        resp = requests.post(f"{base}/ms1/batch/gunicorn_1", json=body, timeout=10)
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/json"
        names = [row[2] for row in resp.json()["results"]["data"]]
        assert names == ["Caffeine", "13C12-2,4-D"]

        bad = requests.post(f"{base}/ms1/batch/gunicorn_1", timeout=10,
                            json={"search_by": "formula", "query": ['{"$gt": ""}']})  # fmt: skip
        assert bad.status_code == 400 and "query item 1" in bad.json()["error"]
        assert requests.get(f"{base}/jobs/none", timeout=10).status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=10)

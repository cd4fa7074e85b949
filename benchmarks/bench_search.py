"""Benchmark of the nta_api batch mass search (prints numbers; no pass/fail).

    .venv/bin/python benchmarks/bench_search.py [--compounds 1000000] [--masses 5000] [--reps 20]

1. Builds a ReferenceIndex of N synthetic compounds (masses 50-1200 u) directly in memory.
2. Times POST /nta/rest/ms1/batch/<job> with 5,000 masses at 5 ppm through Flask's test client
   (request parsing, search, JSON rendering: everything but the network).
3. Loads 100,000 rows through load_reference_csv into a MongoDB-protocol server (NTA_BENCH_MONGO_URL, else a
   temporary nx-27017) and reports rows/s for the load and for rebuilding the index from the collection.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "services" / "flask" / "src"), str(REPO)]

from nta_api.app import create_app  # noqa: E402
from nta_api.reference import COLLECTION, ReferenceIndex, load_reference_csv  # noqa: E402
from nta_api.settings import Settings  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _part(symbol: str, count: int) -> str:
    return "" if count == 0 else symbol if count == 1 else f"{symbol}{count}"


def synthetic(n: int, seed: int = 0) -> dict[str, list]:
    rng = np.random.default_rng(seed)
    mass = np.round(rng.uniform(50, 1200, n), 6)  # DSSTox precision
    c, h, no = rng.integers(1, 60, n), rng.integers(1, 100, n), rng.integers(0, 12, (2, n))
    counts = zip(c.tolist(), h.tolist(), no[0].tolist(), no[1].tolist(), strict=True)
    formula = [f"C{a}H{b}{_part('N', x)}{_part('O', y)}" for a, b, x, y in counts]
    return {
        "dtxsid": [f"DTXSID{7000000000 + i}" for i in range(n)],
        "name": [f"Synthetic compound {i} ({f})" for i, f in enumerate(formula)],
        "casrn": [f"{100000 + i}-{i % 100:02d}-{i % 10}" if i % 2 else None for i in range(n)],
        "formula": formula,
        "mass": mass,
    }


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def bench_search(n: int, n_masses: int, reps: int, ppm: float) -> None:
    print(f"== search: {n:,} compounds, {n_masses:,} masses x {ppm:g} ppm, {reps} repetitions")
    before = rss_mb()
    cols = synthetic(n)
    started = time.perf_counter()
    index = ReferenceIndex.from_columns(
        cols["dtxsid"], cols["name"], cols["casrn"], cols["formula"], cols["mass"]
    )
    build_s = time.perf_counter() - started
    del cols
    print(f"index build from columns: {build_s:.2f}s; index footprint {index.nbytes / 1e6:.1f} MB "
          f"(process RSS {before:.0f} MB before, {rss_mb():.0f} MB after, input columns freed)")  # fmt: skip

    # The client is never used for the search: the prebuilt index is installed and no version check is due.
    settings = Settings(mongo_url="mongodb://127.0.0.1:1", reference_check_seconds=1e9)
    app = create_app(settings)
    app.extensions["nta_api"].reference.install(index)
    client = app.test_client()
    rng = np.random.default_rng(1)
    wall, server = [], []
    for _ in range(reps + 1):
        masses = np.round(rng.uniform(50, 1200, n_masses), 4).tolist()  # instrument precision
        body = json.dumps({"search_by": "mass", "query": masses, "accuracy": ppm})
        t0 = time.perf_counter()
        resp = client.post("/nta/rest/ms1/batch/bench", data=body, content_type="application/json")
        elapsed = time.perf_counter() - t0
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        stats = json.loads(resp.get_data())["stats"]
        wall.append(elapsed * 1e3)
        server.append(stats["seconds"] * 1e3)
        size = len(resp.get_data())
    wall, server = wall[1:], server[1:]  # first request warms caches
    print(f"matches per batch ~{stats['matches']:,}, response {size / 1e6:.1f} MB")
    for label, values in (("server time (stats.seconds)", server), ("test-client round trip", wall)):
        p50, p90, mean = percentile(values, 50), percentile(values, 90), statistics.mean(values)
        print(f"{label:28s}: p50 {p50:.1f} ms, p90 {p90:.1f} ms "
              f"(min {min(values):.1f}, max {max(values):.1f}, mean {mean:.1f})")  # fmt: skip


def bench_mongo_load(n: int) -> None:
    import os

    from pymongo import MongoClient

    print(f"== MongoDB load: {n:,} rows through load_reference_csv")
    url = os.environ.get("NTA_BENCH_MONGO_URL", "")
    proc = None
    with tempfile.TemporaryDirectory() as tmp:
        if not url:
            from tests.fixtures.mongo import _executable, _start, _stop

            proc, url, output = _start(_executable(), Path(tmp))
            if not url:
                _stop(proc)
                print(f"nx-27017 did not start: {output.read_text()[-1000:]}")
                return
            print("server: nx-27017 (SQLite-backed stand-in; a real mongod is typically much faster)")
        try:
            cols = synthetic(n, seed=2)
            path = Path(tmp) / "reference.csv"
            with path.open("w") as fh:
                fh.write("DTXSID,PREFERRED_NAME,CASRN,MOLECULAR_FORMULA,MONOISOTOPIC_MASS\n")
                for d, nm, c, f, m in zip(cols["dtxsid"], cols["name"], cols["casrn"], cols["formula"],
                                          cols["mass"].tolist(), strict=True):  # fmt: skip
                    fh.write(f'{d},"{nm}",{c or ""},{f},{m}\n')
            client: MongoClient = MongoClient(url, serverSelectionTimeoutMS=5000)
            db = client["nta_bench"]
            t0 = time.perf_counter()
            loaded = load_reference_csv(db, path, replace=True)
            load_s = time.perf_counter() - t0
            rate = loaded / load_s
            print(f"load: {loaded:,} rows in {load_s:.1f}s = {rate:,.0f} rows/s (validation + insert)")
            t0 = time.perf_counter()
            index = ReferenceIndex.from_collection(db[COLLECTION])
            read_s = time.perf_counter() - t0
            print(f"index rebuild from the collection: {len(index):,} rows in {read_s:.1f}s = "
                  f"{len(index) / read_s:,.0f} rows/s")  # fmt: skip
            client.drop_database("nta_bench")
            client.close()
        finally:
            if proc is not None:
                _stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--compounds", type=int, default=1_000_000)
    parser.add_argument("--masses", type=int, default=5000)
    parser.add_argument("--ppm", type=float, default=5.0)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--load-rows", type=int, default=100_000)
    args = parser.parse_args()
    bench_search(args.compounds, args.masses, args.reps, args.ppm)
    if args.load_rows:
        bench_mongo_load(args.load_rows)


if __name__ == "__main__":
    main()

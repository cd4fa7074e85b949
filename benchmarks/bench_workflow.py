"""Workflow benchmark: prints seconds per step on the shipped export and on synthetic tables.

The original program needs about 35 s for a real MZmine export of ~5,900 features x 57 injections. Numbers only:
this never passes or fails. Run: `./inv bench` or `python benchmarks/bench_workflow.py [--sizes 5900x57,50000x60]`.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nta_pipeline import Inputs, Parameters, run_workflow
from nta_pipeline.outputs import write_outputs

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "ms1"


def synthetic_table(n_features: int, n_injections: int, seed: int = 1) -> bytes:
    """MZmine-like table: a blank triplicate plus sample triplicates, ~15 % non-detects, some duplicates."""
    rng = np.random.default_rng(seed)
    n_groups = max(2, n_injections // 3)
    columns = [f"MB{i}" for i in range(1, 4)] + [f"S{g:02d}_{r}" for g in range(1, n_groups) for r in range(1, 4)]
    values = rng.lognormal(12, 2, size=(n_features, len(columns)))
    values[rng.random(values.shape) < 0.15] = np.nan
    df = pd.DataFrame(values, columns=columns)
    df.insert(0, "MZmine_ID", np.arange(n_features))
    df["Mass"] = rng.uniform(100, 1000, n_features).round(5)
    df["Retention Time"] = rng.uniform(0.5, 20, n_features).round(3)
    df["m/z"] = df["Mass"] + 1.0073
    return df.to_csv(index=False).encode()


def report(label: str, inputs: Inputs) -> None:
    params = Parameters(search_dsstox="no")
    start = time.perf_counter()
    results = run_workflow(inputs, params)
    compute = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        write_outputs(results, Path(tmp) / "out", params.project_name)
        writing = time.perf_counter() - start
    print(f"\n== {label}: {sum(results.summary['features_in'].values())} features")
    for step in results.summary["steps"]:
        print(f"  {step['name']:45} {step['seconds']:8.3f} s")
    plots = sum(s["seconds"] for s in results.summary["steps"] if s["name"].startswith("Create"))
    print(f"  {'workflow total':45} {compute:8.3f} s   (of which plots {plots:.3f} s, science {compute - plots:.3f} s)")
    print(f"  {'writing workbook + CSV + PNG files':45} {writing:8.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="5900x57,50000x60", help="comma list of FEATURESxINJECTIONS")
    args = parser.parse_args()
    report("shipped pooled-blood MPP export (pos + neg, tracers)", Inputs(
        pos=DATA / "pooled_blood_pos_MPP.csv", neg=DATA / "pooled_blood_neg_MPP.csv",
        tracers=DATA / "pooled_blood_tracers.csv", run_sequence_pos=DATA / "pooled_blood_run_sequence_pos.csv",
        run_sequence_neg=DATA / "pooled_blood_run_sequence_neg.csv"))  # fmt: skip
    for size in args.sizes.split(","):
        n, s = (int(x) for x in size.split("x"))
        report(f"synthetic {n} x {s}", Inputs(pos=synthetic_table(n, s), names={"pos": f"synthetic_{size}.csv"}))


if __name__ == "__main__":
    main()

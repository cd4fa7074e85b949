"""Input files for the e2e suite: the shipped instrument export, and bigger or broken variants of it."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data" / "ms1"
FILES = {"pos": "pooled_blood_pos_MPP.csv", "neg": "pooled_blood_neg_MPP.csv", "tracers": "pooled_blood_tracers.csv",
         "run_sequence_pos": "pooled_blood_run_sequence_pos.csv",
         "run_sequence_neg": "pooled_blood_run_sequence_neg.csv"}  # fmt: skip


def shipped(*roles: str) -> dict[str, tuple[str, bytes]]:
    """role -> (filename, bytes) of the shipped export; all roles when none are named."""
    return {role: (FILES[role], (DATA / FILES[role]).read_bytes()) for role in (roles or FILES)}


def enlarged_pos(copies: int) -> tuple[str, bytes]:
    """The positive-mode table tiled `copies` times, each copy shifted in mass so no feature is a duplicate."""
    lines = (DATA / FILES["pos"]).read_text(encoding="utf-8-sig").splitlines(keepends=True)
    body = "".join(line for line in lines if not line.startswith("#"))  # MPP's '# Notes' header lines
    df = pd.read_csv(io.StringIO(body), dtype=str, keep_default_na=False)
    mass = pd.to_numeric(df["Mass"], errors="coerce")
    frames = []
    for i in range(copies):
        part = df.copy()
        part["Mass"] = (mass + i * 7.13).map(lambda m: f"{m:.5f}" if pd.notna(m) else "")
        frames.append(part)
    return "big_pos.csv", pd.concat(frames, ignore_index=True).to_csv(index=False).encode()

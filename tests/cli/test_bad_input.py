"""`nta-ms1 run` on abusive input: exit status 2, one short line naming the field, quickly, and no output folder."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nta_pipeline.cli import EXIT_BAD_INPUT, main

DATA = Path(__file__).resolve().parents[1] / "data" / "ms1"
POS = DATA / "pooled_blood_pos_MPP.csv"


def _write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def _wide(columns: int) -> bytes:
    names = ",".join(f"S{i}_1" for i in range(columns))
    return f"Mass,Retention_Time,{names}\n100,1,{','.join(['1'] * columns)}\n".encode()


# id -> (extra arguments (a "{file}" is replaced by the written file), file content or None, words)
CASES: dict[str, tuple[list[str], bytes | None, list[str]]] = {
    "mass_accuracy inf": (["--set", "mass_accuracy=inf"], None, ["mass_accuracy", "finite"]),
    "mass_accuracy nan": (["--set", "mass_accuracy=nan"], None, ["mass_accuracy"]),
    "rt_accuracy 1e9": (["--set", "rt_accuracy=1e9"], None, ["rt_accuracy", "60"]),
    "minimum_rt -1": (["--set", "minimum_rt=-1"], None, ["minimum_rt"]),
    "max_replicate_cv 1e300": (["--set", "max_replicate_cv=1e300"], None, ["max_replicate_cv"]),
    "1 MB number": (["--set", "mass_accuracy=" + "1" * 1_000_000], None, ["mass_accuracy", "characters"]),
    "long project name": (["--set", "project_name=" + "p" * 500], None, ["project_name", "100"]),
    "unknown key of 100 KB": (["--set", "k" * 100_000 + "=1"], None, ["unknown parameter", "100,000 characters"]),
    "100 adducts": (["--pos-adducts", ",".join(["Na"] * 100)], None, ["pos_adducts", "at most 32"]),
    "200,000 columns": (["--pos", "{file}"], _wide(200_000), ["wide.csv", "NTA_MAX_"]),
    "2,001 sample columns": (["--pos", "{file}"], _wide(2001), ["wide.csv", "NTA_MAX_COLUMNS"]),
    "200,000-character column name": (["--pos", "{file}"], b"Mass,Retention_Time," + b"A" * 200_000 + b"\n1,2,3\n",
                                      ["wide.csv", "column name"]),
    "200 KB cell": (["--pos", "{file}"], b"Mass,Retention_Time,Name,A_1\n100,1," + b"x" * 200_000 + b",1\n",
                    ["wide.csv", "row 2", "cell"]),
    "1,001 tracers": (["--pos", str(POS), "--tracers", "{file}"],
                      b"Ionization_Mode,Chemical_Name,Monoisotopic_Mass,Retention_Time\n"
                      + b"".join(b"Esi+,T%d,%d,1\n" % (i, 100 + i) for i in range(1001)),
                      ["wide.csv", "NTA_MAX_TRACERS"]),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_input_exits_2_naming_the_field(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extra, content, words = CASES[case]
    args = list(extra)
    if content is not None:
        path = _write(tmp_path, "wide.csv", content)
        args = [str(path) if a == "{file}" else a for a in args]
    if "--pos" not in args:
        args = ["--pos", str(POS), *args]
    out = tmp_path / "out"
    start = time.monotonic()
    status = main(["run", *args, "--out", str(out), "--no-search", "--quiet"])
    assert time.monotonic() - start < 10, "hang guard"
    err = capsys.readouterr().err
    assert status == EXIT_BAD_INPUT, err[-500:]
    assert err.startswith("nta-ms1: error: ") and err.count("\n") == 1, err[:500]
    assert len(err) < 1200, f"the message quotes too much ({len(err)} characters)"
    for word in words:
        assert word.lower() in err.lower(), f"{word!r} not in {err[:500]!r}"
    assert not out.exists(), "a rejected run left an output folder"


def test_params_lists_the_documented_ranges(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    rt = next(line for line in out.splitlines() if line.startswith("rt_accuracy "))
    assert "Allowed: >= 0 and <= 60 min" in rt
    assert "At most 100 characters" in next(line for line in out.splitlines() if line.startswith("project_name "))

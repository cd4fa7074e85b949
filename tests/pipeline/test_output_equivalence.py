"""The fast writers write what the plain ones do: CSVs byte for byte what pandas' `to_csv` writes for the neutralised
frame, and the one-pass workbook + CSVs (`workbook_and_csvs`) the same sheet parts and CSVs as `workbook_bytes`
and `csv_bytes` separately.

`outputs._pandas_csv` is the previous CSV writer, kept as the path for frames the fast one does not take; every case
here asserts that the fast path was really taken, so a comparison cannot pass by comparing pandas with itself.
"""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from nta_pipeline import outputs
from nta_pipeline.outputs import ROWS_PER_CHUNK, csv_bytes, workbook_and_csvs, workbook_bytes

NASTY_TEXT = ["plain", "", "a,b", 'say "hi"', "line\nbreak", "cr\ronly", "crlf\r\n", " lead", "trail ", "=1+2",
              "-x", "-5", "@SUM(A1)", "\t=1", "µg/L ✓", "x" * 300, ",", '"', "\n"]  # fmt: skip
SPECIAL_FLOATS = [np.nan, np.inf, -np.inf, -0.0, 0.0, 5e-324, 1.7976931348623157e308, 1e16, 1e15, 9999999999999998.0,
                  1e-4, 9.999e-5, 0.1, 1 / 3, 100.0, -2.5e-7, 123456789.12345679]  # fmt: skip


def fuzz_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    floats = np.concatenate([rng.lognormal(0, 25, n) * rng.choice([-1, 1], n), SPECIAL_FLOATS])[: max(n, 1)]
    floats = np.resize(floats, n)
    floats[rng.random(n) < 0.1] = np.nan
    text = pd.array(rng.choice(NASTY_TEXT + [None], n).tolist(), dtype="str")
    mixed = pd.Series([[1.5, "CV", 3, None, True, np.nan, "", "=x", float("inf"), -0.0][i % 10] for i in range(n)],
                      dtype=object)  # fmt: skip
    return pd.DataFrame({
        "Feature ID": np.arange(n, dtype=np.int64) * 7 - 3,
        "=header": floats,
        "whole": rng.integers(0, 100, n).astype(float),
        "flag": rng.random(n) < 0.5,
        "u8": rng.integers(0, 255, n).astype(np.uint8),
        "text": text,
        "mixed": mixed,
        'head,"er"': rng.normal(size=n),
    })  # fmt: skip


CASES = {
    "fuzz small": fuzz_frame(40, 1),
    "fuzz across chunks": fuzz_frame(2 * ROWS_PER_CHUNK + 17, 2),
    "one float column with NaN": pd.DataFrame({"x": [np.nan, 1.0, np.nan]}),
    "one text column with empty": pd.DataFrame({"": pd.array(["", None, "a"], dtype="str")}),
    "one object column": pd.DataFrame({"o": pd.Series(["", None, 2.5, "b"], dtype=object)}),
    "nullable": pd.DataFrame({"i": pd.array([1, None, -3], dtype="Int64"),
                              "f": pd.array([0.1, None, 1e16], dtype="Float64"),
                              "b": pd.array([True, None, False], dtype="boolean")}),  # fmt: skip
    "ints only": pd.DataFrame({"a": [1, -2, 3], "b": [10**15, 0, -(10**15)]}),
    "special floats": pd.DataFrame({"f": SPECIAL_FLOATS, "g": SPECIAL_FLOATS[::-1]}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_csv_is_byte_for_byte_what_pandas_writes(case: str) -> None:
    df = CASES[case]
    assert outputs._columns(df) is not None, "the fast path must be taken for this frame"
    assert csv_bytes(df) == outputs._pandas_csv(df)


def test_frames_the_fast_path_does_not_take_still_write_what_pandas_writes() -> None:
    others = {
        "numpy scalars": pd.DataFrame({"o": pd.Series([np.float64(2.5), np.int64(7)], dtype=object)}),
        "float32": pd.DataFrame({"f": np.array([0.1, np.nan], dtype=np.float32)}),
        "datetimes": pd.DataFrame({"t": pd.to_datetime(["2024-01-02", None])}),
    }  # fmt: skip
    for name, df in others.items():
        assert outputs._columns(df) is None, name
        assert csv_bytes(df) == outputs._pandas_csv(df) == outputs._pandas_csv(df.copy()), name


def _parts(xlsx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(xlsx)) as package:
        # docProps/core.xml holds the creation time, the one part that differs between two writes
        return {name: package.read(name) for name in package.namelist() if name != "docProps/core.xml"}


def test_one_pass_workbook_and_csvs_equal_the_separate_writers() -> None:
    sheets = {**{name: df for name, df in CASES.items()}, "No rows": CASES["fuzz small"].iloc[:0],
              "numpy scalars": pd.DataFrame({"o": pd.Series([np.float64(2.5), "x"], dtype=object)})}  # fmt: skip
    xlsx, csvs = workbook_and_csvs(sheets)
    assert _parts(xlsx) == _parts(workbook_bytes(sheets))
    assert list(csvs) == list(sheets)
    for name, df in sheets.items():
        assert csvs[name] == csv_bytes(df) == outputs._pandas_csv(df), name

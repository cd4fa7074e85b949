"""Result files: every workbook cell read back with openpyxl matches its frame; CSVs; PNGs; sheet layout."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import zipfile
import zlib

import numpy as np
import pandas as pd
import pytest
from isal import isal_zlib
from openpyxl import load_workbook

from nta_pipeline import Inputs, Parameters, run_workflow
from nta_pipeline.outputs import (
    MAX_WIDTH,
    ZIP_LEVEL,
    csv_bytes,
    deflated_member,
    float_texts,
    neutralise,
    output_files,
    project_slug,
    workbook_bytes,
)
from tests.fixtures.synthetic import synthetic_table

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXCEL_MAX_CHARS = 32767

# Values that each take a different path: NaN/inf, whole floats, large ints, booleans, pandas' str dtype with a
# missing value, object columns mixing numbers and text (as "Decision Documentation" does), nullable ints, and
# user text that Excel would otherwise run as a formula, turn into a hyperlink, or choke on.
TRICKY = pd.DataFrame(
    {
        "float": [1.5, np.nan, np.inf, -np.inf, 1e-300, 123456789.12345679, -0.0, 100.0],
        "int": np.arange(8, dtype=np.int64) * 10**12,
        "bool": [True, False] * 4,
        "text": pd.array(["=1+1", "+A1", "-2", "@SUM(A1)", "<b>&amp;</b>", " lead", "trail ", None], dtype="str"),
        "mixed": pd.Series([0.25, "CV", 3, None, np.float64(2.5), np.int64(7), True, ""], dtype=object),
        "nullable": pd.array([1, None, 3, 4, 5, 6, 7, 8], dtype="Int64"),
        "escapes": [
            "a\x01b",
            "_x0041_",
            "tab\there",
            "line\nbreak",
            "µg/L ✓",
            "x" * 40_000,
            "http://example.com",
            '=HYPERLINK("http://example.com")',
        ],
    }
)


def excel_text(text: str) -> str:
    """The text Excel shows for a stored string: ECMA-376 ST_Xstring `_xHHHH_` escapes decoded, left to right."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def expected(value: object) -> object:
    """The cell value a frame value must read back as (the rules of the original openpyxl writer, plus no formulas)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    assert isinstance(value, str), f"test table holds an unexpected {type(value)}"
    return value[:EXCEL_MAX_CHARS] or None


def read_back(xlsx: bytes):
    return load_workbook(io.BytesIO(xlsx))  # not read_only: freeze panes, widths and data types are wanted


def assert_sheet_matches(ws, df: pd.DataFrame) -> None:
    rows = list(ws.iter_rows(values_only=True))
    assert list(rows[0][: df.shape[1]]) == [str(c) or None for c in df.columns]
    assert len(rows) <= len(df) + 1
    rows += [()] * (len(df) + 1 - len(rows))  # trailing rows without a value hold no cells; compared as empty below
    for i, row in enumerate(df.itertuples(index=False, name=None)):
        got = list(rows[i + 1]) + [None] * (df.shape[1] - len(rows[i + 1]))
        for j, value in enumerate(row):
            want, cell = expected(value), got[j]
            if isinstance(cell, str):
                cell = excel_text(cell)
            assert type(cell) is type(want) and cell == want, (
                f"{ws.title} row {i + 2} col {j + 1}: {cell!r} != {want!r}"
            )


def test_every_cell_reads_back_with_its_type() -> None:
    wb = read_back(workbook_bytes({"Tricky": TRICKY}))
    assert_sheet_matches(wb["Tricky"], TRICKY)


def test_text_is_never_a_formula_or_hyperlink() -> None:
    headers = pd.DataFrame({"=SUM(1,2)": ["=1+1"], "http://example.com": ["-cmd|' /C calc'!A0"]})
    xlsx = workbook_bytes({"Tricky": TRICKY, "Headers": headers})
    wb = read_back(xlsx)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula: {cell.value!r}"
                assert cell.hyperlink is None
    assert wb["Tricky"]["D2"].value == "=1+1" and wb["Tricky"]["D2"].data_type == "s"
    assert wb["Headers"]["A1"].value == "=SUM(1,2)"
    with zipfile.ZipFile(io.BytesIO(xlsx)) as package:
        for name in package.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in package.read(name) and b"<f " not in package.read(name)


def test_many_rows_across_chunks_with_gaps() -> None:
    rng = np.random.default_rng(7)
    n = 2_345  # several render/compress chunks, last one partial
    values = rng.lognormal(10, 3, size=(n, 3))
    values[rng.random(values.shape) < 0.3] = np.nan
    df = pd.DataFrame(values, columns=["Mean A", "CV A", "STD A"])
    df.insert(0, "Feature ID", np.arange(1, n + 1))
    df["Flag"] = pd.Series(np.where(rng.random(n) < 0.5, "Duplicate", ""), dtype="str").replace("", None)
    wb = read_back(workbook_bytes({"Big": df}))
    ws = wb["Big"]
    assert ws.dimensions == f"A1:E{n + 1}"
    assert_sheet_matches(ws, df)


def floats_of_every_magnitude() -> np.ndarray:
    """Random floats from 1e-320 to 1e308 of both signs, the neighbours of where repr switches to and from exponent
    notation (1e-4, 1e16), and the special values."""
    rng = np.random.default_rng(3)
    random = rng.random(20_000) * 10.0 ** rng.integers(-320, 308, 20_000) * rng.choice([-1, 1], 20_000)
    edges = [np.nextafter(e, toward) for e in (1e-4, 1e16) for toward in (0, np.inf)] + [1e-4, 1e16]
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 5e-324, 1.7976931348623157e308, 0.1, 100.0, 9999999999999998.0]
    return np.concatenate([random, edges, np.negative(edges), special])


def test_float_texts_are_what_repr_writes() -> None:
    values = floats_of_every_magnitude()
    assert float_texts(values) == [repr(v) for v in values.tolist()]
    assert float_texts(values[::3]) == [repr(v) for v in values[::3].tolist()]  # a strided view
    assert float_texts(np.array([], dtype=np.float64)) == []


def test_floats_of_every_magnitude_read_back_exactly_from_the_workbook() -> None:
    df = pd.DataFrame({"x": floats_of_every_magnitude()})
    assert_sheet_matches(read_back(workbook_bytes({"Floats": df}))["Floats"], df)


def test_sheet_order_names_frozen_header_and_widths() -> None:
    sheets = {
        "Zeta": pd.DataFrame({"a": [1]}),
        "A sheet name longer than thirty-one characters": pd.DataFrame(
            {"A rather long header": [1.0], "short": ["x" * 200], "n": [123456.789]}
        ),
        "Alpha": pd.DataFrame({"b": ["y"]}),
    }
    wb = read_back(workbook_bytes(sheets))
    assert wb.sheetnames == ["Zeta", "A sheet name longer than thirty", "Alpha"]
    ws = wb["A sheet name longer than thirty"]
    assert all(sheet.freeze_panes == "A2" for sheet in wb.worksheets)
    widths = {col: ws.column_dimensions[col].width for col in "ABC"}
    # Excel widths are in characters plus padding: at least the text, at most a couple more.
    assert len("A rather long header") + 1 <= widths["A"] < len("A rather long header") + 3
    assert MAX_WIDTH <= widths["B"] < MAX_WIDTH + 2  # 200 characters, capped
    assert len("123456.789") + 1 <= widths["C"] < len("123456.789") + 3


def test_empty_frames_still_make_a_valid_workbook() -> None:
    sheets = {
        "No rows": pd.DataFrame({"Feature ID": pd.Series([], dtype=int), "Name": pd.Series([], dtype=str)}),
        "No columns": pd.DataFrame(index=range(3)),
        "Nothing": pd.DataFrame(),
        "Unnamed column": pd.DataFrame({"": [1.5, None]}),  # header row without a cell
    }
    wb = read_back(workbook_bytes(sheets))
    assert wb.sheetnames == list(sheets)
    assert [c.value for c in wb["No rows"][1]] == ["Feature ID", "Name"]
    assert wb["No rows"].max_row == 1
    assert wb["Nothing"]["A1"].value is None
    assert_sheet_matches(wb["Unnamed column"], sheets["Unnamed column"])


def test_zip_members_are_deflated_by_isal_and_read_back_with_zipfile() -> None:
    data = b"".join(b"<row><c><v>%d.%d</v></c><c t=\"b\"><v>1</v></c></row>" % (i, i * 7 % 1000) for i in range(20_000))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as package, deflated_member(package, "xl/worksheets/sheet1.xml") as member:
        member.write(data[:100_000])
        member.write(data[100_000:])
    with zipfile.ZipFile(buf) as package:
        assert package.testzip() is None  # CRC and sizes agree
        info = package.getinfo("xl/worksheets/sheet1.xml")
        assert package.read(info) == data
    assert info.compress_type == zipfile.ZIP_DEFLATED
    assert info.external_attr == 0o600 << 16
    # Which deflate wrote it: ISA-L and zlib make different streams of the same data.
    isal_stream = isal_zlib.compressobj(ZIP_LEVEL, isal_zlib.DEFLATED, -15)
    zlib_stream = zlib.compressobj(ZIP_LEVEL, zlib.DEFLATED, -15)
    isal_size = len(isal_stream.compress(data) + isal_stream.flush())
    assert isal_size != len(zlib_stream.compress(data) + zlib_stream.flush())
    assert info.compress_size == isal_size


@pytest.fixture(scope="module")
def results():
    # Small: blank triplicate + two sample triplicates, some non-detects
    inputs = Inputs(pos=synthetic_table(120, 9, seed=3, mz=False), names={"pos": "synthetic.csv"})
    return run_workflow(inputs, Parameters(search_dsstox="no", project_name="My project"))


def test_output_files_workbook_csvs_pngs_and_summary(results) -> None:
    files = output_files(results, "My project")
    wb = load_workbook(io.BytesIO(files["My_project_NTA_WebApp_QAQC.xlsx"]), read_only=True)
    assert wb.sheetnames == list(results.sheets)
    csvs = {name for name in files if name.startswith("csv/")}
    assert len(csvs) == len(results.sheets)
    for name, df in results.sheets.items():
        csv_name = "csv/" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") + ".csv"
        assert files[csv_name] == df.to_csv(index=False).encode()
    pngs = [name for name in files if name.endswith(".png")]
    assert {"My_project_occurrence_heatmap.png", "My_project_cv_scatterplot.png"} <= set(pngs)
    for name in pngs:
        png = files[name]
        assert png[:8] == PNG_SIGNATURE and png[12:16] == b"IHDR"
        width, height = struct.unpack(">II", png[16:24])
        assert 300 <= width <= 4000 and 200 <= height <= 2000, (name, width, height)
        assert 5_000 < len(png) < 5_000_000
    assert json.loads(files["summary.json"])["features_in"]["pos"] == 120


def test_workflow_sheets_read_back_exactly(results) -> None:
    wb = read_back(workbook_bytes(results.sheets))
    for name, df in results.sheets.items():
        assert_sheet_matches(wb[name], df)


# -- CSV downloads are safe to open (OWASP CSV injection) --------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-", "'-"),
        ("-5", "-5"),  # a negative number is a number
        ("-1.5e-3", "-1.5e-3"),
        ("+7", "+7"),
        ("a=b", "a=b"),
        (" =1", " =1"),
        ("", ""),
    ],
)
def test_neutralise_prefixes_formula_like_text_only(cell: str, written: str) -> None:
    assert neutralise(cell) == written


def test_neutralise_leaves_non_text_alone() -> None:
    assert neutralise(-5.0) == -5.0 and neutralise(None) is None and neutralise(-3) == -3


def test_csv_cells_and_headers_are_neutralised_and_numbers_stay_numbers() -> None:
    df = pd.DataFrame({"=HEADER()": ["=1+2", "-x", "ok", None], "n": [-1.5, 2.0, -3.0, np.nan],
                       "i": [-1, 2, 3, 4], "mixed": ["@x", -2.5, "-7", True]})  # fmt: skip
    rows = list(csv.reader(io.StringIO(csv_bytes(df).decode())))
    assert rows[0] == ["'=HEADER()", "n", "i", "mixed"]
    assert rows[1] == ["'=1+2", "-1.5", "-1", "'@x"]
    assert rows[2] == ["'-x", "2.0", "2", "-2.5"]
    assert rows[3] == ["ok", "-3.0", "3", "-7"]
    assert rows[4] == ["", "", "4", "True"]
    assert df.columns[0] == "=HEADER()" and df.iloc[0, 0] == "=1+2"  # the frame itself is not changed


def test_formula_project_and_file_names_are_neutralised_in_every_download(results) -> None:
    params = Parameters(search_dsstox="no", project_name='=HYPERLINK("http://evil/","x")', pos_input="=1+2.csv")
    sheets = {
        **results.sheets,
        "Analysis Parameters": pd.DataFrame(params.sheet_rows(), columns=["Parameter", "Value"]),
    }
    patched = type(results)(**{**results.__dict__, "sheets": sheets})
    files = output_files(patched, params.project_name)
    live = []
    for name, data in files.items():
        if name.endswith(".csv"):
            for row in csv.reader(io.StringIO(data.decode())):
                live += [(name, c) for c in row if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert not live, live[:5]
    text = files["csv/Analysis_Parameters.csv"].decode()
    assert "'=1+2.csv" in text and "'=HYPERLINK" in text
    assert all(not name.startswith(("=", "-", ".")) for name in files)
    with zipfile.ZipFile(io.BytesIO(files[next(n for n in files if n.endswith("_QAQC.xlsx"))])) as package:
        sheet_xml = b"".join(package.read(n) for n in package.namelist() if n.startswith("xl/worksheets/"))
    assert b"<f>" not in sheet_xml and b"<f " not in sheet_xml and b"=1+2.csv" in sheet_xml


@pytest.mark.parametrize(("name", "slug"), [("My project", "My_project"), ("=1+2", "_1_2"), ("-rf /", "rf__"),
                                             ("..", "nta"), ("", "nta"), ("x" * 300, "x" * 100)])  # fmt: skip
def test_project_slug_is_a_safe_file_name(name: str, slug: str) -> None:
    assert project_slug(name) == slug

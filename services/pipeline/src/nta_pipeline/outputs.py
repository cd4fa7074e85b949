"""Writing results: the QA/QC workbook, one CSV per sheet, the PNG plots and summary.json.

`write_outputs` builds everything in a temporary folder beside the destination and moves it in only when
complete, so a failure never leaves a half-written result folder.

Workbooks: xlsxwriter writes the package (sheets, header row, frozen pane, column widths, styles); the data rows,
nearly all of the file, are rendered column by column as SpreadsheetML and spliced into each sheet's <sheetData>.
Measured per cell: xlsxwriter's cell API about 3 µs, openpyxl about 5 µs, the column-wise rendering about 0.4 µs
(mostly Python's float repr), with the compression on a second thread. Cell rules: numbers stay numbers (repr, so
they read back exactly), NaN, ±inf, None and "" become empty cells, every string is an inline string, never a
formula or a hyperlink (user data starting with '=' must not run in Excel), booleans stay booleans, anything else
(datetimes, say) is written as its text.

CSVs have no cell types, so a spreadsheet opening one runs any text that looks like a formula. Every text cell and
header starting with = + - @ tab or CR gets a leading ' (OWASP "CSV Injection"), unless the text is a plain
number: -5 is a number, not a formula, and numeric columns are never touched.
"""

from __future__ import annotations

import io
import json
import math
import numbers
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from .workflow import Results

MAX_WIDTH = 60  # the original sized columns to their longest value without a cap
WIDTH_SAMPLE_ROWS = 500  # numeric column widths come from this many evenly spaced rows, not the whole column
ROWS_PER_CHUNK = 1000  # rows rendered and compressed at a time: bounds memory, lets compression overlap rendering
# Deflate level of the sheet XML. Measured on 46 MB of sheet XML: level 1 0.22 s -> 12.3 MB,
# level 4 0.39 s -> 11.2 MB, level 6 (zlib's default) 0.75 s -> 10.4 MB.
ZIP_LEVEL = 4
XLSX_MAX_CHARS = 32767  # Excel's limit per cell; longer text makes Excel "repair" the file

_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Excel stores control characters as _xHHHH_ and so must escape a literal "_xHHHH_" too (as xlsxwriter does).
_NEEDS_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f]|_x[0-9a-fA-F]{4}_")
_LITERAL_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


def project_slug(project_name: str) -> str:
    """`<proj>` of the original file names (spaces -> `_`), also made safe for any file system and shell: no
    leading '-' (read as an option) or '.' (a hidden file, '..')."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", project_name.strip()).lstrip("-.")[:100] or "nta"


# ------------------------------------------------------------------------------------- CSV cells

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def neutralise(value: object) -> object:
    """A text that a spreadsheet would evaluate, prefixed with ' (OWASP); anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_bytes(df: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV (no index) with every text cell and header neutralised."""
    safe = df.copy(deep=False)
    safe.columns = [neutralise(str(c)) for c in df.columns]
    for i in range(df.shape[1]):
        column = df.iloc[:, i]
        if not (isinstance(column.dtype, np.dtype) and column.dtype.kind in "iufbmM"):
            safe.isetitem(i, column.map(neutralise, na_action="ignore"))
    return safe.to_csv(index=False).encode()


# ------------------------------------------------------------------------------------------- cells


def _string_cell(ref: str, text: str) -> str:
    if not text:
        return ""  # an empty string is an empty cell (openpyxl wrote the same)
    if len(text) > XLSX_MAX_CHARS:
        text = text[:XLSX_MAX_CHARS]
    text = text.translate(_XML_ESCAPES)
    if _NEEDS_ESCAPE.search(text):
        text = _LITERAL_ESCAPE.sub(r"_x005F\1", text)
        text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    space = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _any_cell(ref: str, value: object) -> str:
    """One cell of a column without a single numeric type (strings, mixed objects, nullable dtypes)."""
    kind = value.__class__
    if kind is str:
        return _string_cell(ref, value)
    if kind is float:
        return f'<c r="{ref}"><v>{value!r}</v></c>' if math.isfinite(value) else ""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if kind is bool or kind is np.bool_:
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if kind is int:
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, np.generic):
        return _any_cell(ref, value.item())
    if isinstance(value, numbers.Integral):
        return f'<c r="{ref}"><v>{int(value)}</v></c>'
    if isinstance(value, numbers.Real):
        return _any_cell(ref, float(value))
    return _string_cell(ref, str(value))


def _column_cells(values: np.ndarray, letter: str, rows: range) -> list[str]:
    """The <c> element of each value ("" for an empty cell); rows are the 1-based sheet rows."""
    kind = values.dtype.kind
    if kind in "iu":
        return [f'<c r="{letter}{n}"><v>{v}</v></c>' for n, v in zip(rows, values.tolist(), strict=True)]
    if kind == "f":
        finite = np.isfinite(values).tolist()
        return [
            f'<c r="{letter}{n}"><v>{v!r}</v></c>' if ok else ""
            for n, v, ok in zip(rows, values.tolist(), finite, strict=True)
        ]
    if kind == "b":
        return [f'<c r="{letter}{n}" t="b"><v>{int(v)}</v></c>' for n, v in zip(rows, values.tolist(), strict=True)]
    return [_any_cell(f"{letter}{n}", v) for n, v in zip(rows, values.tolist(), strict=True)]


def _column_array(column: pd.Series) -> np.ndarray:
    # Plain numpy numbers keep their fast path; everything else (str, nullable, datetimes) goes cell by cell as
    # Python objects, where pd.NA / NaN become empty cells.
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iufb":
        return column.to_numpy()
    return column.astype(object).to_numpy()


def _sheet_rows(df: pd.DataFrame) -> Iterator[bytes]:
    """The <row> elements of the data rows (sheet rows 2..), ROWS_PER_CHUNK rows per chunk."""
    letters = [xl_col_to_name(i) for i in range(df.shape[1])]
    columns = [_column_array(df.iloc[:, i]) for i in range(df.shape[1])]
    for start in range(0, len(df), ROWS_PER_CHUNK):
        rows = range(start + 2, min(start + ROWS_PER_CHUNK, len(df)) + 2)
        cells = [
            _column_cells(values[start : start + len(rows)], letter, rows)
            for values, letter in zip(columns, letters, strict=True)
        ]
        xml = "".join(
            [f'<row r="{n}">{"".join(row)}</row>' for n, row in zip(rows, zip(*cells, strict=True), strict=True)]
        )
        yield xml.encode("utf-8", "replace")  # "replace": a lone surrogate must not abort the whole workbook


def column_width(header: object, column: pd.Series) -> float:
    """Characters to show the header and the longest value, capped at MAX_WIDTH.

    Numbers are measured on an evenly spaced sample (their length varies little); text in full, as one long
    annotation would otherwise be missed.
    """
    if len(column) > WIDTH_SAMPLE_ROWS and pd.api.types.is_numeric_dtype(column.dtype):
        column = column.iloc[np.linspace(0, len(column) - 1, WIDTH_SAMPLE_ROWS).astype(int)]
    values = column.to_numpy(dtype=object)
    longest = max(map(len, map(str, values[~pd.isna(values)].tolist())), default=0)  # empty cells have no width
    return min(max(len(str(header)), longest) + 1, MAX_WIDTH)


# ----------------------------------------------------------------------------------------- workbook

_DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')


def _skeleton(frames: Sequence[tuple[str, pd.DataFrame]]) -> bytes:
    """The workbook without data rows: sheets in order, header row, frozen pane (A2), column widths."""
    buf = io.BytesIO()
    options = {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    with xlsxwriter.Workbook(buf, options) as wb:
        for name, df in frames:
            ws = wb.add_worksheet(name)
            ws.freeze_panes(1, 0)
            for idx, header in enumerate(df.columns):
                ws.set_column(idx, idx, column_width(header, df.iloc[:, idx]))
            ws.write_row(0, 0, [str(c) for c in df.columns])
    return buf.getvalue()


def _split_sheet(xml: bytes, df: pd.DataFrame) -> tuple[bytes, bytes]:
    """The sheet XML before and after the point where data rows go, with <dimension> covering them."""
    dimension = f'<dimension ref="A1:{xl_col_to_name(df.shape[1] - 1)}{len(df) + 1}"/>'.encode()
    xml, found = _DIMENSION.subn(dimension, xml, count=1)
    xml = xml.replace(b"<sheetData/>", b"<sheetData></sheetData>", 1)  # a header of only empty names writes no row
    head, end, tail = xml.partition(b"</sheetData>")
    if not found or not end:
        raise RuntimeError(
            "xlsxwriter wrote a sheet without <dimension> or </sheetData>, where nta_pipeline.outputs splices the "
            "data rows: adapt _split_sheet to this xlsxwriter version (tests/unit/test_outputs.py checks the result)"
        )
    return head, end + tail


def _write_overlapped(member: io.BufferedIOBase, deflate: ThreadPoolExecutor, chunks: Iterator[bytes]) -> None:
    # zlib releases the GIL, so compressing chunk n on the deflate thread overlaps rendering chunk n+1.
    pending: Future[int] | None = None
    try:
        for chunk in chunks:
            if pending is not None:
                pending.result()
            pending = deflate.submit(member.write, chunk)
    finally:  # also when rendering fails: the member must not be closed under a running write
        if pending is not None:
            pending.result()


def workbook_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx with one sheet per frame: no index, header frozen (A2), columns sized to their content."""
    frames = [(name[:31], df) for name, df in sheets.items()]
    # xlsxwriter names the sheet parts sheet1.xml, sheet2.xml, ... in the order the sheets were added.
    with_rows = {f"xl/worksheets/sheet{i}.xml": df for i, (_, df) in enumerate(frames, start=1) if df.size}
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(_skeleton(frames))) as skeleton,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as package,
        ThreadPoolExecutor(1, thread_name_prefix="xlsx-deflate") as deflate,
    ):
        if missing := sorted(set(with_rows) - set(skeleton.namelist())):
            raise RuntimeError(f"xlsxwriter wrote no {missing}; adapt workbook_bytes to its part names")
        for name in skeleton.namelist():
            xml = skeleton.read(name)
            if name not in with_rows:
                package.writestr(name, xml)
                continue
            head, tail = _split_sheet(xml, with_rows[name])
            with package.open(name, "w") as member:
                _write_overlapped(member, deflate, chain([head], _sheet_rows(with_rows[name]), [tail]))
    return out.getvalue()


def output_files(results: Results, project_name: str) -> dict[str, bytes]:
    """File name -> content of every result file (used by the CLI and by the job runner for GridFS)."""
    proj = project_slug(project_name)
    files = {f"{proj}_NTA_WebApp_QAQC.xlsx": workbook_bytes(results.sheets)}
    if results.chemical_results is not None:
        files[f"{proj}_NTA_WebApp_chemical_results.xlsx"] = workbook_bytes(
            {"Chemical Results": results.chemical_results})  # fmt: skip
        files["csv/Chemical_Results.csv"] = csv_bytes(results.chemical_results)
    for name, df in results.sheets.items():
        files[f"csv/{re.sub(r'[^A-Za-z0-9]+', '_', name).strip('_')}.csv"] = csv_bytes(df)
    for key, png in results.plots.items():
        files[f"{proj}_{key}.png"] = png
    files["summary.json"] = json.dumps(results.summary, indent=2, default=str).encode()
    return files


def write_outputs(results: Results, out_dir: Path, project_name: str) -> list[Path]:
    """Write all result files into out_dir atomically (all or nothing)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        written = []
        for name, content in output_files(results, project_name).items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            written.append(out_dir / name)
        if out_dir.exists() and any(out_dir.iterdir()):
            backup = out_dir.with_name(f".{out_dir.name}.old")
            shutil.rmtree(backup, ignore_errors=True)
            out_dir.rename(backup)
            staging.rename(out_dir)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            if out_dir.exists():
                out_dir.rmdir()
            staging.rename(out_dir)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)

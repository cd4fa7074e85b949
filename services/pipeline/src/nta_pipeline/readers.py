"""Readers for feature tables (MPP, MZmine 3, generic CSV), run-sequence and tracer files (docs/ms1-workflow.md#inputs).

Every problem becomes an `InputError` naming the file, the row as a person sees it in a text editor
(1-based file line) and the column.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .limits import Limits, current, excerpt

# The original subtracts/adds 1.0073 Da, not the proton mass 1.007276; kept for parity
# (docs/ms1-workflow.md#mass-conventions).
PROTON_MASS_ORIGINAL = 1.0073
RT_ALIASES = {"Retention_Time", "Retention_time", "RETENTION_TIME", "rt", "RT", "Ret._Time"}
MODE_LABELS = {"pos": "Esi+", "neg": "Esi-"}
MAX_SNIFF = 8192

Source = str | Path | bytes


@dataclass
class Table:
    """A parsed CSV: the frame plus, for every row, the line number it came from (for error messages)."""

    name: str
    df: pd.DataFrame
    lines: np.ndarray = field(repr=False)
    warnings: list[str] = field(default_factory=list)

    def line_of(self, index_label: object) -> int:
        return int(self.lines[self.df.index.get_loc(index_label)])


def decode(data: bytes, name: str) -> tuple[str, list[str]]:
    """Bytes -> text. UTF-8 (with or without BOM) first; Windows-1252/Latin-1 exports are accepted with a note."""
    if not data.strip():
        raise InputError("the file is empty", file=name)
    if b"\x00" in data[:MAX_SNIFF]:
        raise InputError("this looks like a binary file, not a CSV text file", file=name)
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    for encoding in ("cp1252", "latin-1"):
        try:
            return data.decode(encoding), [f"{name}: not UTF-8; read as {encoding}"]
        except UnicodeDecodeError:
            continue
    raise InputError("cannot decode the file as UTF-8 or Latin-1", file=name)  # pragma: no cover


def _read_bytes(source: Source, name: str) -> bytes:
    if isinstance(source, bytes):
        return source
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", file=name) from exc


def read_csv_table(
    source: Source,
    name: str,
    *,
    na_values: list[str] | None = None,
    limits: Limits | None = None,
    max_rows: int | None = None,
) -> Table:
    """Parse a CSV whose lines starting with `#` are comments. Unlike the original (pandas `comment='#'`),
    a `#` inside a line is kept: it never occurs in well-formed exports, and cutting text there loses data.

    The size limits (nta_pipeline.limits) are checked on the raw lines, before pandas parses anything."""
    lim = limits or current()
    text, warnings = decode(_read_bytes(source, name), name)
    numbered = [
        (i, line) for i, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]  # fmt: skip
    if not numbered:
        raise InputError("the file has no header and no data (only comments or blank lines)", file=name)
    header_line, header = numbered[0]
    names = _header_names(header, name, header_line, lim)
    duplicated = [n for n, c in Counter(n for n in names if n).items() if c > 1]
    if duplicated:
        raise InputError("duplicate column name", file=name, row=header_line, column=duplicated[0])
    if len(numbered) == 1:
        raise InputError("the file has a header but no data rows", file=name, row=header_line)
    rows_limit = (lim.max_rows, "NTA_MAX_ROWS") if max_rows is None else (max_rows, "NTA_MAX_TRACERS")
    _check_size(numbered, len(names), name, lim, rows_limit)
    body = "\n".join(line for _, line in numbered)
    try:
        df = pd.read_csv(
            io.StringIO(body), na_values=na_values or None, keep_default_na=True, low_memory=False,
            skipinitialspace=True,
        )  # fmt: skip
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            expected, line, saw = (int(g) for g in match.groups())
            raise InputError(
                f"malformed CSV: expected {expected} fields, found {saw}", file=name, row=numbered[line - 1][0]
            ) from exc
        raise InputError(f"malformed CSV: {str(exc)[:200]}", file=name) from exc
    except (ValueError, csv.Error) as exc:
        raise InputError(f"malformed CSV: {str(exc)[:200]}", file=name) from exc
    df.columns = [str(c).strip() for c in df.columns]
    lines = np.array([n for n, _ in numbered[1:]], dtype=np.int64)
    return Table(name=name, df=df, lines=lines[: len(df)], warnings=warnings)


def _header_names(header: str, name: str, line: int, lim: Limits) -> list[str]:
    if len(header) > lim.max_header_chars:
        raise InputError(f"the header line is {len(header):,} characters long; at most {lim.max_header_chars:,} "
                         "(NTA_MAX_HEADER_CHARS)", file=name, row=line)  # fmt: skip
    _long_part(header, lim.max_column_name_chars, "column name", "NTA_MAX_COLUMN_NAME_CHARS", name, line)
    names = _split_line(header, name, line, lim)  # C-speed even for 200,000 names; pandas is what is slow
    if len(names) > lim.max_columns:
        raise InputError(f"{len(names):,} columns; at most {lim.max_columns:,} (NTA_MAX_COLUMNS)", file=name,
                         row=line)  # fmt: skip
    long = next((n for n in names if len(n) > lim.max_column_name_chars), None)
    if long is not None:
        raise InputError(f"a column name is {len(long):,} characters long; at most {lim.max_column_name_chars} "
                         f"(NTA_MAX_COLUMN_NAME_CHARS); it starts {excerpt(long, 30)}", file=name,
                         row=line)  # fmt: skip
    return [n.strip() for n in names]


def _long_part(line: str, limit: int, what: str, variable: str, name: str, row: int) -> None:
    """Refuse a comma-free stretch (quotes aside) longer than any allowed cell before the csv module, whose own
    limit (128 KB per field) would give a vaguer message."""
    longest = max(line.split(","), key=len).strip('"')
    if len(longest) > limit:
        raise InputError(f"a {what} is at least {len(longest):,} characters long; at most {limit:,} ({variable}); "
                         f"it starts {excerpt(longest, 20)}", file=name, row=row)  # fmt: skip


def _split_line(line: str, name: str, row: int, lim: Limits) -> list[str]:
    try:
        return next(csv.reader([line]))
    except csv.Error as exc:  # the csv module's own field limit (128 KB) or broken quoting
        raise InputError(
            f"cannot split the line into cells ({str(exc)[:80]}); is a cell longer than "
            f"{lim.max_cell_chars:,} characters?",
            file=name,
            row=row,
        ) from exc


def _check_size(
    numbered: list[tuple[int, str]], columns: int, name: str, lim: Limits, rows_limit: tuple[int, str]
) -> None:
    rows, (max_rows, variable) = len(numbered) - 1, rows_limit
    if rows > max_rows:
        raise InputError(f"{rows:,} data rows; at most {max_rows:,} ({variable})", file=name)
    if rows * columns > lim.max_cells:
        raise InputError(f"{rows:,} rows x {columns:,} columns = {rows * columns:,} cells; at most "
                         f"{lim.max_cells:,} (NTA_MAX_CELLS)", file=name)  # fmt: skip
    # Only a line longer than the cell limit can hold a cell over it: split just those.
    for line_no, line in numbered[1:]:
        if len(line) <= lim.max_cell_chars:
            continue
        _long_part(line, lim.max_cell_chars, "cell", "NTA_MAX_CELL_CHARS", name, line_no)
        cells = _split_line(line, name, line_no, lim)
        long = next((i for i, c in enumerate(cells) if len(c) > lim.max_cell_chars), None)
        if long is not None:
            raise InputError(f"a cell is {len(cells[long]):,} characters long; at most {lim.max_cell_chars:,} "
                             f"(NTA_MAX_CELL_CHARS) (column {long + 1})", file=name, row=line_no)  # fmt: skip


def to_numeric_strict(table: Table, column: str, *, what: str = "a number") -> pd.Series:
    """Column as float; a non-empty cell that is not a number raises an InputError naming row and column."""
    raw = table.df[column]
    values = pd.to_numeric(raw, errors="coerce")
    bad = values.isna() & raw.notna()
    if bad.any():
        label = raw.index[bad.to_numpy()][0]
        raise InputError(
            f"expected {what}, found {excerpt(raw[label])}", file=table.name, row=table.line_of(label),
            column=column,
        )  # fmt: skip
    return values.astype("float64")


def normalise_column_name(name: str) -> str:
    """Spaces and `#` become `_`; `Ionization_mode` -> `Ionization_Mode`; RT aliases.

    See docs/ms1-workflow.md#feature-tables.
    """
    name = name.replace(" ", "_").replace("#", "_")
    if name == "Ionization_mode":
        return "Ionization_Mode"
    return "Retention_Time" if name in RT_ALIASES else name


def _normalise_mode(value: object) -> object:
    text = str(value).strip().lower()
    return {"esi+": "Esi+", "esi-": "Esi-"}.get(text, value)


def read_feature_table(source: Source, *, mode: str, name: str | None = None, na_val: str = "") -> Table:
    """Read one ionization mode's feature table and normalise it (docs/ms1-workflow.md#feature-tables).

    Returns a table with `Mass` (neutral), `Retention_Time` and `Ionization_Mode` present and numeric,
    columns sorted in Python string order (the replicate grouping depends on that order).
    """
    if mode not in MODE_LABELS:
        raise ValueError(f"mode must be 'pos' or 'neg', not {mode!r}")
    name = name or (Path(source).name if not isinstance(source, bytes) else f"{mode} table")
    table = read_csv_table(source, name, na_values=[na_val] if na_val else None)
    df = table.df
    df = df.loc[:, [c for c in df.columns if c and not c.startswith("Unnamed: ")]]
    renamed = [normalise_column_name(c) for c in df.columns]
    clash = [n for n, c in Counter(renamed).items() if c > 1]
    if clash:
        raise InputError("two columns mean the same thing after normalisation", file=name, column=clash[0])
    df.columns = renamed
    table.df = df
    if "Mass" not in df.columns and "m/z" not in df.columns:
        raise InputError("Either Mass or m/z column must be in the input file. (Check spelling!)", file=name)
    if "Retention_Time" not in df.columns:
        raise InputError("Retention_Time column must be in the input file. (Check spelling!)", file=name)
    df["Retention_Time"] = to_numeric_strict(table, "Retention_Time", what="a retention time in minutes")
    if "Mass" in df.columns:
        df["Mass"] = to_numeric_strict(table, "Mass", what="a neutral mass")
    else:
        mz = to_numeric_strict(table, "m/z", what="an m/z value")
        df["Mass"] = mz - PROTON_MASS_ORIGINAL if mode == "pos" else mz + PROTON_MASS_ORIGINAL
    if "Ionization_Mode" in df.columns:
        df["Ionization_Mode"] = df["Ionization_Mode"].map(_normalise_mode)
    else:
        df["Ionization_Mode"] = MODE_LABELS[mode]
    table.df = df[sorted(df.columns)]
    return table


def read_run_sequence(source: Source, *, name: str | None = None) -> pd.DataFrame:
    """Run-sequence file: column 1 = injection names in acquisition order, optional column 2 = sample type.

    Headers are free text (columns are used by position). The original read the value `1` as NaN; we do not.
    """
    name = name or (Path(source).name if not isinstance(source, bytes) else "run sequence")
    table = read_csv_table(source, name)
    df = table.df.loc[:, [c for c in table.df.columns if not c.startswith("Unnamed: ")]]
    df = df.dropna(how="all")
    first = df.columns[0]
    df[first] = df[first].astype("string").str.strip()
    missing = df[first].isna()
    if missing.any():
        raise InputError("injection name is empty", file=name, row=table.line_of(df.index[missing][0]),
                         column=first)  # fmt: skip
    return df.reset_index(drop=True)


TRACER_REQUIRED = ("Ionization_Mode", "Chemical_Name", "Monoisotopic_Mass", "Retention_Time")


def read_tracers(source: Source, *, name: str | None = None) -> pd.DataFrame:
    """Tracer file (docs/ms1-workflow.md#tracer-file): exact column names; modes normalised to `Esi+`/`Esi-`."""
    name = name or (Path(source).name if not isinstance(source, bytes) else "tracer file")
    table = read_csv_table(source, name, max_rows=current().max_tracers)
    df = table.df
    missing = [c for c in TRACER_REQUIRED if c not in df.columns]
    if missing:
        raise InputError(
            f"required tracer column is missing (needed: {', '.join(TRACER_REQUIRED)})", file=name,
            column=missing[0],
        )  # fmt: skip
    df["Monoisotopic_Mass"] = to_numeric_strict(table, "Monoisotopic_Mass", what="a neutral monoisotopic mass")
    df["Retention_Time"] = to_numeric_strict(table, "Retention_Time", what="a retention time in minutes")
    modes = df["Ionization_Mode"].map(_normalise_mode)
    bad = ~modes.isin(["Esi+", "Esi-"])
    if bad.any():
        label = df.index[bad.to_numpy()][0]
        raise InputError(
            f"ionization mode must be ESI+ or ESI-, found {excerpt(df.at[label, 'Ionization_Mode'])}", file=name,
            row=table.line_of(label), column="Ionization_Mode",
        )  # fmt: skip
    df["Ionization_Mode"] = modes
    for column in ("Monoisotopic_Mass", "Retention_Time", "Chemical_Name"):
        empty = df[column].isna()
        if empty.any():
            raise InputError("value is missing", file=name, row=table.line_of(df.index[empty][0]), column=column)
    if "DTXSID" not in df.columns:
        df["DTXSID"] = np.nan
    return df.reset_index(drop=True)

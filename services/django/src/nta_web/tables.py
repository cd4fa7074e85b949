"""Result tables (one CSV per workbook sheet, in GridFS) shown a page at a time."""

from __future__ import annotations

import csv
import io
import math
import sys
from dataclasses import dataclass
from typing import IO, Any

# Shown first, in this order, when the job has them; the remaining sheets follow alphabetically.
KEY_TABLES = (
    "Final_Occurrence_Matrix",
    "Final_Occurrence_Matrix_flags",
    "Tracer_Summary",
    "Decision_Documentation",
    "Chemical_Results",
    "Tracer_Detection_Statistics",
)
PREFIX = "table_"
# The csv module refuses fields over 128 KB by default (a process-wide setting); result tables repeat input
# cells, so a long one must not turn the results page into a 500. Cells are cut for display instead.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
ELLIPSIS = "…"


@dataclass(frozen=True)
class Page:
    header: list[str]
    rows: list[list[str]]
    number: int  # 1-based, clamped to the pages that exist
    pages: int
    total: int  # data rows in the whole table
    first: int  # 1-based number of the first row shown (0 when the table is empty)

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def table_names(results: dict[str, Any]) -> list[str]:
    """Sheet keys (the part after "table_") of a job's results, key tables first."""
    names = [n.removeprefix(PREFIX) for n in results if n.startswith(PREFIX)]
    first = [n for n in KEY_TABLES if n in names]
    return first + sorted(n for n in names if n not in first)


def title(sheet: str) -> str:
    return sheet.replace("_", " ")


def shorten(cell: str, limit: int) -> str:
    return cell if len(cell) <= limit else cell[:limit] + ELLIPSIS


def read_page(stream: IO[bytes], page: int, rows_per_page: int, *, cell_chars: int = 300) -> Page:
    """Rows of one page of a CSV; the whole file is scanned once to count rows (tables are a few MB at most).
    Cells longer than `cell_chars` are cut (the downloads have them whole)."""
    reader = csv.reader(io.StringIO(stream.read().decode("utf-8-sig", errors="replace"), newline=""))
    try:
        header = next(reader, [])
        body = list(reader)
    except csv.Error as exc:  # a file no writer of ours produces; show why rather than fail the page
        header, body = ["This table cannot be shown"], [[f"{exc}; download the file instead"]]
    header = [shorten(h, cell_chars) for h in header]
    total = len(body)
    pages = max(1, math.ceil(total / rows_per_page))
    number = min(max(1, page), pages)
    start = (number - 1) * rows_per_page
    shown = [[shorten(c, cell_chars) for c in row] for row in body[start : start + rows_per_page]]
    return Page(header=header, rows=shown, number=number, pages=pages, total=total, first=start + 1 if shown else 0)

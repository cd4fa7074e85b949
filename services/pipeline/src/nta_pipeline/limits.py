"""Every bound on user input, in one place: read by params/readers (CLI and worker), Django and Flask.

Each size limit has a default and an environment variable (read once per process, see `current()`); the
ranges of the numeric parameters are fixed (they are science, not capacity). README.md, "Limits", lists them.

Why: an unbounded value either does no harm or lets one request hold a web thread or a worker for minutes
(200,000 columns, a 10 MB number, a 100,000-deep JSON body). Every check here runs before the expensive work.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from .errors import NtaError

EXCERPT_CHARS = 40  # how much of a bad value an error message quotes


@dataclass(frozen=True)
class Range:
    """Closed range [lo, hi] of a numeric parameter; `lo_open` excludes lo."""

    lo: float
    hi: float
    unit: str = ""
    lo_open: bool = False

    def contains(self, value: float) -> bool:
        return math.isfinite(value) and (value > self.lo if self.lo_open else value >= self.lo) and value <= self.hi

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{'>' if self.lo_open else '>='} {self.lo:g} and <= {self.hi:g}{unit}"


# Numeric parameters (docs/ms1-workflow.md#parameters). Upper bounds are far beyond any sensible setting, low
# enough that nothing downstream degenerates (a 1e9-minute RT window makes every feature an adduct of every other).
RANGES: dict[str, Range] = {
    "mass_accuracy": Range(0, 1000, "ppm"),
    "rt_accuracy": Range(0, 60, "min"),
    "mass_accuracy_tr": Range(0, 1000, "ppm"),
    "rt_accuracy_tr": Range(0, 60, "min"),
    "min_replicate_hits": Range(1, 100, "%"),
    "min_replicate_hits_blanks": Range(1, 100, "%"),
    "max_replicate_cv": Range(0, 100),
    "mrl_std_multiplier": Range(3, 10),  # and one of 3, 5, 10 (params)
    "parent_ion_mass_accuracy": Range(0, 100, "ppm", lo_open=True),  # the search API's own bound
    "minimum_rt": Range(0, 1440, "min"),
}
# With units Da the mass tolerances are absolute: 10 Da is already a different compound class.
DA_RANGE = Range(0, 10, "Da")

# Longest text of a text parameter, and most items of a list parameter.
TEXT_CHARS: dict[str, int] = {"project_name": 100, "na_val": 32}
FILE_NAME_CHARS = 200  # pos_input etc.: the uploaded file's name (Django silently cuts names to 255, so the
# limit must lie below that to be seen at all)
OTHER_TEXT_CHARS = 64  # any other text parameter (choices, version, datetime)
LIST_ITEMS = 32  # more than every allowed adduct / loss
PARAMETER_CHARS = 1000  # any raw value, checked before it is parsed at all


@dataclass(frozen=True)
class Limits:
    """Capacity limits of one process. Field -> environment variable in ENV."""

    max_columns: int = 2000  # per input table; an MPP export of 500 samples has about 520
    max_rows: int = 200_000  # data rows per input table
    max_cells: int = 10_000_000  # rows x columns per table: bounds parse time (about 2 s per 10 M cells)
    max_tracers: int = 1000  # rows of the tracer file
    max_column_name_chars: int = 256
    max_cell_chars: int = 4096  # one text cell of an input table
    max_header_chars: int = 1_000_000  # the whole header line, checked before it is split
    validation_seconds: float = 10.0  # budget of checking one upload in the web request
    job_timeout_seconds: float = 3600.0  # wall clock of one job on a worker
    rest_max_body_mb: float = 16.0  # request body of the search API (nginx: client_max_body_size)
    rest_max_json_depth: int = 32  # nesting of a search request (the schema needs 2)

    @property
    def rest_max_body_bytes(self) -> int:
        return int(self.rest_max_body_mb * 1024 * 1024)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """The defaults, overridden by the NTA_* variables of ENV; a bad value raises NtaError naming it."""
        env = os.environ if environ is None else environ
        values: dict[str, int | float] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(ENV[f.name], "").strip()
            if not raw:
                continue
            kind = int if f.type in ("int", int) else float
            try:
                value = kind(raw)
            except ValueError:
                value = float("nan")
            if not (isinstance(value, int) or math.isfinite(value)) or not value > 0:
                raise NtaError(f"{ENV[f.name]} must be a positive {'integer' if kind is int else 'number'}, "
                               f"got {excerpt(raw)}")  # fmt: skip
            values[f.name] = value
        return cls(**values)  # type: ignore[arg-type]


ENV: dict[str, str] = {
    "max_columns": "NTA_MAX_COLUMNS",
    "max_rows": "NTA_MAX_ROWS",
    "max_cells": "NTA_MAX_CELLS",
    "max_tracers": "NTA_MAX_TRACERS",
    "max_column_name_chars": "NTA_MAX_COLUMN_NAME_CHARS",
    "max_cell_chars": "NTA_MAX_CELL_CHARS",
    "max_header_chars": "NTA_MAX_HEADER_CHARS",
    "validation_seconds": "NTA_VALIDATION_SECONDS",
    "job_timeout_seconds": "NTA_JOB_TIMEOUT_SECONDS",
    "rest_max_body_mb": "NTA_REST_MAX_BODY_MB",
    "rest_max_json_depth": "NTA_REST_MAX_JSON_DEPTH",
}


@lru_cache(maxsize=1)
def current() -> Limits:
    """The limits of this process (environment read once; `current.cache_clear()` re-reads it)."""
    return Limits.from_env()


def excerpt(value: object, limit: int = EXCERPT_CHARS) -> str:
    """repr of a user-supplied value, cut to `limit` characters (an error must not echo 10 MB back)."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


class DeadlineExceeded(NtaError):
    """A time budget ran out; the message says what was being done."""


class Deadline:
    """A time budget checked between pieces of work (a running pandas call cannot be interrupted, so the
    pieces are kept small by the size limits)."""

    def __init__(self, seconds: float, what: str):
        self.seconds, self.what = seconds, what
        self.end = time.monotonic() + seconds

    def check(self, doing: str = "") -> None:
        if time.monotonic() > self.end:
            at = f" (at {doing})" if doing else ""
            raise DeadlineExceeded(f"{self.what} took longer than {self.seconds:g} s{at}; send a smaller file "
                                   f"or raise {ENV['validation_seconds']}")  # fmt: skip


def describe() -> list[tuple[str, str, str]]:
    """(environment variable, value in effect, meaning) of every capacity limit, for `nta-ms1 params`."""
    limits = current()
    meaning = {
        "max_columns": "columns per input table",
        "max_rows": "data rows per input table",
        "max_cells": "rows x columns per input table",
        "max_tracers": "rows of the tracer file",
        "max_column_name_chars": "characters per column name",
        "max_cell_chars": "characters per cell of an input table",
        "max_header_chars": "characters of a table's header line",
        "validation_seconds": "seconds the web form may spend checking one upload",
        "job_timeout_seconds": "seconds one job may run on a worker",
        "rest_max_body_mb": "MB of a search API request body",
        "rest_max_json_depth": "nesting depth of a search API JSON body",
    }
    return [(ENV[k], f"{getattr(limits, k):g}", meaning[k]) for k in ENV]

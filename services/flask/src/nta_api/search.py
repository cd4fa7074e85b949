"""Batch chemical search over a ReferenceIndex: request validation, vectorised matching, JSON rendering.

Pure functions (no Flask, no MongoDB) so they are testable and benchmarkable on their own.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .chem import FormulaError, parse_formula
from .reference import ReferenceIndex

COLUMNS = ["INPUT", "DTXSID", "PREFERRED_NAME", "CASRN", "MOLECULAR_FORMULA", "MONOISOTOPIC_MASS",
           "MASS_DIFFERENCE", "MASS_ERROR_PPM", "FOUND_BY"]  # fmt: skip
FOUND_BY_MASS = "Monoisotopic Mass"
FOUND_BY_FORMULA = "Exact Formula"
SEARCH_MODES = ("mass", "formula")

MAX_QUERIES = 20_000
MAX_PPM = 100.0
MAX_MASS = 1_000_000.0  # u; far above any small molecule, keeps m * ppm finite
# A guard against answers of hundreds of MB (e.g. 20,000 masses at 100 ppm against a dense region).
MAX_RESULT_ROWS = 1_000_000

_NUMBER = re.compile(r"[+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_encode_str = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]
_COLUMNS_JSON = json.dumps(COLUMNS)


class QueryError(ValueError):
    """Invalid search request; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def preview(value: Any, limit: int = 40) -> str:
    """Short, safe rendering of a client-supplied value for error messages."""
    try:
        text = json.dumps(value, ensure_ascii=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_list(query: Any) -> list[Any]:
    if not isinstance(query, list):
        raise QueryError(f"query must be a JSON list, got {type(query).__name__} {preview(query)}")
    if not query:
        raise QueryError("query is empty: send at least one mass or formula")
    if len(query) > MAX_QUERIES:
        raise QueryError(f"query has {len(query)} items; at most {MAX_QUERIES} per request (split the batch)",
                         status=413)  # fmt: skip
    return query


def _number(value: Any) -> float | None:
    """float of a JSON number or a plain decimal string; None for anything else (bools, 'nan', '1_0')."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return None
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return float(value)
    return None


def parse_accuracy(value: Any) -> float:
    """Mass accuracy in ppm, 0 < ppm <= MAX_PPM."""
    if value is None:
        raise QueryError(f"accuracy (ppm) is required for mass search: a number, 0 < accuracy <= {MAX_PPM:g}")
    ppm = _number(value)
    if ppm is None or not math.isfinite(ppm) or not 0 < ppm <= MAX_PPM:
        raise QueryError(
            f"accuracy must be a number of ppm, 0 < accuracy <= {MAX_PPM:g}; got {preview(value)}"
        )
    return ppm


def parse_masses(query: Any) -> np.ndarray:
    """float64 array of the query masses (numbers or numeric strings), each 0 < m <= MAX_MASS."""
    items = _check_list(query)
    # Fast path for the common all-numbers batch; the loop below only runs to find and name bad items.
    if all(type(v) is float for v in items):
        masses = np.asarray(items, dtype=np.float64)
    else:
        masses = np.empty(len(items), dtype=np.float64)
        for i, v in enumerate(items):
            x = _number(v)
            if x is None:
                raise QueryError(f"query item {i + 1} is not a mass (number or numeric string): {preview(v)}")
            masses[i] = x
    bad = ~(np.isfinite(masses) & (masses > 0) & (masses <= MAX_MASS))
    if bad.any():
        i = int(np.argmax(bad))
        raise QueryError(f"query item {i + 1} must be a mass in (0, {MAX_MASS:g}] u, got {preview(items[i])}")
    return masses


def parse_formulas(query: Any) -> list[str]:
    """The query formulas, each validated against the strict grammar of chem.parse_formula."""
    items = _check_list(query)
    for i, v in enumerate(items):
        if not isinstance(v, str):
            raise QueryError(
                f"query item {i + 1} must be a formula string, got {type(v).__name__} {preview(v)}"
            )
        try:
            parse_formula(v)
        except FormulaError as exc:
            raise QueryError(f"query item {i + 1} is not a valid molecular formula: {exc}") from None
    return items


def parse_search_by(value: Any) -> str:
    if value not in SEARCH_MODES:
        raise QueryError(f'search_by must be "mass" or "formula", got {preview(value)}')
    return value


@dataclass(frozen=True)
class MassMatches:
    """Matches of a mass search; arrays are aligned and already in response order."""

    inputs: np.ndarray  # distinct query masses, ascending
    input_idx: np.ndarray  # per match: index into inputs
    rows: np.ndarray  # per match: reference row
    difference: np.ndarray  # |input - mass| in u
    error_ppm: np.ndarray  # (mass - input) / input * 1e6

    def __len__(self) -> int:
        return len(self.rows)

    def to_json(self, index: ReferenceIndex) -> str:
        """``{"columns": [...], "data": [...]}`` built from the index's pre-encoded records."""
        input_text = [repr(x) for x in self.inputs.tolist()]
        records, offsets = index.records, index.record_offsets
        data = ",".join(
            f'[{input_text[q]},{records[a:b]},{d!r},{p!r},"{FOUND_BY_MASS}"]'
            for q, a, b, d, p in zip(self.input_idx.tolist(), offsets[self.rows].tolist(),
                                     offsets[self.rows + 1].tolist(), self.difference.tolist(),
                                     self.error_ppm.tolist(), strict=True)
        )  # fmt: skip
        return f'{{"columns":{_COLUMNS_JSON},"data":[{data}]}}'


@dataclass(frozen=True)
class FormulaMatches:
    inputs: list[str]  # distinct query formulas, sorted
    input_idx: np.ndarray
    rows: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def to_json(self, index: ReferenceIndex) -> str:
        encoded = [_encode_str(f) for f in self.inputs]
        records, offsets = index.records, index.record_offsets
        data = ",".join(
            f'[{encoded[q]},{records[a:b]},null,null,"{FOUND_BY_FORMULA}"]'
            for q, a, b in zip(self.input_idx.tolist(), offsets[self.rows].tolist(),
                               offsets[self.rows + 1].tolist(), strict=True)
        )  # fmt: skip
        return f'{{"columns":{_COLUMNS_JSON},"data":[{data}]}}'


def search_masses(index: ReferenceIndex, masses: np.ndarray, ppm: float) -> MassMatches:
    """Every reference row with |M - m| <= m * ppm / 1e6 for each distinct query mass m, all at once.

    Rows are ordered by input mass, then by mass difference (then by reference mass).
    """
    inputs = np.unique(np.asarray(masses, dtype=np.float64))
    tol = inputs * ppm / 1e6
    # Slightly widened window so rounding in m +/- tol cannot drop a boundary row; the exact test follows.
    slack = tol * 1e-9
    lo = np.searchsorted(index.mass, inputs - tol - slack, side="left")
    hi = np.searchsorted(index.mass, inputs + tol + slack, side="right")
    counts = hi - lo
    total = int(counts.sum())
    if total > MAX_RESULT_ROWS:
        raise QueryError(f"the search would return more than {MAX_RESULT_ROWS:,} rows; lower the accuracy "
                         "(ppm) or send fewer masses")  # fmt: skip
    # Expand each [lo, hi) window into candidate pairs without a Python loop: row = lo[q] + rank in window.
    input_idx = np.repeat(np.arange(len(inputs)), counts)
    window_start = np.cumsum(counts) - counts
    rows = np.arange(total) - np.repeat(window_start - lo, counts)
    found = index.mass[rows]
    query = inputs[input_idx]
    difference = np.abs(query - found)
    keep = difference <= tol[input_idx]  # the contract's inclusive test, same float expression as tol
    input_idx, rows, found, query, difference = (a[keep] for a in (input_idx, rows, found, query, difference))
    order = np.lexsort((rows, difference, input_idx))
    input_idx, rows, found, query, difference = (
        a[order] for a in (input_idx, rows, found, query, difference)
    )
    error_ppm = (found - query) / query * 1e6
    return MassMatches(
        inputs=inputs, input_idx=input_idx, rows=rows, difference=difference, error_ppm=error_ppm
    )


def search_formulas(index: ReferenceIndex, formulas: list[str]) -> FormulaMatches:
    """Reference rows whose MOLECULAR_FORMULA equals a query formula; ordered by formula, then mass."""
    inputs = sorted(set(formulas))
    hits = [index.rows_for_formula(f) for f in inputs]
    counts = np.fromiter(map(len, hits), dtype=np.int64, count=len(hits))
    rows = np.concatenate(hits).astype(np.int64) if hits else np.empty(0, dtype=np.int64)
    input_idx = np.repeat(np.arange(len(inputs)), counts)
    return FormulaMatches(inputs=inputs, input_idx=input_idx, rows=rows)

"""nta_api.search on in-memory indexes (no MongoDB)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nta_api.reference import ReferenceIndex
from nta_api.search import COLUMNS, QueryError, parse_masses, search_formulas, search_masses


def make_index(masses: list[float], formulas: list[str] | None = None) -> ReferenceIndex:
    n = len(masses)
    formulas = formulas or [f"C{i + 1}H4" for i in range(n)]
    return ReferenceIndex.from_columns([f"DTXSID{i}" for i in range(n)], [f"name {i}" for i in range(n)],
                                       [None] * n, formulas, masses)  # fmt: skip


def rows(index: ReferenceIndex, matches) -> list[list]:
    out = json.loads(matches.to_json(index))
    assert out["columns"] == COLUMNS
    return out["data"]


def test_matches_brute_force_on_random_data() -> None:
    rng = np.random.default_rng(7)
    ref = np.round(rng.uniform(50, 1200, 20_000), 6)
    index = make_index(ref.tolist())
    queries = np.round(rng.uniform(50, 1200, 500), 4)
    queries[:50] = ref[:50]  # some exact hits
    got = search_masses(index, queries, 10.0)
    expected = sorted((q, abs(q - m), m) for q in np.unique(queries).tolist() for m in ref.tolist()
                      if abs(m - q) <= q * 10.0 / 1e6)  # fmt: skip
    data = rows(index, got)
    assert [(r[0], r[6], r[5]) for r in data] == expected


def test_duplicate_inputs_answered_once_and_empty_index() -> None:
    index = make_index([100.0, 200.0])
    assert [r[0] for r in rows(index, search_masses(index, np.array([100.0, 100.0]), 5))] == [100.0]
    empty = make_index([])
    assert len(search_masses(empty, np.array([100.0]), 5)) == 0
    assert len(search_formulas(empty, ["C6H6"])) == 0


def test_records_survive_json_special_characters() -> None:
    index = ReferenceIndex.from_columns(
        ["D1"], ['quote " backslash \\ unicode αβ'], ["1-2-3"], ["C6H6"], [78.04695]
    )
    (row,) = rows(index, search_masses(index, np.array([78.04695]), 1))
    assert row[2] == 'quote " backslash \\ unicode αβ'
    assert index.records.isascii()


def test_result_row_limit() -> None:
    index = make_index(np.linspace(100.495, 100.505, 2001).tolist())
    import nta_api.search as search

    limit, search.MAX_RESULT_ROWS = search.MAX_RESULT_ROWS, 1000
    try:
        with pytest.raises(QueryError, match="more than 1,000 rows"):
            search_masses(index, np.array([100.5]), 100)
    finally:
        search.MAX_RESULT_ROWS = limit


@pytest.mark.parametrize("bad", [[float("nan")], ["nan"], ["inf"], [-1], [0], [True], ["1_0"], [None], [[1]],
                                 [{"$gt": 0}], ["12 3"], [10**400], [2e6]])  # fmt: skip
def test_parse_masses_rejects(bad: list) -> None:
    with pytest.raises(QueryError, match="query item 1"):
        parse_masses(bad)


def test_parse_masses_accepts_numbers_and_numeric_strings() -> None:
    assert parse_masses([194, "194.08", " 1e2 ", 0.5]).tolist() == [194.0, 194.08, 100.0, 0.5]

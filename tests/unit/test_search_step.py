"""The workflow's chemical-search step: which queries it sends and how hits join back to features.

The searcher is a recording stand-in here (pure logic); tests/api exercises the real API."""

import pandas as pd

from nta_pipeline import Inputs, Parameters, run_workflow

TABLE = (
    "Formula,MB1,MB2,A_1,A_2,Mass,RT\n"
    "C5 H13 N O,1,1,100,100,103.0997,2.0\n"
    "C8 H10 N4 O2,1,1,100,100,194.0804,3.0\n"
    "C8 H10 N4 O2,1,1,100,100,194.0804,5.0\n"
)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, search_by: str, query: list, accuracy: float) -> pd.DataFrame:
        self.calls.append((search_by, list(query), accuracy))
        return pd.DataFrame({"INPUT": [query[-1]], "DTXSID": ["DTXSID0020232"], "PREFERRED_NAME": ["Caffeine"],
                             "MASS_DIFFERENCE": [0.0001], "FOUND_BY": ["x"]})  # fmt: skip


def test_mass_search_sends_distinct_masses_and_joins_every_feature() -> None:
    rec = Recorder()
    results = run_workflow(Inputs(pos=TABLE.encode()), Parameters(parent_ion_mass_accuracy=3), searcher=rec)
    assert rec.calls == [("mass", [103.0997, 194.0804], 3.0)]
    chem = results.chemical_results
    assert chem["Feature ID"].tolist() == [2, 3]  # both features at 194.0804 get the candidate
    assert set(chem["PREFERRED_NAME"]) == {"Caffeine"} and "Retention Time" in chem.columns
    assert results.summary["chemical_candidates"] == 2


def test_formula_search_sends_unspaced_formulas() -> None:
    rec = Recorder()
    run_workflow(Inputs(pos=TABLE.encode()), Parameters(search_mode="formula"), searcher=rec)
    assert rec.calls[0][0] == "formula" and rec.calls[0][1] == ["C5H13NO", "C8H10N4O2"]


def test_no_searcher_means_a_warning_not_a_failure() -> None:
    results = run_workflow(Inputs(pos=TABLE.encode()), Parameters())
    assert results.chemical_results is None
    assert any("search skipped" in w for w in results.summary["warnings"])

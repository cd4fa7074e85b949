"""Parameters: defaults, parsing from strings, validation, the Analysis Parameters sheet.

See docs/ms1-workflow.md#parameters.
"""

import pytest

from nta_pipeline.errors import ParameterError
from nta_pipeline.params import LABELS, Parameters


def test_defaults_are_the_originals() -> None:
    p = Parameters()
    assert (p.mass_accuracy, p.rt_accuracy, p.mass_accuracy_tr, p.rt_accuracy_tr) == (10.0, 0.05, 5.0, 0.1)
    assert (p.min_replicate_hits, p.min_replicate_hits_blanks, p.max_replicate_cv) == (66.0, 66.0, 0.8)
    assert p.pos_adducts == ("Na", "K", "NH4") and p.neg_adducts == ("Cl", "HCO2", "CH3CO2")
    assert p.neutral_losses == ("H2O", "CO2") and p.mrl_std_multiplier == 3.0 and p.minimum_rt == 0.0


def test_from_strings_converts_lists_and_numbers() -> None:
    p = Parameters.from_strings({"pos_adducts": "Na,K", "neg_adducts": "['Cl', 'Br']", "mass_accuracy": "5",
                                 "mrl_std_multiplier": "10"})  # fmt: skip
    assert p.pos_adducts == ("Na", "K") and p.neg_adducts == ("Cl", "Br")
    assert p.mass_accuracy == 5.0 and p.mrl_std_multiplier == 10.0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"colour": "red"}, "unknown parameter"),
        ({"mass_accuracy": "ten"}, "expected a number"),
        ({"mass_accuracy": "-1"}, "must be >= 0"),
        ({"min_replicate_hits": "150"}, "<= 100"),
        ({"pos_adducts": "Na,Xe"}, "unknown value"),
        ({"mass_accuracy_units": "mDa"}, "not one of"),
        ({"mrl_std_multiplier": "4"}, "3, 5 or 10"),
        ({"search_mode": "smiles"}, "not one of"),
    ],
)
def test_bad_values_are_named(values: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        Parameters.from_strings(values)


def test_sheet_rows_follow_the_original_order_without_na_val() -> None:
    rows = Parameters(project_name="Blood study").sheet_rows()
    assert len(rows) == 30
    assert [label for label, _ in rows] == [v for k, v in LABELS.items() if k != "na_val"]
    assert rows[0] == ("Project name", "Blood study")
    assert dict(rows)["Positive mode adducts"] == "['Na', 'K', 'NH4']"
    assert dict(rows)["Max CV Across Samples" if False else "Max replicate CV"] == "0.8"

"""Occurrence flags, removal and blank subtraction on a table computed by hand
(docs/ms1-workflow.md#occurrence-flags-and-feature-removal, docs/ms1-workflow.md#blank-subtraction).

Blank MB (3 replicates), sample groups A_ and B_ (3 each); k = 3, thresholds 66 %, CV 0.8.
"""

import numpy as np
import pandas as pd
import pytest

from nta_pipeline.cleaning import clean_features
from nta_pipeline.grouping import design_from_columns
from nta_pipeline.stats import add_mrl, add_statistics

nan = np.nan
ROWS = {  #        MB1  MB2  MB3    A_1  A_2  A_3    B_1  B_2  B_3
    1: ([10, 10, 10], [100, 110, 90], [nan, nan, nan]),  # A above MRL 10; B missing
    2: ([nan, nan, nan], [5, nan, nan], [1, 100, 1]),  # A: R (33 %); B: CV 1.68; blank absent
    3: ([50, 60, nan], [70, 70, 70], [200, 200, nan]),  # MRL = 3*7.0711+55 = 76.21: A is MRL; B kept
    4: ([1, 2, 3], [nan, nan, nan], [nan, nan, nan]),  # no sample detection
    5: ([100, nan, nan], [3, 3, 3], [4, 4, 4]),  # blank 33 %: gated to 0, shows R; both kept
}


def cleaned():
    data = {"Feature ID": list(ROWS), "Mass": [100.0 + i for i in ROWS], "Retention_Time": [1.0] * len(ROWS),
            "Duplicate Feature?": [0] * len(ROWS)}  # fmt: skip
    for prefix, pos in (("MB", 0), ("A_", 1), ("B_", 2)):
        for rep in range(3):
            data[f"{prefix}{rep + 1}"] = [float(ROWS[f][pos][rep]) for f in ROWS]
    df = pd.DataFrame(data)
    design = design_from_columns(list(df.columns))
    df = add_mrl(add_statistics(df, design), design, k=3.0, min_blank_hits=66.0)
    return clean_features(df, design, min_hits=66.0, max_cv=0.8, min_blank_hits=66.0, k=3.0)


def test_decision_documentation_cells_and_counts() -> None:
    doc = cleaned().documentation.set_index("Feature ID")
    assert doc.loc[1, "Mean A_"] == 100.0 and doc.loc[1, "Mean B_"] is None
    assert doc.loc[2, ["Mean A_", "Mean B_"]].tolist() == ["R", "CV"]
    assert doc.loc[3, ["Mean A_", "Mean B_"]].tolist() == ["MRL", 200.0]
    assert doc.loc[5, "Mean MB"] == "R"
    assert doc.loc[3, "Mean MB"] == 55.0 and doc.loc[2, "Mean MB"] is None  # 0 shows as empty
    assert doc["Possible Occurrence Count"].tolist() == [2] * 5
    assert doc["Unfiltered Occurrence Count"].tolist() == [1, 2, 2, 0, 2]
    assert doc["Final Occurrence Count"].tolist() == [1, 0, 1, 0, 2]
    assert doc["Final Occurrence Count (with flags)"].tolist() == [1, 1, 1, 0, 2]
    assert doc["Feature Removed?"].tolist() == ["", "CV, R", "", "NO DETECTIONS", ""]
    assert doc.loc[3, "Selected MRL"] == pytest.approx(76.2133)
    assert np.isnan(doc.loc[5, "Selected MRL"])  # gated blank: MRL 0 shows as empty


def test_branches_keep_mask_and_subtract() -> None:
    result = cleaned()
    clean, flagged = result.clean.set_index("Feature ID"), result.flagged.set_index("Feature ID")
    assert clean.index.tolist() == [1, 3, 5]
    assert flagged.index.tolist() == [1, 2, 3, 5]  # feature 2 survives on its pure-CV occurrence
    assert clean.loc[3, "BlankSub Mean B_"] == pytest.approx(145.0)  # 200 - 55
    assert np.isnan(clean.loc[3, "BlankSub Mean A_"])  # MRL-flagged mean masked
    assert clean.loc[5, "BlankSub Mean A_"] == 3.0  # gated blank subtracts 0
    assert flagged.loc[2, "BlankSub Mean B_"] == pytest.approx(34.0)  # CV kept in the flags branch
    assert np.isnan(flagged.loc[2, "BlankSub Mean A_"])  # R masked in both
    assert clean.loc[1, "Final Occurrence Percentage"] == 50.0
    assert flagged.loc[2, "Final Occurrence Percentage (with flags)"] == 50.0


def test_percentage_uses_the_originals_double_rounding() -> None:
    # 1 of 18 groups: round(1/18, 2) = 0.06 -> 6.0 (not 5.56 -> 6 by accident: check 1/16 = 0.0625 -> 6.0)
    assert np.round(np.round(1 / 16, 2) * 100, 0) == 6.0

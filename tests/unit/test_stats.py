"""Replicate statistics and MRL against hand-computed values.

See docs/ms1-workflow.md#replicate-statistics and docs/ms1-workflow.md#method-reporting-limits.
"""

import numpy as np
import pandas as pd
import pytest

from nta_pipeline.grouping import design_from_columns
from nta_pipeline.stats import add_mrl, add_statistics, group_statistics

nan = np.nan


def test_group_statistics_by_hand() -> None:
    values = np.array([[1.0, 2.0, 3.0], [1.0, nan, nan], [5.0, 5.0, 5.0], [nan, nan, nan], [2.0, 4.0, nan]])
    s = group_statistics(values)
    np.testing.assert_array_equal(s["Mean"], [2.0, 1.0, 5.0, nan, 3.0])
    np.testing.assert_array_equal(s["Median"], [2.0, 1.0, 5.0, nan, 3.0])
    # sample std (ddof=1): sqrt(((1-2)^2+(3-2)^2)/2) = 1; sqrt(2) = 1.41421356 -> 1.4142
    np.testing.assert_array_equal(s["STD"], [1.0, nan, 0.0, nan, 1.4142])
    np.testing.assert_array_equal(s["CV"], [0.5, nan, 0.0, nan, 0.4714])  # 1.4142 / 3 = 0.47140
    np.testing.assert_array_equal(s["Detection Count"], [3, 1, 3, 0, 2])
    np.testing.assert_allclose(s["Detection Percentage"], [100.0, 33.33, 100.0, 0.0, 66.67])


def test_detection_percentage_rounding_examples() -> None:
    four = group_statistics(np.array([[1.0, 1.0, 1.0, nan]]))
    five = group_statistics(np.array([[1.0, 1.0, 1.0, 1.0, nan]]))
    assert four["Detection Percentage"][0] == pytest.approx(75.0)
    assert five["Detection Percentage"][0] == pytest.approx(80.0)


def test_rounding_is_half_to_even_on_four_decimals() -> None:
    s = group_statistics(np.array([[0.00005, 0.00005]]))  # binary 0.00005 is slightly above: rounds up
    assert s["Mean"][0] == np.round(0.00005, 4)


def _frame() -> tuple[pd.DataFrame, object]:
    df = pd.DataFrame({
        "MB1": [10.0, nan, 50.0, 7.0], "MB2": [20.0, nan, 60.0, nan], "MB3": [30.0, nan, nan, nan],
        "A_1": [1.0, 2.0, 3.0, 4.0], "A_2": [1.0, 2.0, 3.0, 4.0],
        "Mass": [100.0, 200.0, 300.0, 400.0], "Retention_Time": [1.0, 2.0, 3.0, 4.0],
    })  # fmt: skip
    return df, design_from_columns(list(df.columns))


def test_statistics_columns_and_max_cv_includes_blank() -> None:
    df, design = _frame()
    out = add_statistics(df, design)
    assert out.loc[0, "Mean MB"] == 20.0 and out.loc[0, "STD MB"] == 10.0 and out.loc[0, "CV MB"] == 0.5
    assert out.loc[0, "CV A_"] == 0.0
    assert out.loc[0, "Max CV Across Samples"] == 0.5  # the blank's CV counts, as in the original


def test_mrl_by_hand() -> None:
    df, design = _frame()
    out = add_mrl(add_statistics(df, design), design, k=3.0, min_blank_hits=66.0)
    # row 0: 3 * 10 + 20 = 50; 5x: 70; 10x: 120
    assert out.loc[0, ["Selected MRL", "MRL (3x)", "MRL (5x)", "MRL (10x)"]].tolist() == [50.0, 50.0, 70.0, 120.0]
    assert out.loc[1, "Selected MRL"] == 0.0  # no blank detection
    # row 2: 2 of 3 detected (66.67 % >= 66): mean 55, std 7.0711 -> 3 * 7.0711 + 55
    assert out.loc[2, "Selected MRL"] == pytest.approx(76.2133)
    # row 3: 1 of 3 detected (33.33 % < 66): gated to 0 even though the mean exists
    assert out.loc[3, "MRL (10x)"] == 0.0


def test_mrl_falls_back_to_the_mean_with_one_blank_detection() -> None:
    df, design = _frame()
    out = add_mrl(add_statistics(df, design), design, k=5.0, min_blank_hits=30.0)
    assert out.loc[3, "Selected MRL"] == 7.0  # STD is NaN with one detection -> Mean

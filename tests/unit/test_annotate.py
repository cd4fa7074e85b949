"""Duplicates, adducts and the band join.

See docs/ms1-workflow.md#duplicate-flagging and docs/ms1-workflow.md#adduct-and-neutral-loss-annotation.
"""

import numpy as np

from nta_pipeline.annotate import ADDUCT_DELTAS, annotate_adducts, flag_duplicates
from nta_pipeline.bandjoin import band_pairs


def brute_pairs(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> set[tuple[int, int]]:
    return {(i, j) for i in range(len(lo)) for j in range(len(values)) if lo[i] <= values[j] <= hi[i]}


def test_band_pairs_matches_brute_force() -> None:
    rng = np.random.default_rng(7)
    values = rng.uniform(100, 110, 400)
    centre = rng.uniform(100, 110, 300)
    half = rng.uniform(0, 0.2, 300)
    i, j = band_pairs(values, centre - half, centre + half)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == brute_pairs(values, centre - half, centre + half)


def test_duplicates_are_inclusive_and_flag_every_member() -> None:
    mass = np.array([100.0, 100.5, 101.0, 200.0, 200.0])
    rt = np.array([1.0, 1.5, 2.5, 5.0, 5.6])
    flags = flag_duplicates(mass, rt, tol=0.5, units="Da", rt_tol=0.5)
    # 0-1 exactly at both tolerances -> duplicates; 1-2 RT 1.0 apart; 3-4 RT 0.6 apart
    assert flags.tolist() == [1, 1, 0, 0, 0]


def test_duplicate_ppm_uses_the_row_features_mass() -> None:
    # |m_i - m_j| = 0.001; /1000 * 1e6 = 1 ppm for the lighter one, slightly less for the heavier
    mass = np.array([1000.0, 1000.001])
    rt = np.zeros(2)
    tol = 0.001 / 1000.001 * 1e6  # exactly the heavier feature's ppm
    assert flag_duplicates(mass, rt, tol=tol, units="ppm", rt_tol=0.1).tolist() == [0, 1]


def test_adduct_is_and_has_with_info() -> None:
    na = ADDUCT_DELTAS["Na"]
    fid = np.array([10, 11, 12])
    mass = np.array([200.0, 200.0 + na, 300.0])
    rt = np.array([3.0, 3.01, 3.0])
    is_, has, info = annotate_adducts(fid, mass, rt, ["Na", "K"], tol=10, units="ppm", rt_tol=0.05)
    assert is_.tolist() == [0.0, 1.0, 0.0]  # feature 11 *is* the Na adduct of 10
    assert has.tolist() == [1.0, 0.0, 0.0]  # feature 10 *has* one
    assert info.tolist() == ["11(Na);", "10(Na);", None]


def test_adduct_comparisons_are_strict() -> None:
    h2o = ADDUCT_DELTAS["H2O"]
    mass = np.array([200.0, 200.0 + h2o])
    rt = np.array([1.0, 1.05])  # exactly rt_tol apart: strict in the original -> no pair
    is_, has, _ = annotate_adducts(np.array([1, 2]), mass, rt, ["H2O"], tol=10, units="ppm", rt_tol=0.05)
    assert is_.sum() == 0 and has.sum() == 0


def test_adduct_pair_straddling_the_original_rounding_keys_is_found() -> None:
    """The original keyed candidates on round(mass, 2) / round(RT, 1) and missed such pairs
    (docs/ms1-workflow.md, Differences from the original)."""
    co2 = ADDUCT_DELTAS["CO2"]
    parent = 150.00499
    mass = np.array([parent, parent + co2 + 0.00002])  # loss partner lands on the other side of x.xx5
    rt = np.array([2.149, 2.151])  # RT keys round to 2.1 and 2.2
    is_, has, info = annotate_adducts(np.array([1, 2]), mass, rt, ["CO2"], tol=10, units="ppm", rt_tol=0.05)
    # delta(CO2) is negative: feature 2 *is* the CO2 loss of feature 1, which *has* it
    assert is_.tolist() == [0.0, 1.0] and has.tolist() == [1.0, 0.0]
    assert info.tolist() == ["2(CO2);", "1(CO2);"]


def test_info_lists_has_before_is_in_mass_order() -> None:
    h2o, na = ADDUCT_DELTAS["H2O"], ADDUCT_DELTAS["Na"]
    fid = np.array([1, 2, 3])
    base = 300.0
    mass = np.array([base, base + h2o, base + na])  # 2 is a water loss of 1; 3 is the Na adduct of 1
    rt = np.array([4.0, 4.0, 4.0])
    _, _, info = annotate_adducts(fid, mass, rt, ["Na", "H2O"], tol=5, units="ppm", rt_tol=0.1)
    assert info[0] == "3(Na);2(H2O);"

"""Duplicate flags and adduct / in-source loss annotation as sorted band joins.

See docs/ms1-workflow.md#duplicate-flagging and docs/ms1-workflow.md#adduct-and-neutral-loss-annotation.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from .bandjoin import band_pairs

# Mass deltas between apparent neutral masses of two features of one analyte (Da), as in the original, including
# its `CO` value (-29.0022, really CHO) so annotations stay comparable (docs/ms1-workflow.md#mass-conventions).
ADDUCT_DELTAS: dict[str, float] = {
    "Na": 21.981942, "K": 37.955882, "NH4": 17.026547,
    "Cl": 35.976678, "Br": 79.926161, "HCO2": 46.005477, "CH3CO2": 60.021127, "CF3CO2": 113.992862,
    "H2O": -18.010565, "2H2O": -36.02113, "3H2O": -54.031695, "4H2O": -72.04226, "5H2O": -90.052825,
    "NH3": -17.0265, "O": -15.99490, "CO": -29.00220, "CO2": -43.989829, "C2H4": -28.03130,
    "CH2O2": 46.00550, "CH3COOH": 60.02110, "CH3OH": 32.02620, "CH3CN": 41.02650, "(CH3)2CHOH": 60.05810,
}  # fmt: skip


def _half_width(mass: np.ndarray, tol: float, units: str) -> np.ndarray:
    return mass * tol / 1e6 if units == "ppm" else np.full(mass.shape, float(tol))


def flag_duplicates(mass: np.ndarray, rt: np.ndarray, *, tol: float, units: str, rt_tol: float) -> np.ndarray:
    """1 for every feature with another feature within the mass and RT tolerances (both inclusive).

    The ppm test divides by the feature's own mass, as the original does, so a pair at the very edge can
    be flagged on one side only. Every member of a cluster is flagged; nothing is removed.
    """
    half = _half_width(mass, tol, units)
    i, j = band_pairs(mass, mass - half, mass + half)
    diff = np.abs(mass[i] - mass[j])
    mass_ok = diff / mass[i] * 1e6 <= tol if units == "ppm" else diff <= tol
    keep = (i != j) & mass_ok & (np.abs(rt[i] - rt[j]) <= rt_tol)
    flags = np.zeros(len(mass), dtype=np.int64)
    flags[i[keep]] = 1
    return flags


def _delta_pairs(mass: np.ndarray, rt: np.ndarray, target: np.ndarray, *, tol: float, units: str,
                 rt_tol: float, sign: float, delta: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    half = _half_width(mass, tol, units)
    i, j = band_pairs(mass, target - half, target + half)
    err = np.abs((mass[i] - mass[j]) + sign * delta)
    mass_ok = err / mass[i] * 1e6 < tol if units == "ppm" else err < tol  # strict, as in the original
    keep = (i != j) & mass_ok & (np.abs(rt[i] - rt[j]) < rt_tol)
    return i[keep], j[keep]


def annotate_adducts(
    feature_id: np.ndarray, mass: np.ndarray, rt: np.ndarray, names: list[str], *,
    tol: float, units: str, rt_tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Return (is, has, info) for each feature.

    i *is* the d-adduct/loss of j when m_i - m_j ≈ d; i *has* one (j) when m_i - m_j ≈ -d. Info lists
    partners as `<Feature ID>(<name>);`, per delta first the "has" partners then the "is" partners, each in
    ascending mass order. Unlike the original there is no rounded-key pre-filter, so pairs straddling a
    0.01 Da / 0.1 min rounding boundary are found too (docs/ms1-workflow.md#differences-from-the-original).
    """
    n = len(mass)
    is_flag, has_flag = np.zeros(n), np.zeros(n)
    info: dict[int, list[str]] = defaultdict(list)
    for name in names:
        d = ADDUCT_DELTAS[name]
        is_i, is_j = _delta_pairs(mass, rt, mass - d, tol=tol, units=units, rt_tol=rt_tol, sign=-1, delta=d)
        if len(is_i) == 0:  # the original skips a delta with no "is" relation at all
            continue
        has_i, has_j = _delta_pairs(mass, rt, mass + d, tol=tol, units=units, rt_tol=rt_tol, sign=1, delta=d)
        is_flag[is_i] = 1.0
        has_flag[has_i] = 1.0
        for kind_i, kind_j in ((has_i, has_j), (is_i, is_j)):
            order = np.lexsort((mass[kind_j], kind_i))
            for a, b in zip(kind_i[order], kind_j[order], strict=True):
                info[int(a)].append(f"{int(feature_id[b])}({name});")
    text = np.full(n, None, dtype=object)
    for idx, parts in info.items():
        text[idx] = "".join(parts)
    return is_flag, has_flag, text

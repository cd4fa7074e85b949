"""Formula grammar and monoisotopic masses."""

from __future__ import annotations

import csv

import pytest

from nta_api.chem import FormulaError, monoisotopic_mass, parse_formula

from .conftest import DATA


@pytest.mark.parametrize(
    ("formula", "mass"),
    [
        ("C8H10N4O2", 194.080376),  # caffeine
        ("C6H12O6", 180.063388),  # glucose
        ("H2O", 18.010565),
        ("C8H6Cl2O3", 219.969399),  # 2,4-D
        # The two tracers of pooled_blood_tracers.csv, from exact isotope masses (see test below).
        ("13C6C2H6Cl2O3", 225.989528),
        ("C7H3D14O3P", 194.179405),
        ("C2H5NO2", 75.032028),  # glycine
    ],
)
def test_monoisotopic_mass(formula: str, mass: float) -> None:
    assert monoisotopic_mass(formula) == pytest.approx(mass, abs=1e-5)


def test_tracer_file_masses_are_within_5_ppm_of_exact_masses() -> None:
    # The tracer sheet's Monoisotopic_Mass values are not exact neutral masses: 13C6-2,4-D is listed
    # 1.097 mDa high (two electron masses) and DIMP-d14 1.05e-5 u low. Both stay within 5 ppm, so a search
    # with the sheet's masses still finds the seed rows (whose masses come from chem.py).
    with (DATA / "pooled_blood_tracers.csv").open(newline="") as fh:
        rows = [{k.strip(): v.strip() for k, v in r.items()} for r in csv.DictReader(fh)]
    assert {r["Formula"] for r in rows} == {"13C6C2H6Cl2O3", "C7H3D14O3P"}
    for r in rows:
        listed = float(r["Monoisotopic_Mass"])
        assert abs(monoisotopic_mass(r["Formula"]) - listed) / listed * 1e6 < 5


def test_parse_formula_isotopes_and_repeats() -> None:
    assert parse_formula("13C6C2H6Cl2O3") == {"13C": 6, "C": 2, "H": 6, "Cl": 2, "O": 3}
    assert parse_formula("C7H3D14O3P") == {"C": 7, "H": 3, "D": 14, "O": 3, "P": 1}
    assert parse_formula("CH3CH3") == {"C": 2, "H": 6}
    assert parse_formula("NaCl") == {"Na": 1, "Cl": 1}
    assert monoisotopic_mass({"13C": 1}) == pytest.approx(13.00335483507)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("C6Xx2", "unknown element symbol 'Xx'"),
        ("c6h12o6", "unexpected character 'c'"),
        ("C6 H12", "unexpected character ' '"),
        ("C0H4", "unexpected character '0'"),
        ("C6H12O6+", "unexpected character '+'"),
        ("99C6", "unsupported isotope '99C'"),
        ("C₆H₁₂O₆", "unexpected character"),
        ("", "empty"),
        ("C" * 101, "longer than 100"),
    ],
)
def test_parse_formula_rejects(text: str, fragment: str) -> None:
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    assert fragment in str(info.value)
    assert len(str(info.value)) < 200  # the input is truncated in messages


def test_mass_of_element_without_known_isotope_mass_is_an_error() -> None:
    assert parse_formula("C2Og") == {"C": 2, "Og": 1}  # valid symbol...
    with pytest.raises(FormulaError, match="no monoisotopic mass"):
        monoisotopic_mass("C2Og")  # ...but no stable isotope to use

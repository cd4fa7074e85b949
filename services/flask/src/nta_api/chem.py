"""Molecular formula parsing and monoisotopic masses.

The grammar is deliberately strict because formulas arrive from HTTP clients: a formula is a sequence of
``[mass number]Symbol[count]`` tokens over ASCII only, e.g. ``C8H10N4O2``, ``13C6C2H6Cl2O3``, ``C7H3D14O3P``.
Charges, spaces, parentheses, hydrates (``.``) and lower-case symbols are rejected.
"""

from __future__ import annotations

import re

MAX_FORMULA_LENGTH = 100

# IUPAC symbols 1-118, plus D (deuterium), which MS-ready formulas use for labelled standards.
ELEMENTS: frozenset[str] = frozenset(
    """H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr
    Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb
    Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr Rf
    Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og D""".split()  # noqa: SIM905  (reads best as a table)
)

# Mass (u) of the most abundant isotope: the monoisotopic mass convention used by DSSTox / the EPA tools.
# Values from AME2016 / NIST; the first block is pinned to the values the original tool used.
MONOISOTOPIC: dict[str, float] = {
    "C": 12.0,
    "H": 1.00782503207,
    "D": 2.01410177812,
    "N": 14.0030740048,
    "O": 15.99491461956,
    "P": 30.97376163,
    "S": 31.97207100,
    "Cl": 34.96885268,
    "Br": 78.9183371,
    "F": 18.99840322,
    "Na": 22.9897692809,
    "K": 38.96370668,
    "I": 126.904473,
    "Si": 27.9769265325,
    "He": 4.00260325413,
    "Li": 7.0160034366,
    "Be": 9.012183065,
    "B": 11.00930536,
    "Ne": 19.9924401762,
    "Mg": 23.985041697,
    "Al": 26.98153853,
    "Ar": 39.9623831237,
    "Ca": 39.962590863,
    "Sc": 44.95590828,
    "Ti": 47.94794198,
    "V": 50.94395704,
    "Cr": 51.94050623,
    "Mn": 54.93804391,
    "Fe": 55.93493633,
    "Co": 58.93319429,
    "Ni": 57.93534241,
    "Cu": 62.92959772,
    "Zn": 63.92914201,
    "Ga": 68.9255735,
    "Ge": 73.921177761,
    "As": 74.92159457,
    "Se": 79.9165218,
    "Kr": 83.9114977282,
    "Rb": 84.9117897379,
    "Sr": 87.9056125,
    "Y": 88.9058403,
    "Zr": 89.9046977,
    "Nb": 92.906373,
    "Mo": 97.90540482,
    "Ru": 101.9043441,
    "Rh": 102.905498,
    "Pd": 105.9034804,
    "Ag": 106.9050916,
    "Cd": 113.90336509,
    "In": 114.903878776,
    "Sn": 119.90220163,
    "Sb": 120.903812,
    "Te": 129.906222748,
    "Xe": 131.9041550856,
    "Cs": 132.905451961,
    "Ba": 137.905247,
    "La": 138.9063563,
    "Ce": 139.9054431,
    "Pr": 140.9076576,
    "Nd": 141.907729,
    "Sm": 151.9197397,
    "Eu": 152.921238,
    "Gd": 157.9241123,
    "Tb": 158.9253547,
    "Dy": 163.9291819,
    "Ho": 164.9303288,
    "Er": 165.9302995,
    "Tm": 168.9342179,
    "Yb": 173.9388664,
    "Lu": 174.9407752,
    "Hf": 179.946557,
    "Ta": 180.9479958,
    "W": 183.95093092,
    "Re": 186.9557501,
    "Os": 191.961477,
    "Ir": 192.9629216,
    "Pt": 194.9647917,
    "Au": 196.96656879,
    "Hg": 201.9706434,
    "Tl": 204.9744278,
    "Pb": 207.9766525,
    "Bi": 208.9803991,
    "Th": 232.0380558,
    "U": 238.0507884,
}

# Explicitly labelled isotopes accepted as ``<mass number><symbol>`` prefixes.
ISOTOPES: dict[str, float] = {
    "1H": MONOISOTOPIC["H"],
    "2H": MONOISOTOPIC["D"],
    "3H": 3.0160492779,
    "12C": 12.0,
    "13C": 13.00335483507,
    "14N": MONOISOTOPIC["N"],
    "15N": 15.0001088989,
    "16O": MONOISOTOPIC["O"],
    "17O": 16.9991317565,
    "18O": 17.9991596129,
    "19F": MONOISOTOPIC["F"],
    "28Si": MONOISOTOPIC["Si"],
    "29Si": 28.9764946649,
    "30Si": 29.973770136,
    "31P": MONOISOTOPIC["P"],
    "32S": MONOISOTOPIC["S"],
    "33S": 32.9714589099,
    "34S": 33.967867004,
    "35Cl": MONOISOTOPIC["Cl"],
    "37Cl": 36.965902602,
    "79Br": MONOISOTOPIC["Br"],
    "81Br": 80.9162897,
    "127I": MONOISOTOPIC["I"],
}

# ASCII-only on purpose: ``\d`` would also accept non-ASCII digits. Counts have no leading zero.
_TOKEN = re.compile(r"([1-9][0-9]{0,2})?([A-Z][a-z]?)([1-9][0-9]{0,5})?")


class FormulaError(ValueError):
    """The text is not a formula of the accepted grammar."""


def _preview(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_formula(text: str) -> dict[str, int]:
    """Element (or isotope, keyed like ``13C`` / ``D``) -> atom count; repeated symbols are summed.

    Raises FormulaError with a message that quotes a truncated copy of the input.
    """
    if not isinstance(text, str):
        raise FormulaError(f"formula must be a string, got {type(text).__name__}")
    if not text:
        raise FormulaError("formula is empty")
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(f"formula {_preview(text)} is longer than {MAX_FORMULA_LENGTH} characters")
    counts: dict[str, int] = {}
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FormulaError(f"formula {_preview(text)} has an unexpected character "
                               f"{text[pos]!r} at position {pos + 1}")  # fmt: skip
        isotope, symbol, count = m.groups()
        if symbol not in ELEMENTS:
            raise FormulaError(f"formula {_preview(text)} has an unknown element symbol {symbol!r}")
        key = symbol
        if isotope:
            key = isotope + symbol
            if key not in ISOTOPES:
                raise FormulaError(f"formula {_preview(text)} has an unsupported isotope {key!r}")
        counts[key] = counts.get(key, 0) + (int(count) if count else 1)
        pos = m.end()
    return counts


def is_formula(text: object) -> bool:
    try:
        parse_formula(text)  # type: ignore[arg-type]
    except FormulaError:
        return False
    return True


def monoisotopic_mass(formula: str | dict[str, int]) -> float:
    """Neutral monoisotopic mass in u (no electron correction), from a formula string or parsed counts."""
    counts = parse_formula(formula) if isinstance(formula, str) else formula
    total = 0.0
    for key, n in counts.items():
        mass = ISOTOPES.get(key) if key[0].isdigit() else MONOISOTOPIC.get(key)
        if mass is None:
            raise FormulaError(f"no monoisotopic mass known for {key!r}")
        total += mass * n
    return total

"""Regenerate reference_seed.csv: a small reference set for development and tests.

    python services/flask/seed/build_seed.py [--data-dir tests/data/ms1] [--out reference_seed.csv]

Masses are always computed with nta_api.chem (never copied), so the seed is reproducible. DTXSID/CASRN are
filled only where known with certainty; everything else is left empty.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent / "src"))  # run without installing the package

from nta_api.chem import monoisotopic_mass, parse_formula  # noqa: E402

COLUMNS = ["DTXSID", "PREFERRED_NAME", "CASRN", "MOLECULAR_FORMULA", "MONOISOTOPIC_MASS"]
MPP_CANDIDATES = 12  # distinct formulas taken from the positive-mode feature table

# (DTXSID, name, CASRN, formula)
KNOWN: list[tuple[str, str, str, str]] = [
    ("DTXSID0020232", "Caffeine", "58-08-2", "C8H10N4O2"),
    ("DTXSID7020182", "Bisphenol A", "80-05-7", "C15H16O2"),
    ("DTXSID8031865", "Perfluorooctanoic acid", "335-67-1", "C8HF15O2"),
    ("DTXSID3031864", "Perfluorooctanesulfonic acid", "1763-23-1", "C8HF17O3S"),
    ("DTXSID9020112", "Atrazine", "1912-24-9", "C8H14ClN5"),
    ("DTXSID0020442", "2,4-Dichlorophenoxyacetic acid", "94-75-7", "C8H6Cl2O3"),
    ("", "D-Glucose", "50-99-7", "C6H12O6"),
    ("", "Citric acid", "77-92-9", "C6H8O7"),
    ("", "L-Tryptophan", "73-22-3", "C11H12N2O2"),
    ("", "Ethanol", "64-17-5", "C2H6O"),
    ("", "Water", "7732-18-5", "H2O"),
    ("", "Acetone", "67-64-1", "C3H6O"),
    ("", "Benzene", "71-43-2", "C6H6"),
    ("", "Toluene", "108-88-3", "C7H8"),
    ("", "Urea", "57-13-6", "CH4N2O"),
    ("", "Glycine", "56-40-6", "C2H5NO2"),
    ("", "L-Alanine", "56-41-7", "C3H7NO2"),
    ("", "L-Phenylalanine", "63-91-2", "C9H11NO2"),
    ("", "L-Tyrosine", "60-18-4", "C9H11NO3"),
    ("", "Cholesterol", "57-88-5", "C27H46O"),
    ("", "Acetaminophen", "103-90-2", "C8H9NO2"),
    ("", "Ibuprofen", "15687-27-1", "C13H18O2"),
    ("", "Aspirin", "50-78-2", "C9H8O4"),
    ("", "Nicotine", "54-11-5", "C10H14N2"),
    ("", "Cotinine", "486-56-6", "C10H12N2O"),
    ("", "Creatinine", "60-27-5", "C4H7N3O"),
    ("", "Uric acid", "69-93-2", "C5H4N4O3"),
    ("", "L-Glutamine", "56-85-9", "C5H10N2O3"),
    ("", "L-Glutamic acid", "56-86-0", "C5H9NO4"),
    ("", "L-Leucine", "61-90-5", "C6H13NO2"),
    ("", "L-Isoleucine", "73-32-5", "C6H13NO2"),
    ("", "L-Valine", "72-18-4", "C5H11NO2"),
    ("", "Betaine", "107-43-7", "C5H11NO2"),
    ("", "L-Lysine", "56-87-1", "C6H14N2O2"),
    ("", "L-Methionine", "63-68-3", "C5H11NO2S"),
    ("", "L-Serine", "56-45-1", "C3H7NO3"),
    ("", "L-Threonine", "72-19-5", "C4H9NO3"),
    ("", "L-Proline", "147-85-3", "C5H9NO2"),
    ("", "L-Histidine", "71-00-1", "C6H9N3O2"),
    ("", "L-Arginine", "74-79-3", "C6H14N4O2"),
    ("", "L-Aspartic acid", "56-84-8", "C4H7NO4"),
    ("", "L-Cysteine", "52-90-4", "C3H7NO2S"),
    ("", "Taurine", "107-35-7", "C2H7NO3S"),
    ("", "L-Carnitine", "541-15-1", "C7H15NO3"),
    ("", "Sucrose", "57-50-1", "C12H22O11"),
    ("", "Lactic acid", "50-21-5", "C3H6O3"),
    ("", "Pyruvic acid", "127-17-3", "C3H4O3"),
    ("", "Succinic acid", "110-15-6", "C4H6O4"),
    ("", "Fumaric acid", "110-17-8", "C4H4O4"),
    ("", "L-Malic acid", "97-67-6", "C4H6O5"),
    ("", "Hippuric acid", "495-69-2", "C9H9NO3"),
    ("", "Salicylic acid", "69-72-7", "C7H6O3"),
    ("", "Benzoic acid", "65-85-0", "C7H6O2"),
    ("", "Phenol", "108-95-2", "C6H6O"),
    ("", "Triclosan", "3380-34-5", "C12H7Cl3O2"),
    ("", "N,N-Diethyl-m-toluamide", "134-62-3", "C12H17NO"),
    ("", "Di(2-ethylhexyl) phthalate", "117-81-7", "C24H38O4"),
    ("", "Dibutyl phthalate", "84-74-2", "C16H22O4"),
    ("", "Serotonin", "50-67-9", "C10H12N2O"),
    ("", "Dopamine", "51-61-6", "C8H11NO2"),
    ("", "Melatonin", "73-31-4", "C13H16N2O2"),
    ("", "Testosterone", "58-22-0", "C19H28O2"),
    ("", "Hydrocortisone", "50-23-7", "C21H30O5"),
    ("", "Estradiol", "50-28-2", "C18H24O2"),
    ("", "Progesterone", "57-83-0", "C21H30O2"),
    ("", "Palmitic acid", "57-10-3", "C16H32O2"),
    ("", "Oleic acid", "112-80-1", "C18H34O2"),
    ("", "Stearic acid", "57-11-4", "C18H36O2"),
    ("", "Linoleic acid", "60-33-3", "C18H32O2"),
    ("", "Arachidonic acid", "506-32-1", "C20H32O2"),
    ("", "Theobromine", "83-67-0", "C7H8N4O2"),
    ("", "Theophylline", "58-55-9", "C7H8N4O2"),
    ("", "Paraxanthine", "611-59-6", "C7H8N4O2"),
    ("", "Adenine", "73-24-5", "C5H5N5"),
    ("", "Guanine", "73-40-5", "C5H5N5O"),
    ("", "Hypoxanthine", "68-94-0", "C5H4N4O"),
    ("", "Xanthine", "69-89-6", "C5H4N4O2"),
    ("", "Uracil", "66-22-8", "C4H4N2O2"),
    ("", "Thymine", "65-71-4", "C5H6N2O2"),
    ("", "Cytosine", "71-30-7", "C4H5N3O"),
    ("", "Adenosine", "58-61-7", "C10H13N5O4"),
    ("", "Inosine", "58-63-9", "C10H12N4O5"),
    ("", "Niacinamide", "98-92-0", "C6H6N2O"),
    ("", "Nicotinic acid", "59-67-6", "C6H5NO2"),
    ("", "Riboflavin", "83-88-5", "C17H20N4O6"),
    ("", "Ascorbic acid", "50-81-7", "C6H8O6"),
    ("", "Pyridoxine", "65-23-6", "C8H11NO3"),
    ("", "Glycerol", "56-81-5", "C3H8O3"),
    ("", "Methanol", "67-56-1", "CH4O"),
    ("", "Formic acid", "64-18-6", "CH2O2"),
    ("", "Acetic acid", "64-19-7", "C2H4O2"),
    ("", "L-Kynurenine", "2922-83-0", "C10H12N2O3"),
    ("", "Indole", "120-72-9", "C8H7N"),
    ("", "Skatole", "83-34-1", "C9H9N"),
    ("", "Trimethylamine N-oxide", "1184-78-7", "C3H9NO"),
    ("", "Metformin", "657-24-9", "C4H11N5"),
    ("", "Carbamazepine", "298-46-4", "C15H12N2O"),
    ("", "Diclofenac", "15307-86-5", "C14H11Cl2NO2"),
    ("", "Naproxen", "22204-53-1", "C14H14O3"),
    ("", "Sulfamethoxazole", "723-46-6", "C10H11N3O3S"),
    ("", "Trimethoprim", "738-70-5", "C14H18N4O3"),
    ("", "Fluoxetine", "54910-89-3", "C17H18F3NO"),
    ("", "Triphenyl phosphate", "115-86-6", "C18H15O4P"),
    ("", "Tris(2-chloroethyl) phosphate", "115-96-8", "C6H12Cl3O4P"),
    ("", "Bisphenol S", "80-09-1", "C12H10O4S"),
    ("", "4-Nonylphenol", "104-40-5", "C15H24O"),
    ("", "Perfluorohexanesulfonic acid", "355-46-4", "C6HF13O3S"),
    ("", "Perfluorononanoic acid", "375-95-1", "C9HF17O2"),
    ("", "Glyphosate", "1071-83-6", "C3H8NO5P"),
    ("", "Chlorpyrifos", "2921-88-2", "C9H11Cl3NO3PS"),
    ("", "Malathion", "121-75-5", "C10H19O6PS2"),
    ("", "Permethrin", "52645-53-1", "C21H20Cl2O3"),
    ("", "p,p'-DDT", "50-29-3", "C14H9Cl5"),
    ("", "Lindane", "58-89-9", "C6H6Cl6"),
    ("", "Naphthalene", "91-20-3", "C10H8"),
    ("", "Anthracene", "120-12-7", "C14H10"),
    ("", "Phenanthrene", "85-01-8", "C14H10"),
    ("", "Pyrene", "129-00-0", "C16H10"),
    ("", "Benzo[a]pyrene", "50-32-8", "C20H12"),
    ("", "Diisopropyl methylphosphonate", "1445-75-6", "C7H17O3P"),
]


def _data_rows(path: Path) -> list[dict[str, str]]:
    """CSV rows, skipping the instrument's '#' comment lines; header names are stripped."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        lines = (line for line in fh if not line.startswith("#"))
        reader = csv.DictReader(lines)
        return [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in reader]


def tracer_rows(data_dir: Path) -> list[tuple[str, str, str, str]]:
    return [
        (r["DTXSID"], r["Chemical_Name"], "", r["Formula"])
        for r in _data_rows(data_dir / "pooled_blood_tracers.csv")
    ]


def mpp_candidate_rows(
    data_dir: Path, taken: set[str], n: int = MPP_CANDIDATES
) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    for r in _data_rows(data_dir / "pooled_blood_pos_MPP.csv"):
        formula = r.get("Formula", "").replace(" ", "")
        if not formula or formula in taken:
            continue
        try:
            parse_formula(formula)
        except ValueError:
            continue
        taken.add(formula)
        rows.append(("", f"Seed candidate for {formula}", "", formula))
        if len(rows) == n:
            break
    return rows


def build(data_dir: Path) -> list[list[str]]:
    entries = tracer_rows(data_dir) + KNOWN
    entries += mpp_candidate_rows(data_dir, {f for *_, f in entries})
    out = []
    for dtxsid, name, casrn, formula in entries:
        out.append([dtxsid, name, casrn, formula, f"{monoisotopic_mass(formula):.6f}"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=REPO / "tests" / "data" / "ms1")
    parser.add_argument("--out", type=Path, default=HERE / "reference_seed.csv")
    args = parser.parse_args()
    rows = build(args.data_dir)
    with args.out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()

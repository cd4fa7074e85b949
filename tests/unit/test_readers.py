"""Readers (docs/ms1-workflow.md#inputs): layouts, normalisation, and errors naming file/row/column."""

import pytest

from nta_pipeline.errors import InputError
from nta_pipeline.readers import PROTON_MASS_ORIGINAL, read_feature_table, read_run_sequence, read_tracers

MPP = b"""# Notes : All Entities,,,,,
# Created On : Thu Aug 02 16:42:19 EDT 2018,,,,,
Compound,MB1,MB2,S_1,S_2,Retention Time,Mass,Ionization mode,CAS Number
C11H14O4,1.98E+05,209037,4.77E+07,4.66E+07,6.9,210.0892,Esi+,
"""


def test_mpp_export_is_normalised_and_sorted() -> None:
    t = read_feature_table(MPP, mode="pos", name="mpp.csv")
    assert list(t.df.columns) == sorted(t.df.columns)
    assert {"Retention_Time", "Ionization_Mode", "CAS_Number", "Mass"} <= set(t.df.columns)
    assert t.df.loc[0, "MB1"] == 198000.0
    assert t.lines.tolist() == [4]  # the data row is line 4 of the file


def test_mz_only_table_gets_neutral_mass_per_mode() -> None:
    data = b"ID,MB1,MB2,S_1,S_2,m/z,rt\n1,1,1,2,2,201.0073,3.0\n"
    pos = read_feature_table(data, mode="pos", name="g.csv").df
    neg = read_feature_table(data, mode="neg", name="g.csv").df
    assert pos.loc[0, "Mass"] == pytest.approx(201.0073 - PROTON_MASS_ORIGINAL)
    assert neg.loc[0, "Mass"] == pytest.approx(201.0073 + PROTON_MASS_ORIGINAL)
    assert pos.loc[0, "Ionization_Mode"] == "Esi+" and neg.loc[0, "Ionization_Mode"] == "Esi-"
    assert pos.loc[0, "Retention_Time"] == 3.0


def test_mode_values_are_normalised_case_insensitively() -> None:
    data = b"MB1,MB2,S_1,S_2,Mass,RT,Ionization_Mode\n1,1,2,2,200,3,ESI+\n"
    assert read_feature_table(data, mode="pos", name="x").df.loc[0, "Ionization_Mode"] == "Esi+"


def test_latin1_export_is_read_with_a_warning() -> None:
    data = "Probe µ,MB1,MB2,S_1,S_2,Mass,RT\nä,1,1,2,2,200,3\n".encode("latin-1")
    t = read_feature_table(data, mode="pos", name="latin.csv")
    assert "Probe_µ" in t.df.columns
    assert t.warnings and "not UTF-8" in t.warnings[0]


def test_hash_inside_a_value_is_kept() -> None:
    data = b"Name,MB1,MB2,S_1,S_2,Mass,RT\ncompound #5,1,1,2,2,200,3\n"
    assert read_feature_table(data, mode="pos", name="x").df.loc[0, "Name"] == "compound #5"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"# only a comment\n", "no header and no data"),
        (b"MB1,MB2,S_1,S_2,Mass,RT\n", "no data rows"),
        (b"MB1,MB2,S_1,S_2,RT\n1,1,1,1,3\n", "Either Mass or m/z column"),
        (b"MB1,MB2,S_1,S_2,Mass\n1,1,1,1,3\n", "Retention_Time column must be"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
    ],
)
def test_unusable_files(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        read_feature_table(data, mode="pos", name="bad.csv")
    assert str(err.value).startswith("bad.csv")


def test_duplicate_column_names_name_the_column_and_header_line() -> None:
    data = b"# comment\nMB1,MB2,S_1,S_1,Mass,RT\n1,1,1,1,200,3\n"
    with pytest.raises(InputError) as err:
        read_feature_table(data, mode="pos", name="dup.csv")
    assert str(err.value) == "dup.csv, row 2, column 'S_1': duplicate column name"


def test_malformed_row_names_its_line() -> None:
    data = b"MB1,MB2,S_1,S_2,Mass,RT\n1,1,1,1,200,3\n1,1,1,1,200,3,9,9\n"
    with pytest.raises(InputError, match=r"bad.csv, row 3: malformed CSV: expected 6 fields, found 8"):
        read_feature_table(data, mode="pos", name="bad.csv")


def test_non_numeric_mass_names_row_and_column() -> None:
    data = b"MB1,MB2,S_1,S_2,Mass,RT\n1,1,1,1,200,3\n1,1,1,1,abc,3\n"
    with pytest.raises(InputError, match=r"row 3, column 'Mass': expected a neutral mass, found 'abc'"):
        read_feature_table(data, mode="pos", name="bad.csv")


def test_run_sequence_keeps_the_value_1_and_tolerates_a_bom() -> None:
    seq = read_run_sequence("\ufeffSample Sequence,Group\nMB1,Blank\n1,Sample\n".encode(), name="rs.csv")
    assert seq.iloc[:, 0].tolist() == ["MB1", "1"]  # the original read the name "1" as NaN
    assert seq.columns[0] == "Sample Sequence"


def test_tracer_file_requires_its_columns() -> None:
    data = b"Chemical_Name,DTXSID,Ionization_Mode,Retention_Time\nx,DTX,Esi+,3\n"
    with pytest.raises(InputError, match=r"tr.csv, column 'Monoisotopic_Mass': required tracer column is missing"):
        read_tracers(data, name="tr.csv")


def test_tracer_modes_normalised_and_bad_mode_named() -> None:
    ok = read_tracers(b"Chemical_Name,Ionization_Mode,Monoisotopic_Mass,Retention_Time\nx,ESI-,200,3\n", name="t")
    assert ok.loc[0, "Ionization_Mode"] == "Esi-" and "DTXSID" in ok.columns
    with pytest.raises(InputError, match=r"row 2, column 'Ionization_Mode'"):
        read_tracers(b"Chemical_Name,Ionization_Mode,Monoisotopic_Mass,Retention_Time\nx,pos,200,3\n", name="t")

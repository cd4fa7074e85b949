"""Replicate grouping, blanks and pass-through columns, with the examples of docs/ms1-workflow.md#replicate-groups."""

import pytest

from nta_pipeline.errors import InputError
from nta_pipeline.grouping import design_from_columns, is_blank_name, name_distance

MZMINE = ["MZmine_ID", "MB1", "MB2", "MB3", "D1S1_1", "D1S1_2", "D1S1_3", "D1S2_1", "D1S2_2", "D1S2_3",
          "10ppb_1", "10ppb_2", "m/z", "Retention_Time", "Mass", "Ionization_Mode"]  # fmt: skip


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("D1S1_1", "D1S1_2", 1),  # last position
        ("D1S1_3", "D1S2_1", 2),  # two places differ
        ("1_X", "2_X", 1),  # first position
        ("S1_a", "S2_a", 2),  # a single difference in the middle counts as 2
        ("Sample_1", "Sample_10", 2),  # length differs by one with the same prefix
        ("MB5", "MZmine_ID", 8),
        ("A (pos)1", "A (neg)2", 1),  # parenthesised text is ignored
    ],
)
def test_name_distance(a: str, b: str, expected: int) -> None:
    assert name_distance(a, b) == expected


def test_mzmine_layout_groups_and_passthrough() -> None:
    design = design_from_columns(MZMINE)
    assert [(g.root, g.columns, g.is_blank) for g in design.groups] == [
        ("10ppb_", ("10ppb_1", "10ppb_2"), False),
        ("D1S1_", ("D1S1_1", "D1S1_2", "D1S1_3"), False),
        ("D1S2_", ("D1S2_1", "D1S2_2", "D1S2_3"), False),
        ("MB", ("MB1", "MB2", "MB3"), True),
    ]
    assert design.passthrough == ("MZmine_ID", "m/z")
    assert design.blank.root == "MB"


def test_ten_or_more_replicates_form_one_group_in_numeric_order() -> None:
    cols = [f"Sample_{i}" for i in range(1, 13)] + ["MB_1", "MB_2", "Mass", "Retention_Time"]
    design = design_from_columns(cols)
    sample = design.sample_groups[0]
    assert sample.root == "Sample_"
    assert sample.columns == tuple(f"Sample_{i}" for i in range(1, 13))


def test_first_character_replicates_group_as_in_the_original() -> None:
    design = design_from_columns(["1_X", "2_X", "MB1", "MB2", "Mass", "Retention_Time"])
    assert [g.columns for g in design.groups] == [("1_X", "2_X"), ("MB1", "MB2")]
    assert design.groups[0].root == "1_"


def test_metadata_containing_mb_is_not_a_blank() -> None:
    """The original took CAS_Number ("Nu-mb-er") as a blank and crashed on the shipped MPP export."""
    cols = ["CAS_Number", "MB1", "MB2", "45_T1", "45_T2", "Mass", "Retention_Time", "Lamb_1", "Lamb_2"]
    design = design_from_columns(cols)
    assert [g.root for g in design.blank_groups] == ["MB"]
    assert "CAS_Number" in design.passthrough
    assert not next(g for g in design.groups if g.root == "Lamb_").is_blank


@pytest.mark.parametrize("name", ["MB", "mb_", "MethodBlank_", "Blank", "proc_blank_", "Blanks_", "mB"])
def test_blank_tokens(name: str) -> None:
    assert is_blank_name(name)


@pytest.mark.parametrize("name", ["CAS_Number", "Ambient_", "Lamb", "Number", "D1S1_", "Pooled_"])
def test_not_blank(name: str) -> None:
    assert not is_blank_name(name)


def test_flags_column_stops_the_walk() -> None:
    cols = ["A_1", "A_2", "N_Flags", "MB1", "MB2", "Z_1", "Z_2", "Mass", "Retention_Time"]
    design = design_from_columns(cols)
    assert "Z_" not in design.roots  # sorted after N_Flags
    assert design.roots == ["A_", "MB"]  # sorted before N_Flags


def test_no_replicates_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="minimum of two replicates"):
        design_from_columns(["S1", "Mass", "Retention_Time", "MB"])


def test_no_blank_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="Blank samples not found"):
        design_from_columns(["A_1", "A_2", "Mass", "Retention_Time"])


def test_only_blanks_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="no sample groups"):
        design_from_columns(["MB1", "MB2", "Mass", "Retention_Time"])

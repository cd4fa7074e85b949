"""nta_pipeline.limits: the one place of every input bound, and the rules that read it (params, readers, runner)."""

from __future__ import annotations

import math
import time

import pytest

from nta_pipeline.errors import InputError, NtaError, ParameterError
from nta_pipeline.limits import (
    ENV,
    PARAMETER_CHARS,
    RANGES,
    Deadline,
    DeadlineExceeded,
    Limits,
    Range,
    current,
    describe,
    excerpt,
)
from nta_pipeline.params import HELP, Parameters
from nta_pipeline.readers import read_csv_table, read_feature_table, read_tracers
from tests.fixtures.mongo import mongo_url  # noqa: F401  (fixture)


def test_defaults_are_the_documented_numbers() -> None:
    lim = Limits.from_env({})
    assert (lim.max_columns, lim.max_rows, lim.max_cells, lim.max_tracers) == (2000, 200_000, 10_000_000, 1000)
    assert (lim.max_column_name_chars, lim.max_cell_chars, lim.max_header_chars) == (256, 4096, 1_000_000)
    assert (lim.validation_seconds, lim.job_timeout_seconds) == (10.0, 3600.0)
    assert lim.rest_max_body_bytes == 16 * 1024 * 1024 and lim.rest_max_json_depth == 32


def test_every_limit_has_an_environment_variable_that_overrides_it() -> None:
    env = {variable: "7" for variable in ENV.values()}
    lim = Limits.from_env(env)
    assert all(getattr(lim, field) == 7 for field in ENV), lim


@pytest.mark.parametrize("raw", ["0", "-1", "abc", "nan", "inf", "1.5"])
def test_a_bad_environment_value_names_its_variable(raw: str) -> None:
    with pytest.raises(NtaError, match="NTA_MAX_COLUMNS"):
        Limits.from_env({"NTA_MAX_COLUMNS": raw})


def test_float_limits_take_fractions() -> None:
    assert Limits.from_env({"NTA_JOB_TIMEOUT_SECONDS": "0.5"}).job_timeout_seconds == 0.5


def test_current_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    current.cache_clear()
    monkeypatch.setenv("NTA_MAX_ROWS", "123")
    try:
        assert current().max_rows == 123
        monkeypatch.setenv("NTA_MAX_ROWS", "456")
        assert current().max_rows == 123  # cached
    finally:
        current.cache_clear()


def test_describe_lists_every_variable_with_its_value() -> None:
    rows = describe()
    assert [r[0] for r in rows] == list(ENV.values())
    assert ("NTA_MAX_COLUMNS", "2000", "columns per input table") in rows


@pytest.mark.parametrize(("value", "inside"), [(0.0, True), (1000.0, True), (1000.1, False), (-0.1, False),
                                               (math.inf, False), (-math.inf, False), (math.nan, False)])  # fmt: skip
def test_range_is_closed_and_finite(value: float, inside: bool) -> None:
    assert Range(0, 1000).contains(value) is inside


def test_open_range_excludes_its_lower_bound() -> None:
    assert not Range(0, 100, lo_open=True).contains(0.0) and Range(0, 100, lo_open=True).contains(1e-9)


def test_excerpt_cuts_long_values_and_says_how_long() -> None:
    text = excerpt("x" * 10_000_000)
    assert len(text) < 80 and "10,000,000 characters" in text
    assert excerpt("short") == "'short'"


def test_deadline_raises_after_its_budget_naming_what() -> None:
    deadline = Deadline(0.01, "checking the upload")
    deadline.check("early")  # within budget: nothing
    time.sleep(0.02)
    with pytest.raises(DeadlineExceeded, match=r"checking the upload took longer than 0.01 s \(at pos.csv\)"):
        deadline.check("pos.csv")


# -- parameters --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(RANGES))
@pytest.mark.parametrize("raw", ["inf", "-inf", "nan", "1e309", "1e12"])
def test_every_numeric_parameter_must_be_finite_and_bounded(key: str, raw: str) -> None:
    with pytest.raises(ParameterError, match=f"^{key}: "):
        Parameters.from_strings({key: raw})


def test_the_upper_bounds_are_accepted() -> None:
    values = {k: str(r.hi) for k, r in RANGES.items() if k != "mrl_std_multiplier"}
    params = Parameters.from_strings(values)
    assert params.rt_accuracy == 60.0 and params.mass_accuracy == 1000.0


def test_da_tolerances_have_their_own_range() -> None:
    assert Parameters.from_strings({"mass_accuracy_units": "Da", "mass_accuracy": "10"}).mass_accuracy == 10
    with pytest.raises(ParameterError, match=r"mass_accuracy: 11 must be >= 0 and <= 10 Da"):
        Parameters.from_strings({"mass_accuracy_units": "Da", "mass_accuracy": "11"})


def test_a_huge_value_is_refused_by_length_fast_and_not_echoed() -> None:
    start = time.perf_counter()
    with pytest.raises(ParameterError) as info:
        Parameters.from_strings({"mass_accuracy": "1" * 10_000_000})
    assert time.perf_counter() - start < 1.0
    assert str(info.value).startswith("mass_accuracy:") and len(str(info.value)) < 200


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"project_name": "p" * 101}, "project_name: 101 characters; at most 100"),
        ({"project_name": "a\tb"}, "project_name: control characters"),
        ({"na_val": "0" * 33}, "na_val: 33 characters; at most 32"),
        ({"pos_adducts": ["Na"] * 33}, "pos_adducts: 33 items; at most 32"),
        ({"pos_adducts": ",".join(["Na"] * 40)}, "pos_adducts: 40 items; at most 32"),
        ({"neutral_losses": "[" * 300 + "]" * 300}, "neutral_losses: cannot read list"),
        ({"neutral_losses": "['H2O', __import__('os')]"}, "neutral_losses: cannot read list"),
        ({"neutral_losses": "['x' * 1000]"}, "neutral_losses: cannot read list"),
        ({"search_mode": "m" * 900}, r"search_mode: 900 characters; at most 64"),
        ({"k" * 100_000: "1"}, r"unknown parameter\(s\): 'k{30}'\.\.\. \(100,000 characters\)"),
    ],
)
def test_text_and_list_lengths_are_bounded(values: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message) as info:
        Parameters.from_strings(values)
    assert len(str(info.value)) < 1000  # the list of known keys is long, the user's value is not quoted whole


def test_unknown_list_values_are_quoted_briefly() -> None:
    with pytest.raises(ParameterError) as info:
        Parameters.from_strings({"pos_adducts": ["X" * 900, "Y", "Z", "W"]})
    assert "unknown value(s)" in str(info.value) and len(str(info.value)) < 200


def test_help_documents_the_ranges() -> None:
    assert "<= 60 min" in HELP["rt_accuracy"] and "<= 10 Da" in HELP["mass_accuracy"]
    assert "At most 100 characters" in HELP["project_name"]


def test_parameter_chars_bounds_every_raw_value() -> None:
    with pytest.raises(ParameterError, match="na_val: value is 1,001 characters long; at most 1000"):
        Parameters.from_strings({"na_val": "x" * (PARAMETER_CHARS + 1)})


# -- readers -----------------------------------------------------------------------------------------------

SMALL = Limits(max_columns=5, max_rows=3, max_cells=12, max_tracers=2, max_column_name_chars=8, max_cell_chars=10,
               max_header_chars=60)  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,c,d,e,f\n1,2,3,4,5,6\n", "t.csv, row 1: 6 columns; at most 5 (NTA_MAX_COLUMNS)"),
        ("a,b\n1,2\n1,2\n1,2\n1,2\n", "t.csv: 4 data rows; at most 3 (NTA_MAX_ROWS)"),
        ("a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n", "15 cells; at most 12 (NTA_MAX_CELLS)"),
        ("abcdefghi,b\n1,2\n", "row 1: a column name is at least 9 characters long; at most 8"),
        ('"abcdefghi",b\n1,2\n', "row 1: a column name is at least 9 characters long; at most 8"),
        ('"abcd,efghi",b\n1,2\n', "row 1: a column name is 10 characters long; at most 8"),
        ("a,b\n1,12345678901\n", "t.csv, row 2: a cell is at least 11 characters long; at most 10"),
        ('a,b\n1,"12345,678901"\n', "t.csv, row 2: a cell is 12 characters long; at most 10"),
        ("a," * 40 + "b\n1,2\n", "row 1: the header line is 81 characters long; at most 60"),
    ],
)
def test_table_size_limits(text: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        read_csv_table(text.encode(), "t.csv", limits=SMALL)
    assert message in str(info.value)


def test_a_table_at_the_limits_is_read() -> None:
    table = read_csv_table(b"a,b,c\n1,2,1234567890\n3,4,5\n", "t.csv", limits=SMALL)
    assert table.df.shape == (2, 3)


def test_a_cell_over_the_csv_modules_own_limit_is_an_input_error() -> None:
    data = b"Mass,Retention_Time,Name\n100,1," + b"x" * 200_000 + b"\n"
    with pytest.raises(InputError, match="row 2: a cell is at least 200,000 characters long; at most 4,096"):
        read_feature_table(data, mode="pos", name="pos.csv")


def test_a_200_000_character_column_name_is_an_input_error() -> None:
    data = b"Mass,Retention_Time," + b"A" * 200_000 + b"\n1,2,3\n"
    with pytest.raises(InputError, match="row 1: a column name is at least 200,000 characters long"):
        read_feature_table(data, mode="pos", name="pos.csv")


def test_200_000_columns_are_refused_before_pandas_quickly() -> None:
    names = ",".join(f"{i}" for i in range(200_000))
    start = time.perf_counter()
    with pytest.raises(InputError, match="NTA_MAX_"):
        read_feature_table(f"Mass,Retention_Time,{names}\n1,2\n".encode(), mode="pos", name="pos.csv")
    assert time.perf_counter() - start < 2.0


def test_tracers_have_their_own_row_limit() -> None:
    body = "".join(f"Esi+,T{i},{100 + i},1\n" for i in range(1001))
    data = f"Ionization_Mode,Chemical_Name,Monoisotopic_Mass,Retention_Time\n{body}".encode()
    with pytest.raises(InputError, match="1,001 data rows; at most 1,000 \\(NTA_MAX_TRACERS\\)"):
        read_tracers(data, name="tr.csv")


def test_a_long_bad_value_is_quoted_as_an_excerpt() -> None:
    data = b"Mass,Retention_Time\n100," + b"z" * 4000 + b"\n"
    with pytest.raises(InputError) as info:
        read_feature_table(data, mode="pos", name="pos.csv")
    assert "4,000 characters" in str(info.value) and len(str(info.value)) < 200


# -- the per-job wall clock (runner) -------------------------------------------------------------------------


def test_a_job_over_its_wall_clock_fails_naming_its_step(mongo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    from pymongo import MongoClient

    from nta_pipeline import workflow
    from nta_pipeline.jobstore import JobStore
    from nta_pipeline.runner import RunnerSettings, run_job

    def slow_workflow(inputs, params, *, progress, searcher=None, renderer=None):  # noqa: ANN001, ANN202
        progress("Grouping replicates", 0.1)
        time.sleep(2.0)  # longer than the limit below: the watchdog fails the job meanwhile
        progress("Annotating adducts", 0.5)  # the next write finds the job finished and stops the run
        raise AssertionError("the workflow went on after the job timed out")

    monkeypatch.setattr(workflow, "run_workflow", slow_workflow)
    # No render process: the first one starts the fork server (about 1 s), longer than this job's 0.5 s limit.
    monkeypatch.setenv("NTA_RENDER_WORKERS", "0")
    client: MongoClient = MongoClient(mongo_url)
    client.drop_database("limits_test")
    try:
        store = JobStore(client["limits_test"], lease_seconds=30)
        job_id = store.create_job("p", Parameters(search_dsstox="no").as_dict(), {"pos": ("p.csv", b"Mass\n1\n")})
        settings = RunnerSettings(mongo_url=mongo_url, db_name="limits_test", job_timeout_seconds=0.5)
        start = time.monotonic()
        assert run_job(job_id, settings) == "failed"
        assert time.monotonic() - start < 10
        doc = store.get(job_id) or {}
        assert doc["status"] == "failed" and doc["error"]["step"] == "Grouping replicates"
        assert "NTA_JOB_TIMEOUT_SECONDS" in doc["error"]["message"] and "0.5 s" in doc["error"]["message"]
    finally:
        client.drop_database("limits_test")
        client.close()


def test_runner_settings_read_the_job_timeout_from_the_environment() -> None:
    from nta_pipeline.runner import RunnerSettings

    env = {"NTA_MONGO_URL": "mongodb://x", "NTA_JOB_TIMEOUT_SECONDS": "90"}
    assert RunnerSettings.from_env(env).job_timeout_seconds == 90
    assert RunnerSettings.from_env({"NTA_MONGO_URL": "mongodb://x"}).job_timeout_seconds == 3600

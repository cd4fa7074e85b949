"""Analysis parameters of the MS1 workflow (docs/ms1-workflow.md#parameters): names, labels, defaults, parsing.

Values arrive as strings from the web form and the CLI (`--set KEY=VALUE`); `Parameters.from_strings`
converts and validates them once, so the workflow only ever sees typed values.
"""

from __future__ import annotations

import ast
import dataclasses
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import ParameterError
from .limits import (
    DA_RANGE,
    FILE_NAME_CHARS,
    LIST_ITEMS,
    OTHER_TEXT_CHARS,
    PARAMETER_CHARS,
    RANGES,
    TEXT_CHARS,
    excerpt,
)

VERSION = "0.3.6"  # the original WebApp version whose behaviour we reproduce (Analysis Parameters sheet)

POS_ADDUCTS = ("Na", "K", "NH4")
NEG_ADDUCTS = ("Cl", "Br", "HCO2", "CH3CO2", "CF3CO2")
NEUTRAL_LOSSES = (
    "H2O", "2H2O", "3H2O", "4H2O", "5H2O", "NH3", "O", "CO", "CO2",
    "C2H4", "CH2O2", "CH3COOH", "CH3OH", "CH3CN", "(CH3)2CHOH",
)  # fmt: skip

# key -> label, exactly as in the original Analysis Parameters sheet (order matters: it is the sheet order).
LABELS: dict[str, str] = {
    "project_name": "Project name",
    "version": "WebApp Version",
    "datetime": "Date & time",
    "test_files": "Run test files only (debugging)",
    "pos_input": "Positive mode file",
    "neg_input": "Negative mode file",
    "na_val": "Input matrix non-detect value (optional)",
    "pos_adducts": "Positive mode adducts",
    "neg_adducts": "Negative mode adducts",
    "neutral_losses": "Neutral losses (both modes)",
    "mass_accuracy_units": "Adduct / duplicate mass accuracy units",
    "mass_accuracy": "Adduct / duplicate mass accuracy",
    "rt_accuracy": "Adduct / duplicate retention time accuracy (mins)",
    "run_sequence_pos_file": "Run sequence positive mode file",
    "run_sequence_neg_file": "Run sequence negative mode file",
    "tracer_input": "Tracer file",
    "mass_accuracy_units_tr": "Tracer mass accuracy units",
    "mass_accuracy_tr": "Tracer mass accuracy",
    "rt_accuracy_tr": "Tracer retention time accuracy (mins)",
    "tracer_plot_yaxis_format": "Tracer plot y-axis scaling",
    "tracer_plot_trendline": "Tracer plot trendlines shown",
    "min_replicate_hits": "Min replicate hits (%)",
    "min_replicate_hits_blanks": "Min replicate hits in blanks (%)",
    "max_replicate_cv": "Max replicate CV",
    "mrl_std_multiplier": "MRL standard deviation multiplier",
    "parent_ion_mass_accuracy": "Parent ion mass accuracy (ppm)",
    "minimum_rt": "Discard features below this retention time (mins)",
    "search_dsstox": "Search DSSTox for possible structures",
    "search_hcd": "Search Cheminformatics Hazard Module for toxicity data",
    "search_mode": "Search dashboard by",
    "do_qnta": "Perform qNTA?",
}

# Help text shown by the web form and `nta-ms1 run --help-params`.
HELP: dict[str, str] = {
    "project_name": "Used in file names and the Analysis Parameters sheet.",
    "na_val": "Cells equal to this value are non-detects (e.g. 0). Empty cells always are.",
    "pos_adducts": "Positive-mode adducts to annotate: subset of Na, K, NH4.",
    "neg_adducts": "Negative-mode adducts to annotate: subset of Cl, Br, HCO2, CH3CO2, CF3CO2.",
    "neutral_losses": "In-source losses to annotate (both modes).",
    "mass_accuracy_units": "ppm or Da, for duplicate and adduct matching.",
    "mass_accuracy": "Mass tolerance for duplicates and adducts.",
    "rt_accuracy": "Retention-time tolerance (minutes) for duplicates and adducts.",
    "mass_accuracy_units_tr": "ppm or Da, for tracer matching.",
    "mass_accuracy_tr": "Mass tolerance for tracer matching.",
    "rt_accuracy_tr": "Retention-time tolerance (minutes) for tracer matching.",
    "tracer_plot_yaxis_format": "log or linear y axis in tracer plots.",
    "tracer_plot_trendline": "yes/no: quadratic trendline per sample group in tracer plots.",
    "min_replicate_hits": "A sample group needs at least this % of replicates detected.",
    "min_replicate_hits_blanks": "The blank needs at least this % detected to count for the MRL.",
    "max_replicate_cv": "Occurrences with CV above this (a fraction, e.g. 0.8) are flagged CV.",
    "mrl_std_multiplier": "MRL = mean(blank) + k * std(blank); k is 3, 5 or 10.",
    "parent_ion_mass_accuracy": "ppm window of the chemical search (typically 1-10).",
    "minimum_rt": "Features at or below this retention time (minutes) are discarded.",
    "search_dsstox": "yes/no: search the chemical reference collection for candidates.",
    "search_hcd": "yes/no: hazard search (not available in this stack; recorded only).",
    "search_mode": "mass or formula.",
    "do_qnta": "yes/no: recorded only (qNTA is not implemented, as in the original).",
}

# The documented bounds travel with the help text (web form, `nta-ms1 params`).
for _key, _range in RANGES.items():
    if _key == "mrl_std_multiplier":
        continue  # its help lists the three allowed values
    _da = f"; with Da {DA_RANGE.describe()}" if _key in ("mass_accuracy", "mass_accuracy_tr") else ""
    HELP[_key] = f"{HELP[_key]} Allowed: {_range.describe()}{_da}."
for _key, _chars in TEXT_CHARS.items():
    HELP[_key] = f"{HELP[_key]} At most {_chars} characters."

YES_NO = ("yes", "no")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y/%m/%d %H:%M:%S UTC")


@dataclass(frozen=True)
class Parameters:
    """Typed MS1 parameters with the original defaults (docs/ms1-workflow.md#parameters)."""

    project_name: str = "Example nta"
    version: str = VERSION
    datetime: str = field(default_factory=_now)
    test_files: str = "no"
    pos_input: str = ""
    neg_input: str = ""
    na_val: str = ""
    pos_adducts: tuple[str, ...] = ("Na", "K", "NH4")
    neg_adducts: tuple[str, ...] = ("Cl", "HCO2", "CH3CO2")
    neutral_losses: tuple[str, ...] = ("H2O", "CO2")
    mass_accuracy_units: str = "ppm"
    mass_accuracy: float = 10.0
    rt_accuracy: float = 0.05
    run_sequence_pos_file: str = ""
    run_sequence_neg_file: str = ""
    tracer_input: str = ""
    mass_accuracy_units_tr: str = "ppm"
    mass_accuracy_tr: float = 5.0
    rt_accuracy_tr: float = 0.1
    tracer_plot_yaxis_format: str = "log"
    tracer_plot_trendline: str = "yes"
    min_replicate_hits: float = 66.0
    min_replicate_hits_blanks: float = 66.0
    max_replicate_cv: float = 0.8
    mrl_std_multiplier: float = 3.0
    parent_ion_mass_accuracy: float = 5.0
    minimum_rt: float = 0.0
    search_dsstox: str = "yes"
    search_hcd: str = "no"
    search_mode: str = "mass"
    do_qnta: str = "no"

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_strings(cls, values: dict[str, Any]) -> Parameters:
        """Build from form/CLI strings; unknown keys and bad values raise ParameterError."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            shown = ", ".join(_brief(k) for k in unknown[:3]) + (", ..." if len(unknown) > 3 else "")
            raise ParameterError(f"unknown parameter(s): {shown}; known: {', '.join(known)}")
        typed: dict[str, Any] = {}
        for key, raw in values.items():
            typed[key] = _convert(key, known[key].type, raw)
        return cls(**typed)

    def replace(self, **changes: Any) -> Parameters:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(self).items()}

    def sheet_rows(self) -> list[tuple[str, str]]:
        """(label, value) rows of the Analysis Parameters sheet: every key but na_val, lists as Python text."""
        rows = []
        for key, label in LABELS.items():
            if key == "na_val":
                continue
            value = getattr(self, key)
            rows.append((label, str(list(value)) if isinstance(value, tuple) else _fmt(value)))
        return rows


def _brief(text: str) -> str:
    """A name as typed when short, else a quoted excerpt (messages list user-supplied names)."""
    return text if len(text) <= 30 and text.isprintable() else excerpt(text, 30)


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) >= 1 else str(value)
    return str(value)


def _convert(key: str, annotation: Any, raw: Any) -> Any:
    # The length check comes first: parsing (or quoting) a 10 MB value is itself the problem.
    if isinstance(raw, list | tuple):
        if len(raw) > LIST_ITEMS:
            raise ParameterError(f"{key}: {len(raw)} items; at most {LIST_ITEMS}")
        for item in raw:
            if len(str(item)) > PARAMETER_CHARS:
                raise ParameterError(f"{key}: an item is longer than {PARAMETER_CHARS} characters")
    elif len(str(raw)) > PARAMETER_CHARS:
        raise ParameterError(f"{key}: value is {len(str(raw)):,} characters long; at most {PARAMETER_CHARS}")
    if "tuple" in str(annotation):
        if isinstance(raw, list | tuple):
            items = [str(x).strip() for x in raw]
        else:
            text = str(raw).strip()
            if text.startswith("["):  # Python list text, as the original stores it
                try:
                    parsed = ast.literal_eval(text)
                    if not isinstance(parsed, list | tuple):
                        raise ValueError("not a list")
                    items = [str(x) for x in parsed]
                except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as exc:
                    raise ParameterError(f"{key}: cannot read list {excerpt(text)}") from exc
            else:
                items = [x.strip() for x in text.split(",")]
        items = [x for x in items if x]
        if len(items) > LIST_ITEMS:
            raise ParameterError(f"{key}: {len(items)} items; at most {LIST_ITEMS}")
        return tuple(items)
    if "float" in str(annotation):
        try:
            # float() also takes "1_000" and "infinity"; _validate rejects what is not finite.
            return float(str(raw).strip()) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ParameterError(f"{key}: expected a number, got {excerpt(raw)}") from exc
    return str(raw).strip()


def text_limit(key: str) -> int:
    """Most characters of a text parameter (limits.TEXT_CHARS; file names; anything else)."""
    if key in TEXT_CHARS:
        return TEXT_CHARS[key]
    if key.endswith(("_input", "_file")):
        return FILE_NAME_CHARS
    return OTHER_TEXT_CHARS


def range_of(key: str, units: str = "ppm") -> Any:
    """The limits.Range of a numeric parameter (mass tolerances in Da have their own)."""
    return DA_RANGE if units == "Da" and key in ("mass_accuracy", "mass_accuracy_tr") else RANGES[key]


def _validate(p: Parameters) -> None:
    def one_of(key: str, allowed: tuple[str, ...]) -> None:
        if getattr(p, key) not in allowed:
            raise ParameterError(f"{key}: {excerpt(getattr(p, key))} is not one of {', '.join(allowed)}")

    def subset(key: str, allowed: tuple[str, ...]) -> None:
        value = getattr(p, key)
        if len(value) > LIST_ITEMS:
            raise ParameterError(f"{key}: {len(value)} items; at most {LIST_ITEMS}")
        bad = [x for x in value if x not in allowed]
        if bad:
            shown = ", ".join(_brief(x) for x in bad[:3]) + (", ..." if len(bad) > 3 else "")
            raise ParameterError(f"{key}: unknown value(s) {shown}; allowed: {', '.join(allowed)}")

    for f in dataclasses.fields(p):
        value = getattr(p, f.name)
        if isinstance(value, str) and len(value) > text_limit(f.name):
            raise ParameterError(f"{f.name}: {len(value):,} characters; at most {text_limit(f.name)}")
        if isinstance(value, bool) or not isinstance(value, int | float | str | tuple):
            raise ParameterError(f"{f.name}: unexpected value of type {type(value).__name__}")
    subset("pos_adducts", POS_ADDUCTS)
    subset("neg_adducts", NEG_ADDUCTS)
    subset("neutral_losses", NEUTRAL_LOSSES)
    for key in ("mass_accuracy_units", "mass_accuracy_units_tr"):
        one_of(key, ("ppm", "Da"))
    for key in ("test_files", "tracer_plot_trendline", "search_dsstox", "search_hcd", "do_qnta"):
        one_of(key, YES_NO)
    one_of("tracer_plot_yaxis_format", ("log", "linear"))
    one_of("search_mode", ("mass", "formula"))
    for key in RANGES:
        units = p.mass_accuracy_units_tr if key.endswith("_tr") else p.mass_accuracy_units
        bounds, value = range_of(key, units), getattr(p, key)
        if not isinstance(value, int | float) or not math.isfinite(value):
            shown = f"{value:g}" if isinstance(value, int | float) else excerpt(value)
            raise ParameterError(f"{key}: {shown} is not a finite number; it must be {bounds.describe()}")
        if not bounds.contains(value):
            raise ParameterError(f"{key}: {value:g} must be {bounds.describe()}")
    if p.mrl_std_multiplier not in (3.0, 5.0, 10.0):
        raise ParameterError(f"mrl_std_multiplier: {p.mrl_std_multiplier:g} must be 3, 5 or 10")
    if not p.project_name.strip():
        raise ParameterError("project_name must not be empty")
    if any(ord(c) < 32 or ord(c) == 127 for c in p.project_name):
        raise ParameterError("project_name: control characters (tab, newline, ...) are not allowed")

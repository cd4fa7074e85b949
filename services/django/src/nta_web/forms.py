"""The upload form, built from the `Parameters` dataclass so the parameter list lives only in nta_pipeline.params.

Django fields here render the form and keep what the user typed; the values themselves are checked by
`Parameters.from_strings`, the same code the CLI and the worker use, so the rules have one home.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from nta_pipeline.errors import ParameterError
from nta_pipeline.limits import LIST_ITEMS, PARAMETER_CHARS
from nta_pipeline.params import (
    HELP,
    LABELS,
    NEG_ADDUCTS,
    NEUTRAL_LOSSES,
    POS_ADDUCTS,
    YES_NO,
    Parameters,
    text_limit,
)

# Bookkeeping fields: filled in by the system (version, time) or by the uploaded files, never typed by the user.
BOOKKEEPING = frozenset({"version", "datetime", "pos_input", "neg_input", "run_sequence_pos_file",
                         "run_sequence_neg_file", "tracer_input", "test_files"})  # fmt: skip

# Allowed values of the parameters that take one value of a list (or several, for the tuples).
_UNITS = ("ppm", "Da")
CHOICES: dict[str, tuple[Any, ...]] = {
    "pos_adducts": POS_ADDUCTS,
    "neg_adducts": NEG_ADDUCTS,
    "neutral_losses": NEUTRAL_LOSSES,
    "mass_accuracy_units": _UNITS,
    "mass_accuracy_units_tr": _UNITS,
    "tracer_plot_yaxis_format": ("log", "linear"),
    "tracer_plot_trendline": YES_NO,
    "search_dsstox": YES_NO,
    "search_hcd": YES_NO,
    "search_mode": ("mass", "formula"),
    "do_qnta": YES_NO,
    "mrl_std_multiplier": (3, 5, 10),
}

# How the form is laid out: (legend, parameter keys, open by default). Every form parameter appears exactly once
# (a test checks it), so a parameter added to Parameters cannot silently miss the form.
GROUPS: list[tuple[str, tuple[str, ...], bool]] = [
    ("Adducts & losses", ("pos_adducts", "neg_adducts", "neutral_losses"), True),
    ("Accuracy", ("mass_accuracy_units", "mass_accuracy", "rt_accuracy", "minimum_rt"), True),
    ("Replicates & blanks", ("min_replicate_hits", "min_replicate_hits_blanks", "max_replicate_cv",
                             "mrl_std_multiplier", "na_val"), True),
    ("Tracers", ("mass_accuracy_units_tr", "mass_accuracy_tr", "rt_accuracy_tr", "tracer_plot_yaxis_format",
                 "tracer_plot_trendline"), False),
    ("Search", ("search_dsstox", "search_mode", "parent_ion_mass_accuracy", "search_hcd", "do_qnta"), False),
]  # fmt: skip
# Shown above the groups, with the files.
HEAD_FIELDS = ("project_name",)

# Upload roles of nta_pipeline.jobstore, in form order, with their labels.
FILE_FIELDS: dict[str, str] = {
    "pos": "Positive mode feature table",
    "neg": "Negative mode feature table",
    "tracers": "Tracer file",
    "run_sequence_pos": "Run sequence, positive mode",
    "run_sequence_neg": "Run sequence, negative mode",
}
FILE_HELP: dict[str, str] = {
    "pos": "CSV export (MPP, MZmine 3 or generic) with Mass or m/z and Retention_Time columns.",
    "neg": "Give a positive table, a negative table, or both.",
    "tracers": "Optional. Columns Ionization_Mode, Chemical_Name, Monoisotopic_Mass, Retention_Time.",
    "run_sequence_pos": "Needed with a tracer file: injection names in acquisition order.",
    "run_sequence_neg": "Needed with a tracer file when a negative table is given.",
}


def parameter_keys() -> list[str]:
    """Every user-facing parameter, in the order of the Analysis Parameters sheet."""
    return [f.name for f in dataclasses.fields(Parameters) if f.name not in BOOKKEEPING]


class _AnyChoice(forms.ChoiceField):
    """Renders the choices; leaves judging the value to Parameters (one message style, one rule)."""

    def valid_value(self, value: Any) -> bool:
        return True


class _AnyChoices(forms.MultipleChoiceField):
    def valid_value(self, value: Any) -> bool:
        return True


def _field(key: str, default: Any) -> forms.Field:
    common = {"label": LABELS.get(key, key), "help_text": HELP.get(key, ""), "initial": default, "required": False}
    choices = CHOICES.get(key)
    if isinstance(default, tuple):
        return _AnyChoices(choices=[(c, c) for c in choices or ()], widget=forms.CheckboxSelectMultiple,
                           initial=list(default), **{k: v for k, v in common.items() if k != "initial"})  # fmt: skip
    if choices is not None:
        options = [(_text(c), _text(c)) for c in choices]
        return _AnyChoice(choices=options, **{**common, "initial": _text(default)})
    # No max_length on the Django fields: Parameters.from_strings judges lengths (limits), with the field's name.
    if isinstance(default, float):
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **{**common, "initial": _text(default)})
    attrs = {"maxlength": str(text_limit(key))}
    if key == "project_name":
        return forms.CharField(widget=forms.TextInput(attrs={**attrs, "required": True}), **common)
    return forms.CharField(widget=forms.TextInput(attrs=attrs), **common)


def _text(value: Any) -> str:
    """3.0 -> "3" so the select shows the option as selected and the number box shows what people type."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class UploadForm(forms.Form):
    """Files plus every MS1 parameter; after is_valid(), cleaned_data["parameters"] is a `Parameters`."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.oversized: dict[str, int] = {}
        if self.is_bound:
            self._drop_oversized()
        for role, label in FILE_FIELDS.items():
            widget = forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"})
            self.fields[role] = forms.FileField(label=label, help_text=FILE_HELP[role], required=False, widget=widget)
        defaults = Parameters()
        for key in parameter_keys():
            self.fields[key] = _field(key, getattr(defaults, key))

    def _drop_oversized(self) -> None:
        """A value over limits.PARAMETER_CHARS is judged by its length only: it is neither parsed nor echoed
        back into the re-rendered form (a 1 MB number would make a 1 MB error page)."""
        if not hasattr(self.data, "getlist"):
            return
        for key in parameter_keys():
            values = self.data.getlist(key)
            longest = max((len(v) for v in values), default=0)
            if longest > PARAMETER_CHARS or len(values) > LIST_ITEMS + 1:  # +1: the form's hidden empty value
                self.oversized[key] = longest if longest > PARAMETER_CHARS else -len(values)
        if self.oversized:
            self.data = self.data.copy()
            for key in self.oversized:
                self.data.setlist(key, [])

    @property
    def multi_keys(self) -> list[str]:
        return [k for k, f in self.fields.items() if isinstance(f, forms.MultipleChoiceField)]

    def raw_parameters(self) -> dict[str, Any]:
        """The submitted parameter values as strings. A key absent from the request keeps its default, so API
        clients may send only what they change; the HTML form sends every key (checkbox groups via a hidden
        empty value, so "none ticked" is not mistaken for "not sent")."""
        raw: dict[str, Any] = {}
        for key in parameter_keys():
            if key not in self.data:
                continue
            values = self.data.getlist(key) if hasattr(self.data, "getlist") else [self.data[key]]
            if key in self.multi_keys:
                items = [v for v in values if v.strip()]
                raw[key] = items[0] if len(items) == 1 else items  # one item may be a comma list ("Na,K")
            else:
                raw[key] = values[-1] if values else ""
        return raw

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for key, size in self.oversized.items():
            what = (
                f"{size:,} characters; at most {PARAMETER_CHARS}"
                if size > 0
                else f"{-size} values; at most {LIST_ITEMS}"
            )
            self.add_error(key, f"{LABELS.get(key, key)} ({key}): the value has {what}")
        if self.oversized:
            return cleaned
        try:
            cleaned["parameters"] = Parameters.from_strings(self.raw_parameters())
        except ParameterError as exc:
            key = parameter_of(str(exc))
            # "mass_accuracy: -5 must be >= 0" -> "Adduct / duplicate mass accuracy (mass_accuracy): -5 must be >= 0"
            message = f"{LABELS.get(key, key)} ({key})" + str(exc)[len(key) :] if key else str(exc)
            self.add_error(key, message)
        return cleaned

    def uploads(self) -> dict[str, UploadedFile]:
        return {role: f for role in FILE_FIELDS if (f := self.files.get(role))}

    def groups(self) -> list[tuple[str, list[forms.BoundField], bool]]:
        return [(title, [self[k] for k in keys], open_) for title, keys, open_ in GROUPS]


def parameter_of(message: str) -> str | None:
    """The parameter a ParameterError message is about (they start with the key), or None (a form-wide error)."""
    head = message.split(":", 1)[0].split(" ", 1)[0]
    return head if head in parameter_keys() else None

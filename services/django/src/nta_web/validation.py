"""Checking uploaded files before a job exists, with the pipeline's own readers.

Each table is parsed once, here; only files that pass are stored. Messages are the readers' `InputError`
texts (file, row, column), so the web form says exactly what the worker would have said minutes later.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePath

from django.core.files.uploadedfile import UploadedFile

from nta_pipeline.errors import InputError
from nta_pipeline.grouping import design_from_columns
from nta_pipeline.limits import FILE_NAME_CHARS, Deadline, DeadlineExceeded, current
from nta_pipeline.params import Parameters
from nta_pipeline.readers import Table, read_feature_table, read_run_sequence, read_tracers, to_numeric_strict
from nta_pipeline.tracers import check_run_sequence

# The readers parse comma-separated text only (pandas' default separator), so only .csv is offered.
EXTENSIONS = (".csv",)
MODES = ("pos", "neg")


class UploadRejected(Exception):
    """One problem with the upload; `field` names the form field (None: the form as a whole)."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message, self.field, self.status = message, field, status


@dataclass
class CheckedUpload:
    inputs: dict[str, tuple[str, bytes]]  # role -> (file name, bytes), as JobStore.create_job takes them
    warnings: list[str] = field(default_factory=list)


def _read(role: str, upload: UploadedFile, max_bytes: int) -> tuple[str, bytes]:
    name = PurePath(upload.name or role).name
    if len(name) > FILE_NAME_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise UploadRejected(f"the file name is {len(name)} characters long or holds control characters; use a "
                             f"short plain name (at most {FILE_NAME_CHARS} characters)", role)  # fmt: skip
    if upload.size is not None and upload.size > max_bytes:
        raise UploadRejected(f"{name} is {upload.size / 1048576:.1f} MB; the limit is {max_bytes / 1048576:g} MB "
                             "per file (NTA_MAX_UPLOAD_MB)", role, status=413)  # fmt: skip
    if not name.lower().endswith(EXTENSIONS):
        raise UploadRejected(f"{name}: expected a comma-separated .csv file (export the table as CSV)", role)
    data = upload.read()
    if len(data) > max_bytes:  # size can be missing for chunked uploads
        raise UploadRejected(f"{name} is larger than the limit of {max_bytes / 1048576:g} MB per file", role, 413)
    return name, data


@contextmanager
def _blame(role: str) -> Iterator[None]:
    """An InputError raised inside belongs to this form field; so does running out of time on it."""
    try:
        yield
    except InputError as exc:
        raise UploadRejected(str(exc), role) from exc
    except DeadlineExceeded as exc:
        raise UploadRejected(str(exc), role, status=413) from exc


def check_upload(
    uploads: Mapping[str, UploadedFile], params: Parameters, *, max_bytes: int, seconds: float | None = None
) -> CheckedUpload:
    """Read and parse every uploaded file; raise UploadRejected with the first problem found.

    The size limits (nta_pipeline.limits, applied by the readers) bound each piece of work; `seconds`
    (NTA_VALIDATION_SECONDS) bounds their sum, checked between the pieces."""
    deadline = Deadline(current().validation_seconds if seconds is None else seconds, "checking the upload")
    if not any(uploads.get(m) for m in MODES):
        raise UploadRejected("upload a positive-mode table, a negative-mode table, or both", "pos")
    files = {role: _read(role, up, max_bytes) for role, up in uploads.items() if up}
    tables: dict[str, Table] = {}
    for mode in MODES:
        if mode in files:
            name, data = files[mode]
            with _blame(mode):
                deadline.check(name)
                tables[mode] = read_feature_table(data, mode=mode, name=name, na_val=params.na_val)
    first_mode, first = next(iter(tables.items()))
    with _blame(first_mode):
        design = design_from_columns(list(first.df.columns), file=first.name)
    for mode, table in tables.items():
        # The checks the workflow's first step makes on the sample columns (nta_pipeline.workflow._prepare_mode).
        with _blame(mode):
            missing = [c for c in design.replicate_columns if c not in table.df.columns]
            if missing:
                raise InputError("sample column of the other mode's table is missing here (both tables must have "
                                 "the same sample columns)", file=table.name, column=missing[0])  # fmt: skip
            for column in design.replicate_columns:
                deadline.check(f"{table.name}, column {column[:40]!r}")
                to_numeric_strict(table, column, what="a numeric abundance")
    sequences = {}
    for mode in MODES:
        role = f"run_sequence_{mode}"
        if role in files:
            with _blame(role):
                deadline.check(files[role][0])
                sequences[mode] = read_run_sequence(files[role][1], name=files[role][0])
    if "tracers" in files:
        with _blame("tracers"):
            deadline.check(files["tracers"][0])
            read_tracers(files["tracers"][1], name=files["tracers"][0])
        for mode in tables:  # with tracers, the workflow needs each table's run sequence, listing its injections
            role = f"run_sequence_{mode}"
            with _blame(role):
                check_run_sequence(sequences.get(mode), design.replicate_columns, mode=mode,
                                   file=files[role][0] if role in files else f"{mode} run sequence")  # fmt: skip
    warnings = [w for t in tables.values() for w in t.warnings]
    return CheckedUpload(inputs=files, warnings=warnings)

"""Errors a user can act on. Each says what is wrong and where (file, row, column, step)."""

from __future__ import annotations


class NtaError(Exception):
    """Base class: every error the workflow raises on purpose."""


class ParameterError(NtaError):
    """An analysis parameter is unknown or out of range."""


class InputError(NtaError):
    """An input file is unusable. `str()` is a one-line message naming file, row and column."""

    def __init__(self, message: str, *, file: str = "", row: int | None = None, column: str | None = None):
        self.message, self.file, self.row, self.column = message, file, row, column
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = [self.file] if self.file else []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            # A column name is user data: quote a short excerpt only (limits.EXCERPT_CHARS).
            shown = self.column if len(self.column) <= 60 else f"{self.column[:60]}..."
            where.append(f"column {shown!r}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class StepError(NtaError):
    """A workflow step failed; carries the step name shown to the user ("Failed on step: ...")."""

    def __init__(self, step: str, cause: BaseException):
        self.step, self.cause = step, cause
        super().__init__(f"Failed on step: {step}: {cause}")

"""Glue between invoke and the toolkit: tasks with clean error exits, and an optional positional argument."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from invoke import Exit, Task, UnexpectedExit, task

from .errors import ToolkitError


@contextmanager
def toolkit_errors() -> Iterator[None]:
    """Turn a ToolkitError into its one-line message on stderr and exit status 1 (no traceback)."""
    try:
        yield
    except ToolkitError as exc:
        raise Exit(f"nta: error: {exc}", code=1) from None
    except UnexpectedExit as exc:  # a command run without warn=True failed; its own output says why
        result = exc.result
        raise Exit(f"nta: error: `{result.command}` failed (exit {result.exited}); see its output above",
                   code=result.exited or 1) from None  # fmt: skip


def toolkit_task(*args: Any, **kwargs: Any) -> Any:
    """invoke's `@task` (same arguments), whose body's ToolkitError ends the run as one line (toolkit_errors)."""

    def decorate(body: Callable[..., Any]) -> Task:
        @functools.wraps(body)  # invoke reads the arguments and the help from the wrapped signature and docstring
        def run(*a: Any, **kw: Any) -> Any:
            with toolkit_errors():
                return body(*a, **kw)

        return task(**kwargs)(run)

    if len(args) == 1 and callable(args[0]) and not kwargs:  # bare @toolkit_task
        return decorate(args[0])
    return decorate


class OptionalPositionalTask(Task):
    """A task whose positional arguments may be left out (`inv context` and `inv context NAME`).

    invoke's parser insists on every positional argument; so they are positional only when the command line
    has a bare word after the task name, and plain ``--name`` flags otherwise.
    """

    def get_arguments(self, ignore_unknown_help: bool | None = None) -> list[Any]:
        args = super().get_arguments(ignore_unknown_help)
        word_follows = self._word_follows(sys.argv[1:])
        for arg in args:
            if not arg.positional:
                continue
            if word_follows:
                arg.default = None  # the parser hands a word only to a positional whose value is still None
            else:
                arg.positional = False
        return args

    def _word_follows(self, argv: list[str]) -> bool:
        names = {self.name, *self.aliases, self.name.replace("_", "-")}
        for i, token in enumerate(argv[:-1]):
            if token in names:
                return not argv[i + 1].startswith("-")
        return False

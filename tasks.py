"""Developer tasks for the NTA stack. `./inv --list` shows the menu; `./inv --help TASK` the details."""

from __future__ import annotations

from invoke import Collection, Context, Exit, task


@task
def lint(c: Context) -> None:
    """Ruff: lint every Python file of the repository."""
    c.run("ruff check .", pty=False)


@task(help={"layer": "run only this test layer (a folder under tests/, e.g. unit)", "k": "pytest -k expression"})
def test(c: Context, layer: str = "", k: str = "") -> None:
    """Run the test suite (lint first). This is the command CI runs."""
    lint(c)
    target = f"tests/{layer}" if layer else "tests"
    selection = f" -k {k!r}" if k else ""
    result = c.run(f"python -m pytest {target} -q{selection}", warn=True, pty=False)
    if result.exited != 0:
        raise Exit(f"tests failed (exit {result.exited}); rerun one layer with `./inv test --layer unit`",
                   code=result.exited)


@task
def bench(c: Context) -> None:
    """Benchmarks: print seconds per workflow step on the shipped export and on synthetic data."""
    c.run("python benchmarks/bench_workflow.py", pty=False)


ns = Collection(lint, test, bench)
ns.configure({"run": {"echo": True}})

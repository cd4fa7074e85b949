"""The repository explains itself: no file cites a document that is not in it, and every citation of docs/ points at
a file and a heading that exist.

Citations look like `docs/ms1-workflow.md#replicate-statistics` (GitHub's anchor of the heading) or
`docs/ms1-workflow.md, "Blank subtraction"` (the heading itself, quoted or not); inside docs/ also the Markdown links
`[text](#anchor)` and `[text](other.md#anchor)`. Only files tracked by git are read (`git ls-files`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest

from tests.fixtures.require import unavailable

REPO = Path(__file__).resolve().parents[2]
DOCS = "docs"

# Documents that never were in the repository (the specification and design notes the project started from), a
# path out of the clone, bare section signs of that specification, and tracker numbers a reader cannot open. The
# patterns are spelled in pieces so that this file does not match itself.
OUTSIDE_REFERENCES = {
    "MS1" + "_SPEC": re.compile("MS1" + "_SPEC"),
    "ARCHITECTURE" + ".md": re.compile("ARCHITECTURE" + r"\.md"),
    "K8S" + "_LOCAL.md": re.compile("K8S" + r"_LOCAL(\.md)?"),
    "../" + "shared": re.compile(r"\.\./" + "shared"),
    "a § section": re.compile("\N{SECTION SIGN}" + r"\s*\d"),
    "an issue number": re.compile(r"\bissues?" + r" #?\d+\b", re.IGNORECASE),
}

CITATION = re.compile(r"(?<![\w/.-])docs/(?P<file>[\w.-]+\.md)(?:#(?P<anchor>[\w-]+)|, (?P<heading>[\"']?[A-Z]))?")
MD_LINK = re.compile(r"\]\((?P<file>[\w.-]+\.md)?#(?P<anchor>[\w-]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(?P<text>.+?)\s*#*\s*$")


@cache
def tracked_files() -> tuple[str, ...]:
    if shutil.which("git") is None:
        unavailable("git is needed to list the tracked files")
    result = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        unavailable(f"not a git checkout ({result.stderr.strip()[:200]})")
    return tuple(p for p in result.stdout.split("\0") if p)


def read_text(relative: str) -> str | None:
    """The file's text, or None for a binary file or one deleted in the working tree."""
    path = REPO / relative
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def outside_references(relative: str, text: str) -> list[str]:
    """`file:line: what (the line)` for every reference to something outside the repository."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        kinds = [what for what, pattern in OUTSIDE_REFERENCES.items() if pattern.search(line)]
        if kinds:
            found.append(f"{relative}:{number}: {', '.join(kinds)}: {line.strip()[:160]}")
    return found


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces become hyphens."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def headings(text: str) -> list[str]:
    """Heading texts of a Markdown document, outside code fences."""
    found, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else HEADING.match(line)
        if match:
            found.append(match.group("text"))
    return found


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in headings(text):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        result.add(base if n == 0 else f"{base}-{n}")
    return result


def _flat(text: str) -> str:
    """A citation's words, with line breaks and the comment markers of continued lines removed."""
    return re.sub(r"\s*\n\s*(?:#+\s*|//\s*|\*\s*)?", " ", text)


def broken_citations(relative: str, text: str, docs: dict[str, str]) -> list[str]:
    """`file:line: problem` for every docs/ citation whose file or heading does not exist.

    `docs` maps a file name in docs/ to its text."""
    problems = []

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    for match in CITATION.finditer(text):
        name, anchor, heading = match.group("file"), match.group("anchor"), match.group("heading")
        where = f"{relative}:{line_of(match.start())}"
        if name not in docs:
            problems.append(f"{where}: docs/{name} does not exist")
            continue
        if anchor is not None and anchor not in anchors(docs[name]):
            problems.append(f"{where}: docs/{name} has no heading with the anchor #{anchor}")
        if heading is not None:
            rest = _flat(text[match.start("heading") : match.start("heading") + 300])
            known = headings(docs[name])
            if rest[0] in "\"'":
                quote = rest[0]
                cited = rest[1:].split(quote, 1)[0]
                ok = cited in known
            else:
                cited = re.split(r"[,;:)]|\. |\.$", rest, maxsplit=1)[0]
                ok = any(rest.startswith(h) and not rest[len(h) : len(h) + 1].isalnum() for h in known)
            if not ok:
                problems.append(f"{where}: docs/{name} has no heading {cited.strip()!r}")
    if relative.startswith(f"{DOCS}/"):
        own = Path(relative).name
        for match in MD_LINK.finditer(text):
            name = match.group("file") or own
            where = f"{relative}:{line_of(match.start())}"
            if name not in docs:
                problems.append(f"{where}: link to {name}, which is not in docs/")
            elif match.group("anchor") not in anchors(docs[name]):
                problems.append(f"{where}: {name} has no heading with the anchor #{match.group('anchor')}")
    return problems


def docs_texts() -> dict[str, str]:
    return {Path(p).name: read_text(p) or "" for p in tracked_files() if p.startswith(f"{DOCS}/") and p.endswith(".md")}


def test_the_docs_exist() -> None:
    names = set(docs_texts())
    assert {"ms1-workflow.md", "architecture.md", "testing.md"} <= names, f"docs/ holds only {sorted(names)}"


def test_no_file_cites_a_document_outside_the_repository() -> None:
    problems = []
    for relative in tracked_files():
        text = read_text(relative)
        if text is not None:
            problems += outside_references(relative, text)
    assert not problems, (
        "these lines cite documents that are not in the repository; cite the matching docs/ section instead, "
        "or state the fact itself:\n" + "\n".join(problems)
    )


def test_every_docs_citation_points_at_an_existing_file_and_heading() -> None:
    docs = docs_texts()
    problems = []
    for relative in tracked_files():
        text = read_text(relative)
        if text is not None:
            problems += broken_citations(relative, text, docs)
    assert not problems, "broken citations of docs/:\n" + "\n".join(problems)


# The checks themselves must be able to fail.
PLANTED_DOCS = {"guide.md": "# Guide\n\n## Blank subtraction\n\nSee [below](#missing).\n\n```\n# Not a heading\n```\n"}


@pytest.mark.parametrize("line", [
    "# see " + "MS1" + "_SPEC \N{SECTION SIGN}3.5", "Environment contract (" + "ARCHITECTURE" + ".md)",
    "flags measured here (shared " + "K8S" + "_LOCAL.md)", "read ../" + "shared/notes.md",
    "the rule of (\N{SECTION SIGN}7.5)", "the four images (" + "issue" + " 5)",
])  # fmt: skip
def test_a_planted_outside_reference_is_found(line: str) -> None:
    found = outside_references("planted.py", f"x = 1\n{line}\n")
    assert found and found[0].startswith("planted.py:2: ")


def test_broken_citations_are_found_and_good_ones_pass() -> None:
    d = "docs"  # spelled apart so that the real scan does not read these as citations of this repository's docs/
    good = f'x  # {d}/guide.md#blank-subtraction; {d}/guide.md, "Blank subtraction"; {d}/guide.md, Blank subtraction.'
    assert broken_citations("a.py", good, PLANTED_DOCS) == []
    bad = (f"{d}/nothing.md\n"
           f"{d}/guide.md#not-here\n"
           f'{d}/guide.md, "Not here"\n'
           f"{d}/guide.md, Blank subtractions\n"
           f"{d}/guide.md#not-a-heading\n")  # fmt: skip
    found = broken_citations("a.py", bad, PLANTED_DOCS)
    assert [f.split(":")[1] for f in found] == ["1", "2", "3", "4", "5"], found
    assert broken_citations(f"{d}/guide.md", PLANTED_DOCS["guide.md"], PLANTED_DOCS) == [
        f"{d}/guide.md:5: guide.md has no heading with the anchor #missing"]


def test_anchors_follow_github() -> None:
    text = "# The Dask worker's in-place reload\n## summary.json\n## Steps\n## Steps\n"
    assert anchors(text) == {"the-dask-workers-in-place-reload", "summaryjson", "steps", "steps-1"}

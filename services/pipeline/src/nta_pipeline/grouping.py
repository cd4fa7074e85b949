"""Replicate groups, blanks and pass-through columns from column names.

See docs/ms1-workflow.md#replicate-groups, docs/ms1-workflow.md#blanks and docs/ms1-workflow.md#pass-through-columns.

Differences from the original, each invisible on well-formed input:
- names ending in a replicate number (`Sample_1` … `Sample_12`) group by their prefix, so 10+ replicates work;
  other names keep the original adjacency rule;
- only replicate groups can be blanks, matched on whole name tokens (`MB`, `Blank`, `MethodBlank`), so
  metadata such as `CAS_Number` ("Nu-mb-er") is no longer a blank and the shipped MPP export runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InputError

CORE_COLUMNS = ("Retention_Time", "Mass", "Ionization_Mode", "Compound")
BLANK_TOKENS = {"mb", "mbs", "blank", "blanks"}
_TRAILING_INDEX = re.compile(r"^(.*?\D)(\d+)$")
_PARENS = re.compile(r"\(.*?\)")


@dataclass(frozen=True)
class Group:
    root: str
    columns: tuple[str, ...]
    is_blank: bool


@dataclass(frozen=True)
class Design:
    """Replicate groups in header order, plus the pass-through metadata columns."""

    groups: tuple[Group, ...]
    passthrough: tuple[str, ...]

    @property
    def blank_groups(self) -> list[Group]:
        return [g for g in self.groups if g.is_blank]

    @property
    def sample_groups(self) -> list[Group]:
        return [g for g in self.groups if not g.is_blank]

    @property
    def blank(self) -> Group:
        """The blank used for MRL and subtraction: the first blank group, as in the original."""
        return self.blank_groups[0]

    @property
    def replicate_columns(self) -> list[str]:
        return [c for g in self.groups for c in g.columns]

    @property
    def roots(self) -> list[str]:
        return [g.root for g in self.groups]


def name_distance(a: str, b: str) -> int:
    """The original's distance: length difference + differing positions over the common prefix, where a
    single difference only counts as 1 at the first or last compared position (else 2)."""
    a, b = _PARENS.sub("", a), _PARENS.sub("", b)
    n = min(len(a), len(b))
    diffs = [i for i in range(n) if a[i] != b[i]]
    count = abs(len(a) - len(b)) + len(diffs)
    if count == 1 and not (diffs and diffs[0] in (0, n - 1)):
        count = 2
    return count


def is_blank_name(name: str) -> bool:
    tokens = [t.lower() for t in re.split(r"[^A-Za-z]+", name) if t]
    return any(t in BLANK_TOKENS or t.endswith("blank") or t.endswith("blanks") for t in tokens)


def _walk(columns: list[str]) -> list[list[str]]:
    groups: list[list[str]] = []
    for col in columns:
        if groups and name_distance(groups[-1][-1], col) < 2:
            groups[-1].append(col)
        else:
            groups.append([col])
    return groups


def design_from_columns(columns: list[str], *, file: str = "") -> Design:
    """Derive the experimental design from the (normalised, sorted) column names of one table."""
    cols = sorted(c for c in columns if c != "Feature ID")
    flags = [i for i, c in enumerate(cols) if "_Flags" in c]
    if flags:  # the original stops the walk after the first *_Flags column
        cols = cols[: flags[0] + 1]

    by_prefix: dict[str, list[str]] = {}
    for c in cols:
        m = _TRAILING_INDEX.match(c)
        if m and c not in CORE_COLUMNS:
            by_prefix.setdefault(m.group(1), []).append(c)
    indexed = {p: sorted(m, key=lambda c: int(_TRAILING_INDEX.match(c).group(2)))  # type: ignore[union-attr]
               for p, m in by_prefix.items() if len(m) >= 2}  # fmt: skip
    in_indexed = {c: p for p, members in indexed.items() for c in members}

    rest = [c for c in cols if c not in in_indexed]
    raw: list[tuple[int, str, list[str]]] = [(cols.index(g[0]), g[0][:-1], g) for g in _walk(rest)]
    raw += [(cols.index(min(m)), p, m) for p, m in indexed.items()]
    raw.sort(key=lambda t: t[0])

    groups, passthrough = [], []
    for _, root, members in raw:
        if len(members) >= 2:
            groups.append(Group(root=root, columns=tuple(members), is_blank=is_blank_name(root)))
        else:
            passthrough.extend(c for c in members if c not in CORE_COLUMNS)
    if not groups:
        raise InputError(
            "Single replicate data found. A minimum of two replicates is required for each sample and "
            "method blank.", file=file,
        )  # fmt: skip
    if not any(g.is_blank for g in groups):
        raise InputError(
            "Blank samples not found. Blank replicate names must contain a token such as MB, Blank or "
            f"MethodBlank (groups found: {', '.join(g.root for g in groups)})", file=file,
        )  # fmt: skip
    if all(g.is_blank for g in groups):
        raise InputError("no sample groups found: every replicate group is a blank", file=file)
    return Design(groups=tuple(groups), passthrough=tuple(passthrough))

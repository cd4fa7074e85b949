"""Reference compound collection: CSV loader, in-memory columnar index, and its refresh cache.

Collection ``reference_compounds`` holds one document per compound with the fields DTXSID, PREFERRED_NAME,
CASRN, MOLECULAR_FORMULA, MONOISOTOPIC_MASS. Every load bumps ``version`` in the single document of
``reference_meta``; API processes poll that number (cheap ``_id`` lookup) and rebuild their index when it
changes, so a reload never needs a restart.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import io
import json
import logging
import math
import re
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from .chem import FormulaError, monoisotopic_mass, parse_formula

log = logging.getLogger(__name__)

COLLECTION = "reference_compounds"
META_COLLECTION = "reference_meta"
META_ID = "reference_compounds"
FIELDS = ("DTXSID", "PREFERRED_NAME", "CASRN", "MOLECULAR_FORMULA", "MONOISOTOPIC_MASS")
REQUIRED = ("PREFERRED_NAME", "MOLECULAR_FORMULA")

# C-accelerated JSON string encoder; ASCII output keeps the record blob at one byte per character.
_encode_str = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]


class ReferenceLoadError(ValueError):
    """The reference CSV is not loadable; the message names the row and column."""


class ReferenceUnavailable(RuntimeError):
    """No index could be built (MongoDB unreachable and nothing cached)."""


# --------------------------------------------------------------------------------------------------------
# In-memory index


@dataclass(frozen=True, eq=False)
class ReferenceIndex:
    """Columnar, mass-sorted snapshot of the reference collection.

    Row i's display fields live in ``records[record_offsets[i]:record_offsets[i + 1]]`` as a pre-encoded JSON
    fragment ``"DTXSID","NAME","CASRN","FORMULA",MASS``: one compact string for 1M compounds instead of 4M
    Python objects, and responses are assembled by slicing instead of re-encoding every field.
    """

    mass: np.ndarray  # float64, ascending
    record_offsets: np.ndarray  # int64, len n + 1
    records: str
    formulas: list[str]  # distinct formulas, sorted
    formula_rows: np.ndarray  # int32 row numbers grouped by formula (mass order within a formula)
    formula_starts: np.ndarray  # int64, len(formulas) + 1: slice of formula_rows per formula
    version: int | None = None

    @classmethod
    def from_columns(cls, dtxsid: Sequence[str | None], name: Sequence[str], casrn: Sequence[str | None],
                     formula: Sequence[str], mass: Sequence[float] | np.ndarray, *,
                     version: int | None = None) -> ReferenceIndex:  # fmt: skip
        masses = np.asarray(mass, dtype=np.float64)
        n = len(masses)
        if not (len(dtxsid) == len(name) == len(casrn) == len(formula) == n):
            raise ValueError("reference columns differ in length")
        order = np.argsort(masses, kind="stable")
        masses = masses[order]
        idx = order.tolist()
        dtx = [dtxsid[i] for i in idx]
        nam = [name[i] for i in idx]
        cas = [casrn[i] for i in idx]
        frm = [formula[i] for i in idx]
        fragments = [
            f"{_encode_str(d) if d else 'null'},{_encode_str(nm)},{_encode_str(c) if c else 'null'},"
            f"{_encode_str(f)},{m!r}"
            for d, nm, c, f, m in zip(dtx, nam, cas, frm, masses.tolist(), strict=True)
        ]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, fragments), dtype=np.int64, count=n), out=offsets[1:])
        records = "".join(fragments)
        del fragments, dtx, nam, cas

        formulas = sorted(set(frm))
        code_of = {f: i for i, f in enumerate(formulas)}
        codes = np.fromiter((code_of[f] for f in frm), dtype=np.int32, count=n)
        formula_rows = np.argsort(codes, kind="stable").astype(np.int32)
        formula_starts = np.zeros(len(formulas) + 1, dtype=np.int64)
        np.cumsum(np.bincount(codes, minlength=len(formulas)), out=formula_starts[1:])
        return cls(mass=masses, record_offsets=offsets, records=records, formulas=formulas,
                   formula_rows=formula_rows, formula_starts=formula_starts, version=version)  # fmt: skip

    @classmethod
    def from_documents(cls, docs: Iterable[dict[str, Any]], *, version: int | None = None) -> ReferenceIndex:
        dtx: list[str | None] = []
        name: list[str] = []
        cas: list[str | None] = []
        frm: list[str] = []
        mass: list[float] = []
        skipped = 0
        for doc in docs:
            m, f = doc.get("MONOISOTOPIC_MASS"), doc.get("MOLECULAR_FORMULA")
            # Documents written by other tools may be incomplete; such rows cannot be searched.
            if not isinstance(m, int | float) or isinstance(m, bool) or not math.isfinite(m) or not f:
                skipped += 1
                continue
            mass.append(float(m))
            frm.append(str(f))
            name.append(str(doc.get("PREFERRED_NAME") or ""))
            d, c = doc.get("DTXSID"), doc.get("CASRN")
            dtx.append(str(d) if d else None)
            cas.append(str(c) if c else None)
        if skipped:
            log.warning("reference index: skipped %d documents without a numeric mass or a formula", skipped)
        return cls.from_columns(dtx, name, cas, frm, mass, version=version)

    @classmethod
    def from_collection(cls, collection: Collection, *, version: int | None = None) -> ReferenceIndex:
        cursor = collection.find({}, {"_id": 0, **{f: 1 for f in FIELDS}}, batch_size=10_000)
        return cls.from_documents(cursor, version=version)

    def __len__(self) -> int:
        return len(self.mass)

    @property
    def nbytes(self) -> int:
        """Approximate resident size of the index."""
        arrays = self.mass.nbytes + self.record_offsets.nbytes + self.formula_rows.nbytes
        arrays += self.formula_starts.nbytes
        return arrays + sys.getsizeof(self.records) + sys.getsizeof(self.formulas) + sum(
            sys.getsizeof(f) for f in self.formulas)  # fmt: skip

    def record_json(self, row: int) -> str:
        return self.records[self.record_offsets[row] : self.record_offsets[row + 1]]

    def record(self, row: int) -> list[Any]:
        """[DTXSID, PREFERRED_NAME, CASRN, MOLECULAR_FORMULA, MONOISOTOPIC_MASS] of one row."""
        return json.loads(f"[{self.record_json(row)}]")

    def rows_for_formula(self, formula: str) -> np.ndarray:
        """Row numbers (mass order) whose formula equals ``formula`` exactly."""
        code = bisect.bisect_left(self.formulas, formula)
        if code == len(self.formulas) or self.formulas[code] != formula:
            return np.empty(0, dtype=np.int32)
        return self.formula_rows[self.formula_starts[code] : self.formula_starts[code + 1]]


def read_version(db: Database) -> int | None:
    doc = db[META_COLLECTION].find_one({"_id": META_ID}, {"version": 1})
    return None if doc is None else doc.get("version")


class ReferenceCache:
    """Process-wide holder of the current index, refreshed when the loader bumps the version.

    Requests never wait for a rebuild once an index exists: the thread that wins the lock rebuilds while
    the others keep answering from the previous snapshot.
    """

    def __init__(self, db: Database, check_seconds: float = 5.0):
        self.db, self.check_seconds = db, check_seconds
        self._index: ReferenceIndex | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()

    def get(self) -> ReferenceIndex:
        index = self._index
        if index is not None and time.monotonic() < self._next_check:
            return index
        if index is not None:
            if not self._lock.acquire(blocking=False):
                return index
        else:
            self._lock.acquire()
        try:
            return self._refresh()
        finally:
            self._lock.release()

    def install(self, index: ReferenceIndex) -> None:
        """Serve a prebuilt index (benchmarks, warm-up); the version check resumes after check_seconds."""
        with self._lock:
            self._index = index
            self._next_check = time.monotonic() + self.check_seconds

    def _refresh(self) -> ReferenceIndex:
        current = self._index
        if current is not None and time.monotonic() < self._next_check:
            return current
        try:
            # Version first: if a load finishes while we read the collection, the next check rebuilds.
            version = read_version(self.db)
            if current is None or version != current.version:
                started = time.perf_counter()
                current = ReferenceIndex.from_collection(self.db[COLLECTION], version=version)
                log.info("reference index version %s: %d compounds, %.1f MB, built in %.2fs", version,
                         len(current), current.nbytes / 1e6, time.perf_counter() - started)  # fmt: skip
                self._index = current
        except PyMongoError as exc:
            if current is None:
                raise ReferenceUnavailable(
                    f"reference collection unavailable: {exc.__class__.__name__}"
                ) from exc
            log.warning("reference version check failed (%s); serving version %s", exc.__class__.__name__,
                        current.version)  # fmt: skip
        self._next_check = time.monotonic() + self.check_seconds
        return current


# --------------------------------------------------------------------------------------------------------
# CSV loader

_ID_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_NAME_LENGTH = 2000
MAX_CASRN_LENGTH = 64


def ensure_indexes(collection: Collection) -> None:
    collection.create_index([("MONOISOTOPIC_MASS", ASCENDING)], name="mass")
    collection.create_index([("MOLECULAR_FORMULA", ASCENDING)], name="formula")
    # Partial: compounds without a DTXSID (the field is omitted) must not collide with each other.
    collection.create_index([("DTXSID", ASCENDING)], name="dtxsid_unique", unique=True,
                            partialFilterExpression={"DTXSID": {"$type": "string"}})  # fmt: skip


def _iter_documents(handle: IO[str], source_name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, document) per data row; the header is row 1. Raises ReferenceLoadError."""
    reader = csv.reader(handle)
    header = next(reader, None)
    if not header:
        raise ReferenceLoadError(f"{source_name}: file is empty (expected a header row)")
    names = [h.strip().upper() for h in header]
    dupes = sorted({h for h in names if h and names.count(h) > 1})
    if dupes:
        raise ReferenceLoadError(f"{source_name}: duplicate column(s) {', '.join(dupes)} in the header")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise ReferenceLoadError(f"{source_name}: missing required column(s) {', '.join(missing)}; "
                                 f"found: {', '.join(h for h in names if h) or '(none)'}")  # fmt: skip
    col = {c: names.index(c) for c in FIELDS if c in names}

    def cell(row: list[str], field: str) -> str:
        return row[col[field]].strip() if field in col else ""

    for row in reader:
        row_no = reader.line_num
        if not any(v.strip() for v in row):
            continue
        if len(row) != len(names):
            raise ReferenceLoadError(
                f"{source_name} row {row_no}: expected {len(names)} fields, got {len(row)}"
            )

        def fail(field: str, problem: str, row_no: int = row_no) -> ReferenceLoadError:
            return ReferenceLoadError(f"{source_name} row {row_no}, column {field}: {problem}")

        name, formula = cell(row, "PREFERRED_NAME"), cell(row, "MOLECULAR_FORMULA")
        if not name:
            raise fail("PREFERRED_NAME", "empty name")
        if len(name) > MAX_NAME_LENGTH:
            raise fail("PREFERRED_NAME", f"longer than {MAX_NAME_LENGTH} characters")
        try:
            counts = parse_formula(formula)
        except FormulaError as exc:
            raise fail("MOLECULAR_FORMULA", str(exc)) from None
        text_mass = cell(row, "MONOISOTOPIC_MASS")
        if text_mass:
            try:
                mass = float(text_mass)
            except ValueError:
                raise fail("MONOISOTOPIC_MASS", f"not a number: {text_mass[:40]!r}") from None
            if not (math.isfinite(mass) and mass > 0):
                raise fail("MONOISOTOPIC_MASS", f"must be a positive finite number, got {text_mass[:40]!r}")
        else:
            try:
                # Rounded to 1e-6 u like DSSTox exports (< 0.005 ppm at 100 u).
                mass = round(monoisotopic_mass(counts), 6)
            except FormulaError as exc:
                raise fail("MOLECULAR_FORMULA", f"cannot compute the mass: {exc}") from None
        doc: dict[str, Any] = {
            "PREFERRED_NAME": name,
            "MOLECULAR_FORMULA": formula,
            "MONOISOTOPIC_MASS": mass,
        }
        dtxsid, casrn = cell(row, "DTXSID"), cell(row, "CASRN")
        if dtxsid:
            if not _ID_RE.fullmatch(dtxsid):
                raise fail("DTXSID", f"not an identifier: {dtxsid[:40]!r}")
            doc["DTXSID"] = dtxsid
        if casrn:
            if len(casrn) > MAX_CASRN_LENGTH:
                raise fail("CASRN", f"longer than {MAX_CASRN_LENGTH} characters")
            doc["CASRN"] = casrn
        yield row_no, doc


def _reopenable_text(source: Path | str | IO) -> tuple[str, Any]:
    """(display name, zero-argument opener returning a fresh text stream); IO sources are read once."""
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise ReferenceLoadError(f"{path}: no such file")
        return str(path), lambda: path.open(encoding="utf-8-sig", newline="")
    data = source.read()
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ReferenceLoadError(f"reference CSV is not UTF-8: {exc}") from None
    name = str(getattr(source, "name", "<stream>"))
    return name, lambda: io.StringIO(data.lstrip("\ufeff"), newline="")


def load_reference_csv(db: Database, source: Path | str | IO, *, replace: bool = False,
                       batch_size: int = 5000) -> int:  # fmt: skip
    """Validate ``source`` completely, then insert it into ``reference_compounds``; returns rows inserted.

    Nothing is written when any row is invalid. ``replace`` empties the collection first (otherwise rows are
    appended and a DTXSID already present is an error). Bumps the reference version so running APIs reload.
    """
    source_name, opener = _reopenable_text(source)
    collection = db[COLLECTION]

    # Pass 1: validate everything (streaming, so a million-row file is not held in memory twice).
    seen: dict[str, int] = {}
    total = 0
    with opener() as handle:
        for row_no, doc in _iter_documents(handle, source_name):
            total += 1
            dtxsid = doc.get("DTXSID")
            if dtxsid is not None:
                if dtxsid in seen:
                    raise ReferenceLoadError(f"{source_name} row {row_no}, column DTXSID: duplicate {dtxsid} "
                                             f"(first at row {seen[dtxsid]})")  # fmt: skip
                seen[dtxsid] = row_no
    if total == 0:
        raise ReferenceLoadError(f"{source_name}: no data rows")
    if not replace and seen:
        ids = list(seen)
        for start in range(0, len(ids), 1000):
            clash = collection.find_one({"DTXSID": {"$in": ids[start : start + 1000]}}, {"DTXSID": 1})
            if clash is not None:
                dtxsid = clash["DTXSID"]
                raise ReferenceLoadError(f"{source_name} row {seen[dtxsid]}, column DTXSID: {dtxsid} is "
                                         f"already in {COLLECTION} (load with replace=True)")  # fmt: skip

    # Pass 2: write. Stand-in servers lack an atomic collection rename, so replace is delete-then-insert;
    # APIs keep serving their previous snapshot until the version bump below.
    if replace:
        collection.delete_many({})
    ensure_indexes(collection)
    inserted = 0
    with opener() as handle:
        batch: list[dict[str, Any]] = []
        for _, doc in _iter_documents(handle, source_name):
            batch.append(doc)
            if len(batch) >= batch_size:
                inserted += len(collection.insert_many(batch, ordered=False).inserted_ids)
                batch = []
        if batch:
            inserted += len(collection.insert_many(batch, ordered=False).inserted_ids)
    db[META_COLLECTION].update_one(
        {"_id": META_ID},
        {"$inc": {"version": 1},
         "$set": {"updated_at": datetime.now(UTC), "source": Path(source_name).name, "loaded_rows": inserted,
                  "replace": replace}},
        upsert=True,
    )  # fmt: skip
    log.info("loaded %d reference compounds from %s (replace=%s)", inserted, source_name, replace)
    return inserted


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m nta_api.reference FILE [--replace]`` using NTA_MONGO_URL / NTA_DB_NAME."""
    from pymongo import MongoClient

    from .settings import ConfigError, load_settings

    parser = argparse.ArgumentParser(prog="python -m nta_api.reference", description=main.__doc__)
    parser.add_argument("file", help="CSV with PREFERRED_NAME, MOLECULAR_FORMULA[, DTXSID, CASRN, "
                                     "MONOISOTOPIC_MASS]; '-' reads standard input")  # fmt: skip
    parser.add_argument("--replace", action="store_true", help="empty the collection first")
    parser.add_argument("--if-empty", action="store_true",
                        help="load only into an empty collection (a stack's first start); else do nothing")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    client: MongoClient = MongoClient(settings.mongo_url, serverSelectionTimeoutMS=settings.mongo_timeout_ms)
    try:
        if args.if_empty and (held := client[settings.db_name][COLLECTION].estimated_document_count()):
            print(f"{settings.db_name}.{COLLECTION} already holds {held} compounds: nothing loaded (--if-empty)")
            return 0
        source = sys.stdin.buffer if args.file == "-" else Path(args.file)  # `-`: kubectl exec -i ... < file
        n = load_reference_csv(client[settings.db_name], source, replace=args.replace)
    except ReferenceLoadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except PyMongoError as exc:
        print(f"error: MongoDB at {settings.mongo_url_redacted}: {exc.__class__.__name__}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print(f"loaded {n} compounds into {settings.db_name}.{COLLECTION}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

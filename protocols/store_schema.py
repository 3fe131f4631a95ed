"""The run store's schema: its version (``PRAGMA user_version``), its tables, the typed
reading columns with their units, and the migrations from every older version.

A store is a file a lab keeps for years, so its layout is versioned. Opening a store of an
older version migrates it in one exclusive transaction (all or nothing); a store of a newer
version, or one whose tables are not the layout its version names (a column added by hand,
a table missing), is refused by name and left as it is (SQLite's ``user_version`` pragma:
https://www.sqlite.org/pragma.html#pragma_user_version).

Readings are rows of typed columns (SQLite REAL is an IEEE-754 double, so a float keeps
every bit), each with its unit in ``reading_columns``; what a reading holds beyond them
(a grid point's settings and results) goes to ``extra`` as JSON, which Python writes with
``repr``'s shortest exact digits. Non-finite floats go to ``extra`` too: SQLite stores NaN
as NULL.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1  # what this code writes; 0 is the unversioned store of spinhil <= 0.9


@dataclass(frozen=True)
class Column:
    """A typed reading column: its SQL type, unit (None: a count or a flag) and meaning."""

    name: str
    sql: str  # INTEGER, REAL or BOOLEAN (an INTEGER 0/1 that reads back as bool)
    unit: str | None
    meaning: str

    def store(self, value: Any) -> Any:
        """The value as the column holds it; raises TypeError/ValueError if it cannot."""
        if isinstance(value, str | bytes):
            raise TypeError(value)
        if self.sql == "BOOLEAN":
            if value not in (0, 1):  # True, False, numpy's bool_, 0 and 1
                raise ValueError(value)
            return int(bool(value))
        if self.sql == "INTEGER":
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            return int(value)
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(value)  # NaN would become NULL: kept in extra instead
        return number

    def load(self, value: Any) -> Any:
        """The value as the reading had it: SQLite's 0 and 1 back to bool in a BOOLEAN column."""
        return bool(value) if self.sql == "BOOLEAN" else value


READING_COLUMNS: tuple[Column, ...] = (
    Column("device", "INTEGER", None, "device behind the switch card"),
    Column("index", "INTEGER", None, "current's index in a sweep; point's index in a grid"),
    Column("iteration", "INTEGER", None, "cycle number at one current (sweep)"),
    Column("cycle", "INTEGER", None, "cycle number (endurance)"),
    Column("step", "INTEGER", None, "step of a hysteresis loop or a field sweep"),
    Column("current", "REAL", "A", "write current of the cycle or step"),
    Column("field", "REAL", "T", "in-plane field from the coil"),
    Column("r_after_reset", "REAL", "ohm", "R_AHE read after the reset pulse"),
    Column("r_after_write", "REAL", "ohm", "R_AHE read after the write pulse"),
    Column("r_ahe", "REAL", "ohm", "R_AHE read after the pulse (hysteresis)"),
    Column("r_up", "REAL", "ohm", "R_AHE of the +1 state (anisotropy)"),
    Column("r_down", "REAL", "ohm", "R_AHE of the -1 state (anisotropy)"),
    Column("switched", "BOOLEAN", None, "the write pulse switched the device"),
    Column("t", "REAL", "s", "wall-clock time, seconds since the Unix epoch"),
    Column("lab_t", "REAL", "s", "lab time since the run began, summed over its resumes "
           "(the virtual lab's clock)"),
)
TYPED = {c.name: c for c in READING_COLUMNS}
EXTRA = "extra"  # JSON object: every other value of a reading


def _reading_table() -> str:
    typed = ", ".join(f'"{c.name}" {"INTEGER" if c.sql == "BOOLEAN" else c.sql}'
                      + (' CHECK ("switched" IN (0, 1))' if c.sql == "BOOLEAN" else "")
                      for c in READING_COLUMNS)
    return ("CREATE TABLE readings (run_id INTEGER NOT NULL REFERENCES runs(id), "
            f"seq INTEGER NOT NULL, {typed}, {EXTRA} TEXT, PRIMARY KEY (run_id, seq))")


TABLES: dict[str, str] = {
    "runs": "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, "
            "status TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, "
            "seed INTEGER, code_version TEXT NOT NULL, host TEXT NOT NULL, "
            "pid INTEGER NOT NULL, config TEXT NOT NULL, result TEXT, owner TEXT, "
            "lease_until REAL, lab_seconds REAL)",
    "metrics": "CREATE TABLE metrics (run_id INTEGER NOT NULL REFERENCES runs(id), "
               "step INTEGER NOT NULL, name TEXT NOT NULL, value REAL NOT NULL, "
               "t REAL NOT NULL, PRIMARY KEY (run_id, step, name))",
    "checkpoints": "CREATE TABLE checkpoints (run_id INTEGER NOT NULL REFERENCES runs(id), "
                   "step INTEGER NOT NULL, data BLOB NOT NULL, t REAL NOT NULL, "
                   "PRIMARY KEY (run_id, step))",
    "readings": _reading_table(),
    "lab_states": "CREATE TABLE lab_states (run_id INTEGER PRIMARY KEY REFERENCES runs(id), "
                  "data TEXT NOT NULL)",
    "provenance": "CREATE TABLE provenance (run_id INTEGER PRIMARY KEY REFERENCES runs(id), "
                  "data TEXT NOT NULL)",
    "reading_columns": "CREATE TABLE reading_columns (name TEXT PRIMARY KEY, "
                       "type TEXT NOT NULL, unit TEXT, meaning TEXT NOT NULL)",
}
RUN_COLUMNS = ("id", "kind", "status", "created", "updated", "seed", "code_version", "host",
               "pid", "config", "result", "owner", "lease_until", "lab_seconds")
# version 0 (no user_version): the layout spinhil wrote before the schema had a version
LEGACY_COLUMNS = {
    "runs": RUN_COLUMNS[:11], "metrics": ("run_id", "step", "name", "value", "t"),
    "checkpoints": ("run_id", "step", "data", "t"),
    "readings": ("run_id", "seq", "t", "data"), "lab_states": ("run_id", "data"),
}


def expected_columns() -> dict[str, tuple[str, ...]]:
    """Every table of this version and its columns, in order."""
    typed = tuple(c.name for c in READING_COLUMNS)
    return {"runs": RUN_COLUMNS, "metrics": LEGACY_COLUMNS["metrics"],
            "checkpoints": LEGACY_COLUMNS["checkpoints"],
            "readings": ("run_id", "seq", *typed, EXTRA), "lab_states": ("run_id", "data"),
            "provenance": ("run_id", "data"),
            "reading_columns": ("name", "type", "unit", "meaning")}


class SchemaError(Exception):
    """The file's layout is not one this code knows (the message names what differs)."""


def table_columns(db: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """Each table's columns as the file holds them, to check an existing store's layout."""
    tables = [name for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    return {t: tuple(row[1] for row in db.execute(f'PRAGMA table_info("{t}")'))
            for t in tables}


def layout_mismatch(found: dict[str, tuple[str, ...]],
                    expected: dict[str, tuple[str, ...]]) -> str | None:
    """What differs between a file's tables and a version's layout (None: they agree;
    tables of other names are the user's own and left alone)."""
    for table, columns in expected.items():
        if table not in found:
            return f"table {table} is missing"
        extra = [c for c in found[table] if c not in columns]
        if extra:
            return f"table {table} has a column {extra[0]!r} that this version does not have"
        missing = [c for c in columns if c not in found[table]]
        if missing:
            return f"table {table} lacks its column {missing[0]!r}"
    return None


def create(db: sqlite3.Connection) -> None:
    """A new store of this version (inside the caller's transaction)."""
    for statement in TABLES.values():
        db.execute(statement)
    _catalogue(db)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _catalogue(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM reading_columns")
    db.executemany("INSERT INTO reading_columns VALUES (?, ?, ?, ?)",
                   [(c.name, c.sql, c.unit, c.meaning) for c in READING_COLUMNS]
                   + [(EXTRA, "JSON", None, "every other value of the reading")])


def migrate_0_to_1(db: sqlite3.Connection) -> None:
    """The unversioned store: lease and lab-time columns on ``runs``, the JSON readings
    rewritten into typed columns (their values unchanged), the column catalogue."""
    for column, sql in (("owner", "TEXT"), ("lease_until", "REAL"), ("lab_seconds", "REAL")):
        db.execute(f"ALTER TABLE runs ADD COLUMN {column} {sql}")
    if "provenance" not in table_columns(db):
        db.execute(TABLES["provenance"])
    db.execute("ALTER TABLE readings RENAME TO readings_v0")
    db.execute(TABLES["readings"])
    rows = db.execute("SELECT run_id, seq, t, data FROM readings_v0 ORDER BY run_id, seq")
    db.executemany(insert_reading_sql(), (
        reading_row(run_id, seq, {"t": t, **json.loads(data)}) for run_id, seq, t, data in rows))
    db.execute("DROP TABLE readings_v0")
    db.execute(TABLES["reading_columns"])
    _catalogue(db)


MIGRATIONS = {0: migrate_0_to_1}  # from version v to v + 1


def insert_reading_sql() -> str:
    """The INSERT for one reading: the typed columns, then the rest as JSON."""
    names = ", ".join(f'"{c.name}"' for c in READING_COLUMNS)
    marks = ", ".join("?" for _ in range(len(READING_COLUMNS) + 3))
    return f"INSERT INTO readings (run_id, seq, {names}, {EXTRA}) VALUES ({marks})"


def reading_row(run_id: int, seq: int, reading: dict[str, Any]) -> tuple:
    """One reading as a row: typed values where they fit their column, the rest as JSON."""
    values: list[Any] = []
    extra: dict[str, Any] = {k: v for k, v in reading.items() if k not in TYPED}
    for column in READING_COLUMNS:
        value = reading.get(column.name)
        if value is None:
            values.append(None)
            if column.name in reading:  # written as None (no reset read): read back so
                extra[column.name] = None
            continue
        try:
            values.append(column.store(value))
        except (TypeError, ValueError):
            values.append(None)
            extra[column.name] = value
    return (run_id, seq, *values, json.dumps(extra, default=_json_number) if extra else None)


def _json_number(value: Any) -> Any:
    """numpy scalars and arrays as Python numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-ready")


def select_readings_sql() -> str:
    """The SELECT that reads a run's readings back in the order they were written."""
    names = ", ".join(f'"{c.name}"' for c in READING_COLUMNS)
    return f"SELECT {names}, {EXTRA} FROM readings WHERE run_id=? ORDER BY seq"


def reading_dict(row: Iterable[Any]) -> dict[str, Any]:
    """A stored row back as the reading that was written."""
    *typed, extra = row
    out = {c.name: c.load(v) for c, v in zip(READING_COLUMNS, typed, strict=True)
           if v is not None}
    if extra:
        out.update(json.loads(extra))
    return out


def units() -> dict[str, str | None]:
    """Each typed reading column's unit (SI), for exports and ``hil runs show``."""
    return {c.name: c.unit for c in READING_COLUMNS}

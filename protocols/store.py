"""The run store: one SQLite database (WAL) in which every run is written as it happens.

A run row is created before the first measurement; metrics, readings and checkpoints are
committed one transaction each, so a run killed at any moment keeps everything up to the
last completed step (DESIGN.md: "a crash loses at most the cycle in flight"). A run whose
process died without finishing reads back as ``interrupted``. On the virtual lab the
devices' state (``lab_states``) is committed with each batch of readings, so a resumed run
continues from exactly where the recorded one stopped.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    seed INTEGER,
    code_version TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    config TEXT NOT NULL,
    result TEXT
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    t REAL NOT NULL,
    PRIMARY KEY (run_id, step, name)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL,
    data BLOB NOT NULL,
    t REAL NOT NULL,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS readings (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    seq INTEGER NOT NULL,
    t REAL NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS lab_states (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS provenance (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    data TEXT NOT NULL
);
"""
FINAL_STATUSES = ("finished", "unusable", "failed", "aborted")  # unusable: a graded-bad fit
KEEP_CHECKPOINTS = 2


class StoreError(RuntimeError):
    """The run store cannot be opened (a bad path, or a file that is not a run store)."""


def default_store_path() -> Path:
    """``$SPINHIL_HOME/runs.sqlite``, else the platform's user data directory
    (platformdirs: ``$XDG_DATA_HOME/spinhil`` or ``~/.local/share/spinhil`` on Linux)."""
    home = os.environ.get("SPINHIL_HOME")
    if home:
        return Path(home) / "runs.sqlite"
    from platformdirs import user_data_path

    return user_data_path("spinhil", appauthor=False) / "runs.sqlite"


def code_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("spinhil")
    except PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The checkout's commit (``+dirty`` with uncommitted changes) when the code runs from
    a git checkout; None from an installed package."""
    import subprocess

    source = Path(__file__).resolve().parent.parent
    if not (source / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=10, check=True)
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def provenance() -> dict[str, Any]:
    """What code made a run: package version, git commit (from a checkout), Python."""
    import platform

    return {"version": code_version(), "git_commit": git_commit(),
            "python": platform.python_version()}


@dataclass(frozen=True)
class Run:
    id: int
    kind: str
    status: str
    created: float
    updated: float
    seed: int | None
    code_version: str
    config: dict[str, Any]
    result: dict[str, Any] | None


class RunStore:
    def __init__(self, path: str | Path | None = None) -> None:
        """Open (or create) the store; a path that cannot hold it, or a file that is not
        a run store, is refused with ``StoreError`` and never overwritten."""
        self.path = Path(path) if path is not None else default_store_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the folder {self.path.parent}: "
                             f"{err.strerror}") from None
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as err:
            raise StoreError(f"cannot open {self.path}: {err}") from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as err:
            self._db.close()
            raise StoreError(f"{self.path} is not a spinhil run store ({err}); it was left "
                             "as it is: give another --store or SPINHIL_HOME, or move it "
                             "away") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- writing -------------------------------------------------------------------
    def create_run(self, kind: str, config: dict[str, Any], seed: int | None) -> int:
        now = time.time()
        with self._transaction() as db:
            cur = db.execute(
                "INSERT INTO runs (kind, status, created, updated, seed, code_version, host, pid,"
                " config) VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?)",
                (kind, now, now, seed, code_version(), socket.gethostname(), os.getpid(),
                 json.dumps(config, sort_keys=True)),
            )
            run_id = int(cur.lastrowid)
            db.execute("INSERT INTO provenance VALUES (?, ?)",
                       (run_id, json.dumps(provenance(), sort_keys=True)))
            return run_id

    def record_snapshot(self, run_id: int, snapshot: dict[str, Any]) -> None:
        """Every instrument's settings at the run's start (``Lab.snapshot``)."""
        with self._transaction() as db:
            (data,) = db.execute("SELECT COALESCE((SELECT data FROM provenance WHERE "
                                 "run_id=?), '{}')", (run_id,)).fetchone()
            info = {**json.loads(data), "instruments": snapshot}
            db.execute("INSERT OR REPLACE INTO provenance VALUES (?, ?)",
                       (run_id, json.dumps(info, sort_keys=True)))

    def provenance(self, run_id: int) -> dict[str, Any]:
        """Version, git commit and the instruments' snapshot of a run ({} for old runs)."""
        row = self._db.execute("SELECT data FROM provenance WHERE run_id=?",
                               (run_id,)).fetchone()
        return {} if row is None else json.loads(row[0])

    def claim(self, run_id: int) -> None:
        """Mark a run as running again in this process (resume)."""
        with self._transaction() as db:
            db.execute("UPDATE runs SET status='running', pid=?, host=?, updated=? WHERE id=?",
                       (os.getpid(), socket.gethostname(), time.time(), run_id))

    def log_metrics(self, run_id: int, step: int, values: dict[str, float]) -> None:
        now = time.time()
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, step, name, value, t) VALUES (?,?,?,?,?)",
                [(run_id, step, name, float(v), now) for name, v in values.items()],
            )
            db.execute("UPDATE runs SET updated=? WHERE id=?", (now, run_id))

    def save_checkpoint(self, run_id: int, step: int, data: bytes) -> None:
        """Store a checkpoint and drop all but the latest ``KEEP_CHECKPOINTS``."""
        now = time.time()
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?,?,?,?)",
                       (run_id, step, sqlite3.Binary(data), now))
            db.execute(
                "DELETE FROM checkpoints WHERE run_id=? AND step NOT IN (SELECT step FROM "
                "checkpoints WHERE run_id=? ORDER BY step DESC LIMIT ?)",
                (run_id, run_id, KEEP_CHECKPOINTS),
            )
            db.execute("UPDATE runs SET updated=? WHERE id=?", (now, run_id))

    def append_readings(self, run_id: int, readings: Iterable[dict[str, Any]],
                        lab_state: dict[str, Any] | None = None) -> None:
        """Readings, and the lab's state after them, in one transaction."""
        now = time.time()
        with self._transaction() as db:
            (start,) = db.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM readings WHERE run_id=?",
                                  (run_id,)).fetchone()
            db.executemany("INSERT INTO readings VALUES (?,?,?,?)",
                           [(run_id, start + i, r.get("t", now), json.dumps(r))
                            for i, r in enumerate(readings)])
            self._put_lab_state(db, run_id, lab_state)

    def update_config(self, run_id: int, config: dict[str, Any],
                      lab_state: dict[str, Any] | None = None) -> None:
        """A setting fixed while the run goes (a sweep's currents), with the lab's state."""
        with self._transaction() as db:
            db.execute("UPDATE runs SET config=?, updated=? WHERE id=?",
                       (json.dumps(config, sort_keys=True), time.time(), run_id))
            self._put_lab_state(db, run_id, lab_state)

    @staticmethod
    def _put_lab_state(db: sqlite3.Connection, run_id: int, state: dict | None) -> None:
        if state is not None:
            db.execute("INSERT OR REPLACE INTO lab_states VALUES (?, ?)",
                       (run_id, json.dumps(state)))

    def finish(self, run_id: int, status: str, result: dict[str, Any] | None = None) -> None:
        if status not in FINAL_STATUSES:
            raise ValueError(f"status = {status!r} is not one of {FINAL_STATUSES}")
        with self._transaction() as db:
            db.execute("UPDATE runs SET status=?, result=?, updated=? WHERE id=?",
                       (status, None if result is None else json.dumps(result), time.time(),
                        run_id))

    # -- reading -------------------------------------------------------------------
    def _run_from_row(self, row: tuple) -> Run:
        (run_id, kind, status, created, updated, seed, version, host, pid, config, result) = row
        if status == "running" and host == socket.gethostname() and not _pid_alive(pid):
            status = "interrupted"
        return Run(run_id, kind, status, created, updated, seed, version, json.loads(config),
                   None if result is None else json.loads(result))

    def get_run(self, run_id: int) -> Run:
        row = self._db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"run {run_id} is not in the store {self.path}")
        return self._run_from_row(row)

    def list_runs(self) -> list[Run]:
        return [self._run_from_row(r) for r in self._db.execute("SELECT * FROM runs ORDER BY id")]

    def metrics(self, run_id: int) -> dict[str, list[tuple[int, float]]]:
        out: dict[str, list[tuple[int, float]]] = {}
        for step, name, value in self._db.execute(
            "SELECT step, name, value FROM metrics WHERE run_id=? ORDER BY step", (run_id,)
        ):
            out.setdefault(name, []).append((step, value))
        return out

    def latest_checkpoint(self, run_id: int) -> tuple[int, bytes] | None:
        row = self._db.execute(
            "SELECT step, data FROM checkpoints WHERE run_id=? ORDER BY step DESC LIMIT 1",
            (run_id,),
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def lab_state(self, run_id: int) -> dict[str, Any] | None:
        row = self._db.execute("SELECT data FROM lab_states WHERE run_id=?",
                               (run_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def readings(self, run_id: int) -> list[dict[str, Any]]:
        return [json.loads(d) for (d,) in self._db.execute(
            "SELECT data FROM readings WHERE run_id=? ORDER BY seq", (run_id,))]

    def export_csv(self, run_id: int, out: IO[str]) -> None:
        """Per-step metrics as CSV (one row per step, one column per metric); a run with
        raw readings exports those instead."""
        readings = self.readings(run_id)
        writer = csv.writer(out)
        if readings:
            columns = sorted({k for r in readings for k in r})
            writer.writerow(columns)
            writer.writerows([[r.get(c, "") for c in columns] for r in readings])
            return
        metrics = self.metrics(run_id)
        names = sorted(metrics)
        steps = sorted({s for series in metrics.values() for s, _ in series})
        table = {n: dict(metrics[n]) for n in names}
        writer.writerow(["step", *names])
        writer.writerows([[s, *[table[n].get(s, "") for n in names]] for s in steps])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

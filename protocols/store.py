"""The run store: one SQLite database (WAL) in which every run is written as it happens.

Every run goes through one lifecycle, :meth:`RunStore.run` (QCoDeS's ``meas.run()``
habit)::

    with store.run("sweep", config, seed=0) as run:        # or resume=RUN_ID
        run.snapshot(lab.snapshot())                        # every instrument's settings
        run.append_readings(rows, lab_state)                # as they come
        run.result = summary                                # finished, with its summary

It creates the run (or claims a killed one, refusing one that is live: see
``protocols.store_lease``), records what made it (code version, git commit, the
instruments' snapshot at each start), sums its lab time over resumes, and finishes it with
the status its exit deserves: ``finished`` (or ``unusable``, a graded-bad fit), ``failed``
on an error, ``aborted`` on Ctrl-C, a stop signal or :class:`RunAborted`.

Metrics, readings and checkpoints are committed one transaction each, so a run killed at
any moment keeps everything up to the last completed step (DESIGN.md: "a crash loses at
most the cycle in flight"); a run whose process died reads back as ``interrupted``. On the
virtual lab the devices' state (``lab_states``) is committed with each batch of readings,
so a resumed run continues from exactly where the recorded one stopped. The file's layout
is versioned (``protocols.store_schema``); every fault of the file (a full disk, a
read-only file, a store of another version) is a :class:`StoreError` of one line that names
the file, what was being written and what was kept.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from protocols import store_schema as schema
from protocols.errors import ConfigError
from protocols.store_lease import (
    LEASE_SECONDS,
    Heartbeat,
    Holder,
    hold_in_process,
    live_holder,
    release_in_process,
    this_process,
)

FINAL_STATUSES = ("finished", "unusable", "failed", "aborted")  # unusable: a graded-bad fit
DONE_STATUSES = ("finished", "unusable")  # a run with its result: never resumed
KEEP_CHECKPOINTS = 2
# SQLite's primary result codes (https://www.sqlite.org/rescode.html) as the user reads them
SQLITE_REASONS = {5: "another process held it locked for 30 s",
                  6: "another process held it locked for 30 s",
                  8: "the file is read-only", 10: "the disk reported an I/O error",
                  11: "the file is damaged", 13: "the disk is full",
                  14: "the file cannot be opened", 26: "it is not a database"}


class StoreError(RuntimeError):
    """The run store cannot be opened or written: one line naming the file, what failed and
    what was kept."""


class RunInUse(StoreError):
    """The run is live in another process (or on another host): it is not taken over."""


class RunAborted(Exception):
    """Raised between two batches of readings to stop a run on the user's request (the run
    is kept, with status ``aborted``; the run's context sets ``run_id`` to its id)."""

    run_id: int | None = None


def default_store_path() -> Path:
    """``$SPINHIL_HOME/runs.sqlite``, else the platform's user data directory
    (platformdirs: ``$XDG_DATA_HOME/spinhil`` or ``~/.local/share/spinhil`` on Linux)."""
    home = os.environ.get("SPINHIL_HOME")
    if home:
        return Path(home) / "runs.sqlite"
    from platformdirs import user_data_path

    return user_data_path("spinhil", appauthor=False) / "runs.sqlite"


def code_version() -> str:
    """The installed spinhil version, recorded with every run ("unknown" from a bare checkout)."""
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
    """What code made a run: package version, git commit (from a checkout), Python and the
    numerical libraries' versions."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    libraries = {}
    for name in ("numpy", "scipy", "torch", "pyvisa", "pymeasure"):
        try:
            libraries[name] = version(name)
        except PackageNotFoundError:
            continue
    return {"version": code_version(), "git_commit": git_commit(),
            "python": platform.python_version(), "libraries": libraries,
            "schema_version": schema.SCHEMA_VERSION}


@dataclass(frozen=True)
class Run:
    """A run as stored: ``status`` reads ``interrupted`` for a ``running`` run that nobody
    holds any more (its process gone, or its lease expired); ``holder`` names who holds a
    live one; ``lab_seconds`` is its lab time summed over its resumes."""

    id: int
    kind: str
    status: str
    created: float
    updated: float
    seed: int | None
    code_version: str
    config: dict[str, Any]
    result: dict[str, Any] | None
    lab_seconds: float | None = None
    holder: str | None = None


def _stop_reason(err: BaseException) -> str:
    signum = getattr(err, "signum", signal.SIGINT)
    return ("interrupted (SIGINT)" if signum == signal.SIGINT
            else f"stopped by {signal.Signals(signum).name}")


class RunStore:
    """The run store file: runs, their metrics, readings, checkpoints and provenance.
    ``lease_seconds``: how long a live run's lease lasts without a heartbeat."""

    PRAGMAS: tuple[str, ...] = ("journal_mode=WAL", "synchronous=NORMAL")
    lease_seconds: float = LEASE_SECONDS

    def __init__(self, path: str | Path | None = None) -> None:
        """Open (or create) the store, migrating an older version; a path that cannot hold
        it, a file that is not a run store, or a store of a version this code does not
        know is refused with ``StoreError`` and never changed. A read-only file opens for
        reading; writing to it is refused."""
        self.path = Path(path) if path is not None else default_store_path()
        self.read_only = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreError(f"cannot create the folder {self.path.parent}: "
                             f"{err.strerror}") from None
        self._db = self._connect()
        try:
            self._prepare()
        except BaseException:
            self._db.close()
            raise

    # -- opening -------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            db.execute("PRAGMA user_version").fetchone()
            return db
        except sqlite3.Error as err:
            if _code(err) in (11, 26):
                raise self._not_a_store(err) from None
            if _code(err) != 14 or not self.path.exists() or not _on_read_only_disk(self.path):
                raise self._error(err, "opening it", "nothing was changed") from None
        # a WAL store on a read-only disk: nobody can write it, so it is read as immutable
        self.read_only = True
        uri = f"file:{self.path.resolve()}?mode=ro&immutable=1"
        return sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)

    def _prepare(self) -> None:
        """Pragmas, then the schema: created, migrated, or checked against its version."""
        if not self.read_only and self.path.exists() and not os.access(self.path, os.W_OK):
            self.read_only = True
        for pragma in self.PRAGMAS:
            try:
                self._db.execute(f"PRAGMA {pragma}").fetchall()
            except sqlite3.Error as err:
                if _code(err) == 8:
                    self.read_only = True
                    continue
                raise self._error(err, f"setting PRAGMA {pragma}") from None
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            found = schema.table_columns(self._db)
        except sqlite3.DatabaseError as err:
            raise self._not_a_store(err) from None
        if version > schema.SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} is a run store of schema version {version}, newer than this "
                f"spinhil ({code_version()}) knows (up to {schema.SCHEMA_VERSION}): open it "
                "with the spinhil that wrote it; it was left as it is")
        if version == schema.SCHEMA_VERSION:
            self._refuse_other_layout(found, schema.expected_columns(), version)
            return
        if version == 0 and not found:
            self._write_schema(lambda db: schema.create(db), "creating its tables")
            return
        if version == 0:
            self._refuse_other_layout(found, schema.LEGACY_COLUMNS, version)
        self._write_schema(lambda db: self._migrate(db, version), "migrating it from schema "
                           f"version {version} to {schema.SCHEMA_VERSION}")

    def _not_a_store(self, err: sqlite3.Error) -> StoreError:
        return StoreError(f"{self.path} is not a spinhil run store ({err}); it was left as it "
                          "is: give another --store or SPINHIL_HOME, or move it away")

    def _refuse_other_layout(self, found, expected, version: int) -> None:
        mismatch = schema.layout_mismatch(found, expected)
        if mismatch is not None:
            raise StoreError(f"{self.path} is not a spinhil run store of schema version "
                             f"{version}: {mismatch}; it was left as it is")

    def _write_schema(self, change: Callable[[sqlite3.Connection], None], doing: str) -> None:
        if self.read_only:
            raise StoreError(f"{self.path} is read-only and needs {doing} before this "
                             "spinhil can use it: nothing was changed; make it writable")
        with self._transaction(doing, "nothing was changed", begin="EXCLUSIVE") as db:
            if db.execute("PRAGMA user_version").fetchone()[0] != schema.SCHEMA_VERSION:
                change(db)  # (unless another process has done it meanwhile)

    @staticmethod
    def _migrate(db: sqlite3.Connection, version: int) -> None:
        for step in range(version, schema.SCHEMA_VERSION):
            schema.MIGRATIONS[step](db)
        db.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")

    def close(self) -> None:
        """Close the store's connection to the SQLite file."""
        self._db.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- faults --------------------------------------------------------------------
    def _error(self, err: sqlite3.Error, doing: str, kept: str = "") -> StoreError:
        """One line: the file, what it was doing, SQLite's reason, what was kept."""
        why = SQLITE_REASONS.get(_code(err), "SQLite failed")
        return StoreError(f"{self.path}: {why} ({err}) while {doing}: "
                          + (kept or "nothing of that step was written"))

    def check_writable(self, doing: str) -> None:
        """Refuse ``doing`` now if the file cannot be written (before any instrument is
        touched for a run that could not be recorded)."""
        if self.read_only:
            raise StoreError(f"{self.path}: the file is read-only, so {doing} was "
                             "refused: nothing was written; give a writable --store")

    @contextmanager
    def _transaction(self, doing: str, kept: str = "",
                     begin: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        self.check_writable(doing)
        try:
            self._db.execute(f"BEGIN {begin}")
        except sqlite3.Error as err:
            raise self._error(err, doing, kept) from None
        try:
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as err:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(err, sqlite3.Error):
                raise self._error(err, doing, kept) from None
            raise

    def _own(self, db: sqlite3.Connection, run_id: int, lab_seconds: float | None = None,
             **values: Any) -> None:
        """Mark ``run_id`` as written now (and renew its lease), only if this process holds
        it and it is still running; else refuse the write, naming who holds the run."""
        now = time.time()
        columns = {"updated": now, "lease_until": now + self.lease_seconds, **values}
        sets = ", ".join(f"{k}=?" for k in columns)
        cur = db.execute(f"UPDATE runs SET {sets}, lab_seconds=COALESCE(?, lab_seconds) "
                         "WHERE id=? AND owner=? AND status='running'",
                         (*columns.values(), lab_seconds, run_id, this_process()))
        if cur.rowcount == 1:
            return
        row = db.execute("SELECT status, owner, host, pid FROM runs WHERE id=?",
                         (run_id,)).fetchone()
        if row is None:
            raise StoreError(f"{self.path}: run {run_id} is not in it: nothing "
                             "was written")
        status, owner, host, pid = row
        if status != "running":
            raise StoreError(f"{self.path}: run {run_id} is {status}: nothing more "
                             "is written to it")
        raise RunInUse(f"{self.path}: run {run_id} is held by "
                       f"{Holder.parse(owner, host, pid)}, not by this process: nothing was "
                       "written (it was taken over after this process's lease lapsed)")

    # -- the lifecycle ---------------------------------------------------------------
    @contextmanager
    def run(self, kind: str, config: dict[str, Any] | None = None, *, seed: int | None = None,
            resume: int | None = None, reopen: bool = False) -> Iterator[ActiveRun]:
        """The one lifecycle of a run: create it (or, with ``resume``, claim the unfinished
        run ``resume``: refused while another process holds it; ``reopen``: a finished one
        too, for a grid that only fills in what is missing), hold its lease while the block
        runs, and finish it with the status the block's exit deserves; a RunAborted or
        KeyboardInterrupt on its way out carries the run's id as ``run_id``."""
        active = self._claim(kind, resume, reopen) if resume is not None else \
            self._create(kind, config or {}, seed)
        heartbeat = Heartbeat(self.path, active.id, this_process(), self.lease_seconds)
        heartbeat.start()
        active.heartbeat = heartbeat
        try:
            yield active
        except RunAborted as err:
            err.run_id = active.id
            # a stop with a reason (a suspender's) keeps it; the user's own reads as such
            self._finish_quietly(active, "aborted", {"error": str(err) or "aborted by the user"})
            raise
        except KeyboardInterrupt as err:
            err.run_id = active.id  # type: ignore[attr-defined]  # for the line the user reads
            self._finish_quietly(active, "aborted", {"error": _stop_reason(err)})
            raise
        except BaseException as err:
            self._finish_quietly(active, "failed", {"error": repr(err)})
            raise
        else:
            result = active.result
            if active.closing is not None:
                result = {**(result or {}), **active.closing()}
            active.finish(active.status or "finished", result)
        finally:
            heartbeat.stop()
            release_in_process(str(self.path), active.id)

    def _finish_quietly(self, active: ActiveRun, status: str, result: dict) -> None:
        """Finish a run on its way out of an error, with what ``closing`` adds; a store
        that cannot take it (a full disk) leaves the run to read as interrupted, resumable,
        and the first error stands (an error in ``closing`` too)."""
        if active.closing is not None:
            with suppress(Exception):
                result = {**active.closing(), **result}
        with suppress(StoreError):
            active.finish(status, result)

    def _create(self, kind: str, config: dict[str, Any], seed: int | None) -> ActiveRun:
        run_id = self.create_run(kind, config, seed)
        return ActiveRun(self, run_id, kind, config, resumed=False)

    def _claim(self, kind: str, run_id: int, reopen: bool = False) -> ActiveRun:
        run = self.get_run(run_id, field="resume")
        if run.kind != kind:
            raise ConfigError("resume", f"run {run_id} is a {run.kind} run, not a {kind} run")
        if run.status in DONE_STATUSES and not reopen:
            raise ConfigError("resume", f"run {run_id} is a {run.status} {run.kind} run; only "
                              "an unfinished run can be resumed")
        self.claim(run_id)
        return ActiveRun(self, run_id, kind, run.config, resumed=True,
                         lab_seconds=run.lab_seconds)

    # -- writing -------------------------------------------------------------------
    def create_run(self, kind: str, config: dict[str, Any], seed: int | None) -> int:
        """A new ``running`` run held by this process (prefer :meth:`run`, which also
        finishes it)."""
        now = time.time()
        with self._transaction(f"creating a {kind} run") as db:
            cur = db.execute(
                "INSERT INTO runs (kind, status, created, updated, seed, code_version, host, pid,"
                " config, owner, lease_until) VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, now, now, seed, code_version(), socket.gethostname(), os.getpid(),
                 json.dumps(config, sort_keys=True), this_process(), now + self.lease_seconds),
            )
            run_id = int(cur.lastrowid)
            db.execute("INSERT INTO provenance VALUES (?, ?)",
                       (run_id, json.dumps({**provenance(), "starts": [_start()]},
                                           sort_keys=True)))
        hold_in_process(str(self.path), run_id)
        return run_id

    def claim(self, run_id: int) -> None:
        """Take over an unfinished run in this process (resume): refused with
        :class:`RunInUse` while its process lives or its lease holds."""
        taken = False
        try:
            with self._transaction(f"claiming run {run_id}") as db:
                row = db.execute("SELECT status, owner, host, pid, lease_until FROM runs "
                                 "WHERE id=?", (run_id,)).fetchone()
                if row is None:
                    raise ConfigError("resume", f"run {run_id} is not in the store {self.path}")
                status, owner, host, pid, lease_until = row
                holder = live_holder(str(self.path), run_id, status, owner, host, pid,
                                     lease_until)
                if holder is None and owner != this_process():  # a mark from before the run
                    release_in_process(str(self.path), run_id)  # was another's: stale
                if holder is not None or not hold_in_process(str(self.path), run_id):
                    raise RunInUse(_live_message(run_id, holder, lease_until))
                taken = True
                self._take_over(db, run_id)
        except BaseException:
            if taken:
                release_in_process(str(self.path), run_id)
            raise

    def _take_over(self, db: sqlite3.Connection, run_id: int) -> None:
        now = time.time()
        db.execute("UPDATE runs SET status='running', pid=?, host=?, owner=?, updated=?, "
                   "lease_until=? WHERE id=?",
                   (os.getpid(), socket.gethostname(), this_process(), now,
                    now + self.lease_seconds, run_id))
        self._merge_provenance(db, run_id, lambda info: {
            **info, "starts": [*info.get("starts", []), _start(resumed=True)]})

    def _merge_provenance(self, db: sqlite3.Connection, run_id: int,
                          change: Callable[[dict], dict]) -> None:
        (data,) = db.execute("SELECT COALESCE((SELECT data FROM provenance WHERE run_id=?), "
                             "'{}')", (run_id,)).fetchone()
        db.execute("INSERT OR REPLACE INTO provenance VALUES (?, ?)",
                   (run_id, json.dumps(change(json.loads(data)), sort_keys=True,
                                       default=schema._json_number)))

    def describe(self, run_id: int, **info: Any) -> None:
        """Add what a run ran on to its provenance (lab file, devices and their
        calibrations, data split, seeds ...), key by key."""
        with self._transaction(f"describing run {run_id}") as db:
            self._own(db, run_id)
            self._merge_provenance(db, run_id, lambda old: {**old, **info})

    def record_snapshot(self, run_id: int, snapshot: dict[str, Any]) -> None:
        """Every instrument's settings at the run's start (``Lab.snapshot``); a resumed run
        keeps its first snapshot and adds each later one to its start."""
        def change(info: dict) -> dict:
            starts = info.get("starts") or [{}]
            starts[-1] = {**starts[-1], "instruments": snapshot}
            return {**info, "instruments": info.get("instruments", snapshot),
                    "starts": starts}

        with self._transaction(f"recording run {run_id}'s instrument snapshot") as db:
            self._own(db, run_id)
            self._merge_provenance(db, run_id, change)

    def log_metrics(self, run_id: int, step: int, values: dict[str, float],
                    lab_seconds: float | None = None) -> None:
        """Write step ``step``'s metrics of a run this process holds (a step written again replaces
        its values), with the run's lab time so far."""
        now = time.time()
        with self._transaction(f"writing step {step}'s metrics of run {run_id}",
                               _kept(run_id)) as db:
            self._own(db, run_id, lab_seconds)
            db.executemany(
                "INSERT OR REPLACE INTO metrics (run_id, step, name, value, t) VALUES (?,?,?,?,?)",
                [(run_id, step, name, float(v), now) for name, v in values.items()],
            )

    def save_checkpoint(self, run_id: int, step: int, data: bytes,
                        lab_seconds: float | None = None) -> None:
        """Store a checkpoint and drop all but the latest ``KEEP_CHECKPOINTS``."""
        now = time.time()
        with self._transaction(f"writing step {step}'s checkpoint of run {run_id}",
                               _kept(run_id)) as db:
            self._own(db, run_id, lab_seconds)
            db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?,?,?,?)",
                       (run_id, step, sqlite3.Binary(data), now))
            db.execute(
                "DELETE FROM checkpoints WHERE run_id=? AND step NOT IN (SELECT step FROM "
                "checkpoints WHERE run_id=? ORDER BY step DESC LIMIT ?)",
                (run_id, run_id, KEEP_CHECKPOINTS),
            )

    def append_readings(self, run_id: int, readings: Iterable[dict[str, Any]],
                        lab_state: dict[str, Any] | None = None,
                        lab_seconds: float | None = None) -> None:
        """Readings, and the lab's state after them, in one transaction."""
        readings = list(readings)
        now = time.time()
        with self._transaction(f"writing {len(readings)} readings of run {run_id}",
                               _kept(run_id)) as db:
            self._own(db, run_id, lab_seconds)
            (start,) = db.execute("SELECT COALESCE(MAX(seq) + 1, 0) FROM readings WHERE run_id=?",
                                  (run_id,)).fetchone()
            db.executemany(schema.insert_reading_sql(),
                           [schema.reading_row(run_id, start + i, {"t": now, **r})
                            for i, r in enumerate(readings)])
            self._put_lab_state(db, run_id, lab_state)

    def update_config(self, run_id: int, config: dict[str, Any],
                      lab_state: dict[str, Any] | None = None) -> None:
        """A setting fixed while the run goes (a sweep's currents), with the lab's state."""
        with self._transaction(f"updating run {run_id}'s settings", _kept(run_id)) as db:
            self._own(db, run_id, config=json.dumps(config, sort_keys=True))
            self._put_lab_state(db, run_id, lab_state)

    @staticmethod
    def _put_lab_state(db: sqlite3.Connection, run_id: int, state: dict | None) -> None:
        if state is not None:
            db.execute("INSERT OR REPLACE INTO lab_states VALUES (?, ?)",
                       (run_id, json.dumps(state, default=schema._json_number)))

    def finish(self, run_id: int, status: str, result: dict[str, Any] | None = None,
               lab_seconds: float | None = None) -> None:
        """End a run this process holds with one of ``FINAL_STATUSES`` and its result (JSON), and
        release its lease so no one takes it for a live run."""
        if status not in FINAL_STATUSES:
            raise ValueError(f"status = {status!r} is not one of {FINAL_STATUSES}")
        text = None if result is None else json.dumps(result, default=schema._json_number)
        with self._transaction(f"finishing run {run_id} as {status}",
                               _kept(run_id) + "; its result was not stored") as db:
            self._own(db, run_id, lab_seconds, status=status, result=text)
            db.execute("UPDATE runs SET lease_until=NULL WHERE id=?", (run_id,))
        release_in_process(str(self.path), run_id)

    # -- reading -------------------------------------------------------------------
    def _run_from_row(self, row: tuple) -> Run:
        values = dict(zip(schema.RUN_COLUMNS, row, strict=True))
        status, holder = values["status"], None
        if status == "running":
            live = live_holder(str(self.path), values["id"], status, values["owner"],
                               values["host"], values["pid"], values["lease_until"])
            status, holder = ("interrupted", None) if live is None else ("running", str(live))
        return Run(values["id"], values["kind"], status, values["created"], values["updated"],
                   values["seed"], values["code_version"], json.loads(values["config"]),
                   None if values["result"] is None else json.loads(values["result"]),
                   values["lab_seconds"], holder)

    def _select_runs(self, where: str = "", args: tuple = ()) -> list[Run]:
        columns = ", ".join(schema.RUN_COLUMNS)
        try:
            rows = self._db.execute(f"SELECT {columns} FROM runs {where} ORDER BY id",
                                    args).fetchall()
        except sqlite3.Error as err:
            raise self._error(err, "reading its runs", "nothing was changed") from None
        return [self._run_from_row(r) for r in rows]

    def get_run(self, run_id: int, field: str | None = None) -> Run:
        """Run ``run_id``; an unknown id is a KeyError (with ``field``: bad input in it)."""
        found = self._select_runs("WHERE id=?", (run_id,))
        if not found:
            message = f"run {run_id} is not in the store {self.path}"
            if field is not None:
                raise ConfigError(field, message)
            raise KeyError(message)
        return found[0]

    def list_runs(self) -> list[Run]:
        """Every run in the store, by id (a running run whose holder has gone reads
        ``interrupted``)."""
        return self._select_runs()

    def provenance(self, run_id: int) -> dict[str, Any]:
        """What a run ran on: code version and commit, each start with its instruments'
        snapshot, and what its recorder described ({} for runs older than provenance)."""
        row = self._db.execute("SELECT data FROM provenance WHERE run_id=?",
                               (run_id,)).fetchone()
        return {} if row is None else json.loads(row[0])

    def metrics(self, run_id: int) -> dict[str, list[tuple[int, float]]]:
        """A run's metrics by name: (step, value) pairs in step order."""
        out: dict[str, list[tuple[int, float]]] = {}
        for step, name, value in self._db.execute(
            "SELECT step, name, value FROM metrics WHERE run_id=? ORDER BY step", (run_id,)
        ):
            out.setdefault(name, []).append((step, value))
        return out

    def latest_checkpoint(self, run_id: int) -> tuple[int, bytes] | None:
        """(step, data) of a run's newest checkpoint, or None: where a resumed run goes on."""
        row = self._db.execute(
            "SELECT step, data FROM checkpoints WHERE run_id=? ORDER BY step DESC LIMIT 1",
            (run_id,),
        ).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def lab_state(self, run_id: int) -> dict[str, Any] | None:
        """The virtual lab's state recorded with a run's last write (JSON), or None: what a resumed
        run restores its devices to."""
        row = self._db.execute("SELECT data FROM lab_states WHERE run_id=?",
                               (run_id,)).fetchone()
        return None if row is None else json.loads(row[0])

    def readings(self, run_id: int) -> list[dict[str, Any]]:
        """Every reading of a run as it was written (typed columns and the rest)."""
        return [schema.reading_dict(row) for row in
                self._db.execute(schema.select_readings_sql(), (run_id,))]

    def reading_units(self) -> dict[str, str | None]:
        """Each typed reading column's unit (None: a count, an index or a flag)."""
        return {name: unit for name, unit in
                self._db.execute("SELECT name, unit FROM reading_columns")}

    def to_pandas(self, run_id: int, table: str = "readings"):
        """A run's readings (one row each, typed columns, units in ``.attrs["units"]``) or
        its metrics (``table="metrics"``: one row per step) as a pandas DataFrame."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("RunStore.to_pandas needs pandas: pip install pandas") from None
        if table == "metrics":
            series = self.metrics(run_id)
            frame = pd.DataFrame({name: dict(values) for name, values in series.items()})
            frame.index.name = "step"
            return frame
        if table != "readings":
            raise ValueError(f"table = {table!r} is not one of readings, metrics")
        readings = self.readings(run_id)
        frame = pd.DataFrame.from_records(readings)
        for name, column in schema.TYPED.items():
            if name in frame and column.sql == "INTEGER" and not frame[name].isna().any():
                frame[name] = frame[name].astype("int64")
        units = self.reading_units()
        frame.attrs["units"] = {c: units.get(c) for c in frame.columns}
        return frame

    def export_csv(self, run_id: int, out: IO[str]) -> None:
        """Per-step metrics as CSV (one row per step, one column per metric); a run with
        raw readings exports those instead, each typed column headed with its unit
        (``current (A)``); values are written in full precision."""
        readings = self.readings(run_id)
        writer = csv.writer(out)
        if readings:
            units = self.reading_units()
            columns = sorted({k for r in readings for k in r})
            writer.writerow([f"{c} ({units[c]})" if units.get(c) else c for c in columns])
            writer.writerows([[r.get(c, "") for c in columns] for r in readings])
            return
        metrics = self.metrics(run_id)
        names = sorted(metrics)
        steps = sorted({s for series in metrics.values() for s, _ in series})
        table = {n: dict(metrics[n]) for n in names}
        writer.writerow(["step", *names])
        writer.writerows([[s, *[table[n].get(s, "") for n in names]] for s in steps])


class ActiveRun:
    """A run being recorded (what ``RunStore.run`` yields): its writes go to the store as
    this process's, with the run's lab time so far. ``status`` and ``result`` are what the
    run finishes with when its block ends normally (default ``finished``)."""

    def __init__(self, store: RunStore, run_id: int, kind: str, config: dict[str, Any],
                 resumed: bool, lab_seconds: float | None = None) -> None:
        self.store, self.id, self.kind, self.config = store, run_id, kind, config
        self.resumed = resumed
        self.status: str | None = None
        self.result: dict[str, Any] | None = None
        # what the run adds to its result however it ends (a failed run too): pulses per
        # device, the burst measured on the rig
        self.closing: Callable[[], dict[str, Any]] | None = None
        self.heartbeat: Heartbeat | None = None
        self.recorded_lab_seconds = lab_seconds  # as stored when the run (re)started
        self._clock = None
        self._clock_start = 0.0
        self._lab_seconds: Callable[[], float | None] | None = None

    # -- lab time, summed over resumes --------------------------------------------------
    def watch_clock(self, clock) -> None:
        """Count the lab time on ``clock`` (``now()``) from here on, after what the run
        recorded before it was resumed."""
        if clock is not None:
            self._clock, self._clock_start = clock, clock.now()

    def watch_lab_seconds(self, total: Callable[[], float | None]) -> None:
        """Take the run's lab time from ``total()`` (a trainer's banks, which carry the
        time of earlier starts in their checkpointed state)."""
        self._lab_seconds = total

    @property
    def lab_seconds(self) -> float | None:
        """The run's lab time so far (s), summed over its starts: from the watched total or clock,
        else as recorded; None when nothing measures it."""
        if self._lab_seconds is not None:
            return self._lab_seconds()
        if self._clock is None:
            return self.recorded_lab_seconds
        return (self.recorded_lab_seconds or 0.0) + self._clock.now() - self._clock_start

    def lab_time(self, instant: float | None) -> float | None:
        """An instant of the watched clock as lab time since the run began."""
        if instant is None or self._clock is None:
            return instant
        return (self.recorded_lab_seconds or 0.0) + instant - self._clock_start

    # -- writes ----------------------------------------------------------------------
    def describe(self, **info: Any) -> None:
        """Add ``info`` to what the run's provenance says it ran on (``RunStore.describe``)."""
        self.store.describe(self.id, **info)

    def snapshot(self, instruments: dict[str, Any]) -> None:
        """Record every instrument's settings at this start (``RunStore.record_snapshot``)."""
        self.store.record_snapshot(self.id, instruments)

    def log_metrics(self, step: int, values: dict[str, float]) -> None:
        """Write step ``step``'s metrics, with the lab time so far (``RunStore.log_metrics``)."""
        self.store.log_metrics(self.id, step, values, self.lab_seconds)

    def save_checkpoint(self, step: int, data: bytes) -> None:
        """Store a checkpoint of step ``step``, with the lab time so far
        (``RunStore.save_checkpoint``)."""
        self.store.save_checkpoint(self.id, step, data, self.lab_seconds)

    def append_readings(self, readings: Iterable[dict[str, Any]],
                        lab_state: dict[str, Any] | None = None) -> None:
        """Write readings, their lab instants as lab time since the run began, and the lab's state
        after them, in one transaction (``RunStore.append_readings``)."""
        rows = [{**r, "lab_t": self.lab_time(r["lab_t"])} if r.get("lab_t") is not None
                else r for r in readings]
        self.store.append_readings(self.id, rows, lab_state, self.lab_seconds)

    def update_config(self, config: dict[str, Any], lab_state: dict | None = None) -> None:
        """Replace the run's settings with ``config`` (a setting fixed on the way) in memory and in
        the store, with the lab's state."""
        self.config = config
        self.store.update_config(self.id, config, lab_state)

    def finish(self, status: str, result: dict[str, Any] | None = None) -> None:
        """End the run with ``status`` and ``result`` and the lab time so far
        (``RunStore.finish``)."""
        self.store.finish(self.id, status, result, self.lab_seconds)

    # -- reads -----------------------------------------------------------------------
    def readings(self) -> list[dict[str, Any]]:
        """Every reading the run has written so far (``RunStore.readings``)."""
        return self.store.readings(self.id)

    def lab_state(self) -> dict[str, Any] | None:
        """The virtual lab's state as last recorded for this run (``RunStore.lab_state``)."""
        return self.store.lab_state(self.id)

    def latest_checkpoint(self) -> tuple[int, bytes] | None:
        """(step, data) of the run's newest checkpoint, or None (``RunStore.latest_checkpoint``)."""
        return self.store.latest_checkpoint(self.id)


def _live_message(run_id: int, holder: Holder | None, lease_until: float | None) -> str:
    holder = holder or Holder.parse(this_process(), "", 0)  # a block of this process
    lease = ("" if holder.host == socket.gethostname() or lease_until is None else
             f" (its lease runs until {time.strftime('%H:%M:%S', time.localtime(lease_until))})")
    return (f"run {run_id} is live: {holder} is recording it{lease}; it cannot be resumed "
            "or written by another process until it stops")


def _start(resumed: bool = False) -> dict[str, Any]:
    return {"at": time.time(), "host": socket.gethostname(), "pid": os.getpid(),
            "resumed": resumed}


def _kept(run_id: int) -> str:
    return (f"that step was not stored; run {run_id} keeps everything before it and goes on "
            f"with --resume {run_id} once the store can be written")


def _code(err: sqlite3.Error) -> int:
    return (getattr(err, "sqlite_errorcode", 0) or 0) & 0xFF


def _on_read_only_disk(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False

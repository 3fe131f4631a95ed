"""The run store as a file a lab keeps for years: its schema version and migrations, typed
readings with units and full precision, the one run lifecycle, leases that keep a live run
to one process, and every fault of the file (a full disk, a read-only file, a store of
another version or layout) a one-line error with nothing lost. Real SQLite throughout;
SQLite's own ``PRAGMA max_page_count`` gives the real SQLITE_FULL path."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from hil.cli import main
from protocols import store_schema
from protocols.errors import ConfigError
from protocols.store import RunAborted, RunInUse, RunStore, StoreError

# the layout spinhil wrote before its store had a version (schema version 0)
LEGACY_SCHEMA = """
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,
    status TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, seed INTEGER,
    code_version TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, config TEXT NOT NULL,
    result TEXT);
CREATE TABLE metrics (run_id INTEGER NOT NULL REFERENCES runs(id), step INTEGER NOT NULL,
    name TEXT NOT NULL, value REAL NOT NULL, t REAL NOT NULL, PRIMARY KEY (run_id, step, name));
CREATE TABLE checkpoints (run_id INTEGER NOT NULL REFERENCES runs(id), step INTEGER NOT NULL,
    data BLOB NOT NULL, t REAL NOT NULL, PRIMARY KEY (run_id, step));
CREATE TABLE readings (run_id INTEGER NOT NULL REFERENCES runs(id), seq INTEGER NOT NULL,
    t REAL NOT NULL, data TEXT NOT NULL, PRIMARY KEY (run_id, seq));
CREATE TABLE lab_states (run_id INTEGER PRIMARY KEY REFERENCES runs(id), data TEXT NOT NULL);
CREATE TABLE provenance (run_id INTEGER PRIMARY KEY REFERENCES runs(id), data TEXT NOT NULL);
"""
SWEEP_ROW = {"device": 0, "index": 3, "iteration": 7, "current": 3.3081234567890123e-4,
             "r_after_reset": -2.9876543210987654, "r_after_write": 3.0123456789012345,
             "switched": True, "lab_t": 12.345678901234567}


def _one_line(text: str) -> str:
    """The one line a command ends with (progress lines such as the lab-time estimate
    aside), and no traceback."""
    lines = [line for line in text.strip().splitlines()
             if line and not line.startswith("estimated lab time")]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_a_new_store_has_the_current_schema_version_and_the_units_of_its_columns(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == store_schema.SCHEMA_VERSION == 1
    units = store.reading_units()
    assert units["current"] == "A" and units["field"] == "T" and units["lab_t"] == "s"
    assert units["r_ahe"] == units["r_after_write"] == "ohm" and units["switched"] is None
    for name, sql_type, _ in db.execute('SELECT name, type, "notnull" FROM '
                                        'pragma_table_info("readings")'):
        if name in store_schema.TYPED:  # a typed column, not text
            assert sql_type in ("INTEGER", "REAL"), name


def test_readings_are_typed_columns_in_full_precision(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with store.run("sweep", {"device": 0}) as run:
        run.append_readings([SWEEP_ROW, {**SWEEP_ROW, "iteration": 8, "switched": False,
                                         "r_after_write": float("nan"), "note": [1, 2],
                                         "r_after_reset": None}])
    first, second = store.readings(run.id)
    assert second["r_after_reset"] is None and "field" not in second  # None, and absent
    assert {k: first[k] for k in SWEEP_ROW} == SWEEP_ROW  # every bit of every float
    assert first["switched"] is True and second["switched"] is False
    assert np.isnan(second["r_after_write"]) and second["note"] == [1, 2]  # NaN is kept
    db = sqlite3.connect(tmp_path / "runs.sqlite")
    (kinds,) = db.execute('SELECT typeof(current) || typeof(switched) || typeof("index") '
                          "FROM readings WHERE seq=0").fetchone()
    assert kinds == "realintegerinteger"
    frame = store.to_pandas(run.id)
    assert frame["current"].dtype == np.float64 and frame["iteration"].dtype == np.int64
    assert frame.attrs["units"]["current"] == "A" and frame["current"][0] == SWEEP_ROW["current"]
    metrics = store.to_pandas(run.id, table="metrics")
    assert metrics.empty


def test_csv_heads_each_typed_column_with_its_unit(tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    with RunStore(path).run("endurance", {"device": 0}) as run:
        run.append_readings([{"cycle": 0, "current": 3.3081234567890123e-4,
                              "r_after_write": 3.0123456789012345, "switched": True}])
    assert main(["--store", str(path), "runs", "export", str(run.id)]) == 0
    header, row = capsys.readouterr().out.strip().splitlines()
    assert header.split(",")[:2] == ["current (A)", "cycle"]
    assert "r_after_write (ohm)" in header and "t (s)" in header
    assert row.split(",")[:1] == [repr(3.3081234567890123e-4)]  # every digit
    assert repr(3.0123456789012345) in row


def test_an_unversioned_store_is_migrated_with_every_reading_unchanged(tmp_path):
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(LEGACY_SCHEMA)
    db.execute("INSERT INTO runs VALUES (1, 'sweep', 'finished', 1.0, 2.0, 0, '0.1.0', 'h', 1, "
               "'{\"device\": 0}', '{\"i_bias\": 3.3e-4}')")
    legacy = [{**SWEEP_ROW, "iteration": n, "t": 100.0 + n} for n in range(3)]
    legacy.append({"index": 2, "seed": 4, "accuracy": 0.8125, "error": "x"})  # a grid row
    db.executemany("INSERT INTO readings VALUES (1, ?, ?, ?)",
                   [(n, 100.0 + n, json.dumps(r)) for n, r in enumerate(legacy)])
    db.commit()
    db.close()
    store = RunStore(path)
    assert store.readings(1)[:3] == legacy[:3]
    assert {k: v for k, v in store.readings(1)[3].items() if k != "t"} == legacy[3]
    assert store.get_run(1).result == {"i_bias": 3.3e-4}
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 1
    with store.run("sweep", {"device": 1}) as run:  # and it is written like any new store
        run.append_readings([SWEEP_ROW])
    assert len(store.readings(run.id)) == 1


def test_a_store_of_a_newer_version_is_refused_by_name_and_left_as_it_is(tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="schema version 99, newer than"):
        RunStore(path)
    for command in (["runs", "list"], ["characterise", "sweep", "--iterations", "2"]):
        assert main(["--store", str(path), *command]) == 2
        line = _one_line(capsys.readouterr().err)
        assert "schema version 99" in line and "left as it is" in line
    assert path.read_bytes() == before  # not written to


def test_a_runs_table_with_a_column_too_many_is_refused_by_name(tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    with RunStore(path).run("sweep", {"device": 0}) as run:
        run.append_readings([SWEEP_ROW])
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE runs ADD COLUMN operator TEXT")
    db.commit()
    db.close()
    for command in (["runs", "list"], ["characterise", "sweep", "--iterations", "2"]):
        assert main(["--store", str(path), *command]) == 2
        line = _one_line(capsys.readouterr().err)
        assert "table runs has a column 'operator'" in line
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1  # no sweep was written


def test_the_run_context_finishes_every_exit_with_its_status(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with store.run("sweep", {"n": 1}, seed=3) as run:
        run.result = {"i_bias": 1.0}
    assert (store.get_run(run.id).status, store.get_run(run.id).result) == \
        ("finished", {"i_bias": 1.0})
    with pytest.raises(ValueError), store.run("sweep", {}) as failed:
        raise ValueError("bad")
    assert store.get_run(failed.id).status == "failed"
    assert "bad" in store.get_run(failed.id).result["error"]
    with pytest.raises(KeyboardInterrupt) as stopped, store.run("sweep", {}) as aborted:
        raise KeyboardInterrupt
    assert stopped.value.run_id == aborted.id
    assert store.get_run(aborted.id).result == {"error": "interrupted (SIGINT)"}
    with pytest.raises(RunAborted) as by_user, store.run("sweep", {}) as stop:
        raise RunAborted
    assert by_user.value.run_id == stop.id and store.get_run(stop.id).status == "aborted"
    with store.run("sweep", resume=aborted.id) as again:  # an aborted run goes on
        assert again.resumed
        again.status = "unusable"
    assert store.get_run(aborted.id).status == "unusable"
    with pytest.raises(ConfigError, match="only an unfinished run"), \
            store.run("sweep", resume=run.id):
        pass
    with pytest.raises(ConfigError, match="not a train run"), \
            store.run("train", resume=failed.id):
        pass
    assert len(store.provenance(aborted.id)["starts"]) == 2  # each start is recorded


def test_lab_time_is_summed_over_the_starts_of_a_run(tmp_path):
    class Clock:
        seconds = 0.0

        def now(self):
            return self.seconds

    store = RunStore(tmp_path / "runs.sqlite")
    clock = Clock()
    with pytest.raises(KeyboardInterrupt), store.run("sweep", {}) as run:
        run.watch_clock(clock)
        clock.seconds = 30.0
        run.append_readings([{**SWEEP_ROW, "lab_t": 30.0}])
        clock.seconds = 40.0  # stopped after ten more seconds on the instruments
        raise KeyboardInterrupt
    assert store.get_run(run.id).lab_seconds == 40.0  # the stop records the lab time too
    fresh = Clock()  # a new process: its lab's clock starts again
    with store.run("sweep", resume=run.id) as again:
        again.watch_clock(fresh)
        fresh.seconds = 5.0
        again.append_readings([{**SWEEP_ROW, "lab_t": 5.0}])
        fresh.seconds = 8.0
    assert store.get_run(run.id).lab_seconds == 48.0
    assert [r["lab_t"] for r in store.readings(run.id)] == [30.0, 45.0]  # lab_t goes on


def test_a_live_run_is_refused_to_another_claim_and_a_lapsed_lease_is_not(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    with store.run("sweep", {}) as run:
        with pytest.raises(RunInUse, match=f"run {run.id} is live: process {os.getpid()}"):
            RunStore(path).claim(run.id)  # another block of this very process
        run.append_readings([SWEEP_ROW])
    # a run recorded on another host sharing the file: its pid means nothing here
    other = RunStore(path)
    run_id = other.create_run("sweep", {}, None)
    db = sqlite3.connect(path)
    db.execute("UPDATE runs SET owner='elsewhere:4242:99', host='elsewhere', pid=4242, "
               "lease_until=? WHERE id=?", (time.time() + 60, run_id))
    db.commit()
    with pytest.raises(RunInUse, match="process 4242 on elsewhere is recording it .its lease"):
        store.claim(run_id)
    with pytest.raises(RunInUse, match="held by process 4242 on elsewhere"):
        store.append_readings(run_id, [SWEEP_ROW])  # nor written to while it holds it
    assert store.get_run(run_id).status == "running"
    db.execute("UPDATE runs SET lease_until=? WHERE id=?", (time.time() - 1, run_id))
    db.commit()
    assert store.get_run(run_id).status == "interrupted"  # its lease ran out
    with store.run("sweep", resume=run_id) as taken:
        taken.append_readings([SWEEP_ROW])
    assert store.get_run(run_id).status == "finished"
    assert len(store.readings(run_id)) == 1


def test_the_heartbeat_keeps_a_long_step_live_and_a_taken_run_writes_nothing(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    store.lease_seconds = 1.0  # renewed every 0.25 s
    with pytest.raises(RunInUse, match="its result was not stored|not by this process"), \
            store.run("sweep", {}) as run:
        time.sleep(1.5)  # a step longer than the lease: the heartbeat renews it
        (lease,) = sqlite3.connect(path).execute(
            "SELECT lease_until FROM runs WHERE id=?", (run.id,)).fetchone()
        assert lease > time.time()
        db = sqlite3.connect(path)  # another host takes it over (as if the lease lapsed)
        db.execute("UPDATE runs SET owner='elsewhere:1:1', host='elsewhere', lease_until=? "
                   "WHERE id=?", (time.time() + 60, run.id))  # with its own lease, renewed
        db.commit()
        time.sleep(0.6)  # two renewals: the first finds the run taken
        assert run.heartbeat.lost
        with pytest.raises(RunInUse, match="not by this process: nothing was written"):
            run.append_readings([SWEEP_ROW])
        run.status = "finished"  # nor is it finished by this process
    assert store.readings(run.id) == []
    assert store.get_run(run.id).status == "running"  # still the other host's


def test_a_full_store_is_one_line_and_keeps_what_came_before(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    with pytest.raises(StoreError) as full, store.run("sweep", {}) as run:
        store._db.execute("PRAGMA max_page_count = " + str(
            store._db.execute("PRAGMA page_count").fetchone()[0] + 2))
        for batch in range(400):  # pages run out: SQLite answers SQLITE_FULL
            run.append_readings([{**SWEEP_ROW, "iteration": batch * 10 + n} for n in range(10)])
    line = _one_line(str(full.value))
    assert "the disk is full" in line and f"writing 10 readings of run {run.id}" in line
    assert f"run {run.id} keeps everything before it" in line
    kept = store.readings(run.id)
    assert len(kept) % 10 == 0 and 0 < len(kept) < 4000  # whole batches only
    assert [r["iteration"] for r in kept] == list(range(len(kept)))
    store._db.execute("PRAGMA max_page_count = 1073741823")  # room again: it goes on
    with store.run("sweep", resume=run.id) as again:
        again.append_readings([{**SWEEP_ROW, "iteration": len(kept)}])
    assert len(store.readings(run.id)) == len(kept) + 1


def test_a_sweep_on_a_full_store_stops_in_one_line_with_the_outputs_off(tmp_path, capsys,
                                                                        monkeypatch):
    """The CLI: SQLITE_FULL in the middle of a sweep (a store of a few pages), one line
    naming the file, the write, what was kept and the outputs' state; resumed once there
    is room, every cycle is stored exactly once."""
    path = tmp_path / "runs.sqlite"
    RunStore(path).close()
    pages = sqlite3.connect(path).execute("PRAGMA page_count").fetchone()[0]
    monkeypatch.setattr(RunStore, "PRAGMAS", (*RunStore.PRAGMAS, f"max_page_count={pages + 3}"))
    options = ["--store", str(path), "characterise", "sweep", "--currents", "0.28mA:0.46mA:12",
               "--iterations", "40", "--timing", "hardware", "--json"]
    assert main(options) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("hil characterise: run store: ") and "the disk is full" in line
    assert line.endswith("outputs are off (confirmed by OUTP?)")
    monkeypatch.undo()
    store = RunStore(path)
    (run,) = store.list_runs()
    assert run.status == "failed" or run.status == "interrupted"
    kept = store.readings(run.id)
    assert 0 < len(kept) < 480 and len(kept) % 40 == 0
    assert main(["--store", str(path), "characterise", "sweep", "--resume", str(run.id),
                 "--json"]) == 0
    cycles = [(r["index"], r["iteration"]) for r in store.readings(run.id)]
    assert sorted(cycles) == [(k, n) for k in range(12) for n in range(40)]


@pytest.fixture
def shared_folder():
    """A folder every user may enter (pytest's own is its owner's only)."""
    folder = Path(tempfile.mkdtemp(prefix="spinhil-store-"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_read_only_store_reads_and_refuses_writes_in_one_line(shared_folder):
    """A store file the user may not write (chmod 444; as root, whom permissions do not
    bind, the command runs as the unprivileged user ``nobody``): ``runs list`` reads it,
    a sweep is refused before any pulse in one line, and the file is unchanged."""
    folder = shared_folder
    path = folder / "runs.sqlite"
    with RunStore(path).run("sweep", {"device": 0}) as run:
        run.append_readings([SWEEP_ROW])
    path.chmod(0o444)
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "running as root: setpriv is needed to drop to an unprivileged user"
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    before = path.read_bytes()
    env = {**os.environ, "HOME": str(folder), "SPINHIL_HOME": str(folder)}

    def hil(*args):
        return subprocess.run([*prefix, sys.executable, "-m", "hil.cli", "--store", str(path),
                               *args], capture_output=True, text=True, env=env, cwd=folder)

    listed = hil("runs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout.strip().splitlines()[-1])["runs"][0]["status"] == "finished"
    refused = hil("characterise", "sweep", "--iterations", "2")
    assert refused.returncode == 2
    line = _one_line(refused.stderr)
    assert "the file is read-only" in line and "nothing was written" in line
    assert "not a spinhil run store" not in line
    assert "recording a sweep run was refused" in line  # before the run's first step
    assert line.endswith("outputs are off (confirmed by OUTP?)")
    assert path.read_bytes() == before


def test_a_small_tmpfs_that_fills_up_mid_sweep(tmp_path):
    """A real full disk: a 160 KiB tmpfs (a private mount namespace; needs the right to
    mount one, as root or with unprivileged user namespaces). The sweep stops in one line
    with the outputs off, the store keeps every whole batch, and after the tmpfs grows the
    resumed sweep stores each cycle once."""
    unshare = shutil.which("unshare")
    probe = None if unshare is None else subprocess.run(
        [unshare, "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {tmp_path}"],
        capture_output=True)
    if probe is None or probe.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (no unshare, or mounts not permitted); the "
                    "SQLITE_FULL path is tested above with PRAGMA max_page_count")
    disk = tmp_path / "disk"
    disk.mkdir()
    count = tmp_path / "count.py"
    count.write_text("import json, sqlite3, sys\n"
                     "db = sqlite3.connect(sys.argv[1])\n"
                     "print(json.dumps(db.execute('SELECT COUNT(*), COUNT(DISTINCT \"index\" * "
                     "1000 + iteration) FROM readings').fetchone()))\n")
    script = f"""
mount -t tmpfs -o size=160k tmpfs {disk}
hil() {{ {sys.executable} -m hil.cli --store {disk}/runs.sqlite "$@"; }}
hil characterise sweep --currents 0.30mA:0.42mA:12 --iterations 200 --timing hardware --json
echo "exit=$?"
echo "---" >&2
hil runs list --json | tail -1
mount -o remount,size=8m {disk}
hil characterise sweep --resume 1 --json > /dev/null
echo "exit=$?"
{sys.executable} {count} {disk}/runs.sqlite
"""
    done = subprocess.run([unshare, "-rm", "sh", "-c", script], capture_output=True, text=True,
                          env={**os.environ, "SPINHIL_HOME": str(tmp_path / "home")},
                          timeout=600)
    out = done.stdout.strip().splitlines()
    assert "exit=2" in out, done.stdout + done.stderr
    errors = [line for line in done.stderr.split("---")[0].splitlines()
              if line.startswith("hil ")]
    assert len(errors) == 1 and "the disk is full" in errors[0], done.stderr
    assert errors[0].endswith("outputs are off (confirmed by OUTP?)")
    assert "Traceback" not in done.stderr
    listed = json.loads(out[out.index("exit=2") + 1])["runs"]
    assert listed[0]["status"] in ("failed", "interrupted")
    assert out[-2] == "exit=0"
    assert json.loads(out[-1]) == [12 * 200, 12 * 200]  # every cycle, each once


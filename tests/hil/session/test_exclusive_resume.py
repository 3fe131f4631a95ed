"""A run is recorded by one process at a time: two processes resuming the same killed sweep
(real processes, each its own virtual lab) end with one refused before it touches an
instrument and the store holding each cycle once; a resumed sweep's lab time and ``lab_t``
go on from where the killed one stopped."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from hil.session import open_lab
from protocols.store import RunStore

SWEEP = ["characterise", "sweep", "--currents", "0.30mA:0.42mA:12", "--iterations", "60",
         "--timing", "software", "--seed", "0", "--json"]


def _hil(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hil.cli", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _readings(db) -> int:
    try:
        with sqlite3.connect(db) as con:
            return con.execute("SELECT COUNT(*) FROM readings").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_two_processes_resuming_one_sweep_one_is_refused_each_cycle_stored_once(tmp_path):
    env = {**os.environ, "SPINHIL_HOME": str(tmp_path / "home")}
    db = tmp_path / "home" / "runs.sqlite"
    victim = _hil(*SWEEP, env=env)
    while victim.poll() is None and _readings(db) < 120:  # no clock: a loaded machine waits
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    store = RunStore(db)
    (killed,) = store.list_runs()
    before = store.readings(killed.id)
    assert killed.status == "interrupted" and 120 <= len(before) < 720

    first, second = (_hil("characterise", "sweep", "--resume", str(killed.id), "--json",
                          env=env) for _ in range(2))
    outcomes = {p.pid: (p.wait(timeout=600), *p.communicate()) for p in (first, second)}
    codes = sorted(code for code, _, _ in outcomes.values())
    assert codes == [0, 2], outcomes
    (winner,) = [pid for pid, (code, _, _) in outcomes.items() if code == 0]
    (refused,) = [err for code, _, err in outcomes.values() if code == 2]
    lines = [line for line in refused.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in refused
    assert f"run {killed.id} is live: process {winner} on" in lines[0]
    assert "cannot be resumed or written by another process" in lines[0]

    after = store.readings(killed.id)
    assert after[: len(before)] == before  # nothing kept was rewritten
    cycles = [(r["index"], r["iteration"]) for r in after]
    assert sorted(cycles) == [(k, n) for k in range(12) for n in range(60)]  # each once
    assert store.get_run(killed.id).status in ("finished", "unusable")
    starts = store.provenance(killed.id)["starts"]
    assert [s["pid"] for s in starts] == [victim.pid, winner]  # the refused one never started


@pytest.mark.parametrize("timing", ["hardware", "software"])
def test_a_resumed_sweep_counts_its_lab_time_from_the_start(tmp_path, timing):
    """Stopped after four batches (Ctrl-C between batches) and resumed in a new session: the
    lab time is the whole sweep's (the readings before, the calibration again, the rest),
    within 10 % of the uninterrupted sweep's, and ``lab_t`` never restarts at 0."""
    iterations = 60 if timing == "hardware" else 8

    def sweep(store_path, stop_after: int | None = None):
        batches = []

        def between() -> None:
            batches.append(1)
            if stop_after is not None and len(batches) == stop_after:
                raise KeyboardInterrupt

        with open_lab(devices=1, store=store_path) as lab:
            lab.between_batches = between
            return lab.sweep(0, [0.30e-3 + 1e-5 * k for k in range(12)], iterations,
                             timing=timing).summary

    reference = sweep(tmp_path / "reference.sqlite")
    path = tmp_path / "runs.sqlite"
    with pytest.raises(KeyboardInterrupt) as stopped:
        sweep(path, stop_after=4 if timing == "hardware" else 40)
    run_id = stopped.value.run_id
    store = RunStore(path)
    before = store.get_run(run_id)
    assert before.status == "aborted" and 0 < before.lab_seconds < reference["lab_seconds"]
    with open_lab(devices=1, store=path) as lab:
        resumed = lab.sweep(resume=run_id).summary
    assert resumed["counts"] == reference["counts"]  # the same cycles, the same switches
    assert resumed["lab_seconds"] > before.lab_seconds
    assert resumed["lab_seconds"] == pytest.approx(reference["lab_seconds"], rel=0.1)
    readings = store.readings(run_id)
    kept = len([r for r in readings if r["lab_t"] <= before.lab_seconds])
    lab_t = [r["lab_t"] for r in readings]  # a hardware batch's readings share one lab_t
    assert all(b >= a for a, b in zip(lab_t, lab_t[1:], strict=False)), "lab_t restarted"
    assert 0 < kept < len(readings) and lab_t[kept] > before.lab_seconds
    assert lab_t[-1] <= resumed["lab_seconds"] + 1e-9
    shown = json.loads(json.dumps(store.get_run(run_id).result))
    assert shown["lab_seconds"] == resumed["lab_seconds"]


def test_a_refused_resume_never_touches_the_instruments_of_a_shared_lab(tmp_path):
    """One served lab (a lab file, as two hosts of one rig would share it): while one
    process resumes a killed sweep, a second ``--resume`` is refused without sending a
    byte, so no ``*RST`` reaches the instruments under the first run."""
    from simulators.lab.chip import build_chip
    from simulators.lab.server import VirtualLab

    env = {**os.environ, "SPINHIL_HOME": str(tmp_path / "home")}
    db = tmp_path / "home" / "runs.sqlite"
    with VirtualLab(build_chip(2, 0.5e-6, 2)) as virtual:
        rig = tmp_path / "rig.toml"
        rig.write_text("[roles]\n" + "".join(f'{role} = "{entry["resource"]}"\n'
                                              for role, entry in virtual.resources.items()))
        heard: list[tuple[float, str, str]] = []
        for role in ("pulse", "voltmeter"):
            instrument = virtual.instruments[role]

            def listened(line, handle=instrument.handle, role=role):
                heard.append((time.monotonic(), role, line.strip().upper()))
                return handle(line)

            instrument.handle = listened
        victim = _hil(*SWEEP, "--lab", str(rig), env=env)
        while victim.poll() is None and _readings(db) < 60:
            time.sleep(0.02)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        first = _hil("characterise", "sweep", "--resume", "1", "--json", env=env)
        kept = _readings(db)
        while first.poll() is None and _readings(db) < kept + 24:  # it claimed and runs
            time.sleep(0.02)
        began = time.monotonic()
        second = subprocess.run([sys.executable, "-m", "hil.cli", "characterise", "sweep",
                                 "--resume", "1", "--json"], env=env, text=True,
                                capture_output=True, timeout=300)
        ended = time.monotonic()
        assert first.poll() is None, "the first resume ended before the second was refused"
        assert second.returncode == 2 and "run 1 is live" in second.stderr
        resets = [line for t, _, line in heard if began <= t <= ended and "*RST" in line]
        assert resets == []
        assert first.wait(timeout=600) == 0, first.communicate()[1]
    cycles = [(r["index"], r["iteration"]) for r in RunStore(db).readings(1)]
    assert sorted(cycles) == [(k, n) for k in range(12) for n in range(60)]

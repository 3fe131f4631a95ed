"""The examples run, each in its short mode (the 8 x 8 digits one also in full, marked slow:
it must reach 90 % held out), as a user runs them: ``python examples/NAME.py``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from protocols.store import RunStore

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(name: str, *args: str, tmp_path: Path, **env: str) -> str:
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_characterise_chip_prints_the_survey(tmp_path):
    out = _run("characterise_chip.py", "--short", "--store", str(tmp_path / "r.sqlite"),
               tmp_path=tmp_path)
    rows = [line.split() for line in out.splitlines() if line.split()[:1] in (["0"], ["1"])]
    assert [r[0] for r in rows] == ["0", "1"]
    for row in rows:
        assert 0.2 < float(row[1]) < 0.6  # I_bias of a 0.5 um bar, mA (paper 002 Fig. 2)
    assert "I_bias variation" in out
    runs = RunStore(tmp_path / "r.sqlite").list_runs()
    assert [(r.kind, r.status) for r in runs] == [("survey", "finished")]


def _digits_conv():
    sys.path.insert(0, str(EXAMPLES))
    try:
        import digits_conv
    finally:
        sys.path.remove(str(EXAMPLES))
    return digits_conv


@pytest.mark.slow
def test_digits_conv_example_beats_90_percent():
    assert _digits_conv().main([]) > 0.90  # 94.7 % with seed 0


def test_digits_conv_example_short():
    """The slow test's short sibling: two epochs already learn (chance is 10 %)."""
    assert 0.5 < _digits_conv().main(["--short"]) <= 1.0


def test_offline_llgs_dry_run(tmp_path):
    out = _run("offline_llgs.py", "--short", "--store", str(tmp_path / "r.sqlite"),
               tmp_path=tmp_path, SPINHIL_LLGS_COMPILE="0")  # eager: no minute of compiling
    assert "LLGS mtj-000" in out
    run = RunStore(tmp_path / "r.sqlite").list_runs()[-1]
    assert (run.kind, run.status, run.config["bank"]["backend"]) == ("train", "finished", "llgs")


def test_overnight_session_killed_and_resumed(tmp_path):
    store_path = tmp_path / "night.sqlite"
    args = [sys.executable, str(EXAMPLES / "overnight_hil.py"), "--short", "--store",
            str(store_path)]
    victim = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    for line in victim.stdout:  # wait for two finished epochs, then kill it hard
        if line.startswith("train 2/"):
            break
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    store = RunStore(store_path)
    (killed,) = store.list_runs()
    assert killed.status in ("running", "interrupted")  # the store sees the process gone
    done_before = len(store.metrics(killed.id)["loss"])
    assert 2 <= done_before < 8
    resumed = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming run {killed.id}" in resumed.stdout
    run = store.get_run(killed.id)
    assert run.status == "finished" and len(store.list_runs()) == 1
    epochs = [step for step, _ in store.metrics(run.id)["loss"]]
    assert epochs == list(range(8))  # every epoch once: none lost, none repeated
    assert (tmp_path / "night.weights.pt").exists()
    # the same run uninterrupted reaches the same result
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    clean = subprocess.run([*args[:-1], str(fresh / "night.sqlite")], cwd=fresh,
                           capture_output=True, text=True)
    assert clean.returncode == 0, clean.stderr[-3000:]
    uninterrupted = RunStore(fresh / "night.sqlite").list_runs()[0]
    assert uninterrupted.result["loss_history"] == pytest.approx(run.result["loss_history"])
    assert uninterrupted.result["hil_accuracy"] == run.result["hil_accuracy"]


@pytest.mark.slow  # about 4 min on two cores; the pulse count's short sibling is
# tests/hil/session/test_suspenders.py (a short night with a drop and a power cycle)
def test_the_compressed_night_finishes_and_its_pulses_match_the_chips_log(tmp_path):
    """The night of examples/overnight_faults.py compressed 30x (drift on a quarter of the
    chip, a device dying, a dropped line, a power-cycled 6221): the watched run finishes,
    and every pulse the store records per device equals the chip's own count."""
    import json

    out = _run("overnight_faults.py", "--short", "--store", str(tmp_path / "n.sqlite"),
               "--mode", "watched", tmp_path=tmp_path)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["status"] == "finished"
    assert report["pulses_match_the_chip"] and len(report["chip_pulses"]) >= 4
    assert {e["kind"] for e in report["lab_log"]} >= {"drop", "power_cycle"}
    assert any(e["action"] == "retire" for e in report["events"])


def test_the_training_tab_example_parses_its_options():
    """The screenshot script's short sibling: its options parse (the run itself is the GUI
    test, tests/hil/gui/test_training_tab.py)."""
    out = subprocess.run([sys.executable, str(EXAMPLES / "training_tab.py"), "--help"],
                         capture_output=True, text=True, env={**os.environ})
    assert out.returncode == 0 and "--out" in out.stdout

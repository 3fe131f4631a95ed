"""Protocols on units drawn across the data sheets' spread: the burst route measures the
2000's reading period on the rig and keeps every reading on its own cycle, checked against
what the emulated devices truly did (simulators/lab/oracle.py), at the corners of the
spread (quick) and on 20 drawn benches with a sweep and a 20-epoch training each (slow)."""

import numpy as np
import pytest

from hil.session.lab import connect_virtual, virtual_devices
from protocols.cycle import CycleSettings, ResetWriteRead
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.oracle import Oracle
from simulators.lab.server import VirtualLab
from simulators.lab.units import TIMEBASE_SPREAD, Unit, nominal_unit

FAST = CycleSettings(read_nplc=0.01, autozero=False)


def corner(overhead: float, timebase: float, external: float) -> dict[str, Unit]:
    """A bench at a corner of the spread: the 2000's overhead and both clocks at their
    limits, the 6221's clock the other way."""
    return {"pulse": Unit("6221", 1, timebase=-timebase),
            "voltmeter": Unit("2000", 2, timebase=timebase, overhead=overhead,
                              external_rate=external, latency=1.0),
            "field": nominal_unit("2400"), "switch": nominal_unit("7001")}


CORNERS = {
    "fast 2000, 60 Hz": (corner(0.95, TIMEBASE_SPREAD, 1.03), 60.0),
    "slow 2000, 60 Hz": (corner(1.05, -TIMEBASE_SPREAD, 0.97), 60.0),
    "fast 2000, 50 Hz": (corner(0.95, -TIMEBASE_SPREAD, 1.03), 50.0),
    "slow 2000, 50 Hz": (corner(1.05, TIMEBASE_SPREAD, 0.97), 50.0),
}


def _bench(units, line_frequency: float, seed: int = 0, devices: int = 2):
    virtual = VirtualLab(build_chip(devices, 0.5e-6, seed),
                         LabClock(line_frequency=line_frequency), units=units).start()
    return virtual, Oracle(virtual), connect_virtual(lab=virtual)


@pytest.mark.parametrize("name", sorted(CORNERS))
def test_burst_verdicts_are_the_devices_own_at_the_corners_of_the_spread(name):
    """1,500 write currents around the device's 50 % current in two bursts: every verdict
    was read after its own write pulse and no other (and says the state that write left),
    and the period the route measured is the unit's (in the 6221's time) to 20 ns."""
    units, hertz = CORNERS[name]
    virtual, oracle, lab = _bench(units, hertz)
    i_bias = virtual_devices(2, 0.5e-6, 0)[0]["i_bias"]
    currents = np.random.default_rng(1).uniform(0.97 * i_bias, 1.03 * i_bias, 1500)
    with lab:
        rwr = ResetWriteRead(lab, FAST, timing="hardware")
        rwr.calibrate()
        clock = rwr.burst_clock()
        verdicts = [r for batch in rwr.batches(currents) for r in batch]
    assert len(verdicts) == 1500 and oracle.wrong(0, verdicts, FAST.read_current) == 0
    assert [r.write_current for r in verdicts] == currents.tolist()
    assert 0.2 < np.mean([r.switched for r in verdicts]) < 0.8  # both verdicts occur
    meter = virtual.instruments["voltmeter"]
    period = meter.times.reading(0.01, False) / (1 + units["pulse"].timebase)
    assert abs(clock.period - period) < 20e-9
    assert rwr.missed_batches == 0


def test_a_sweep_that_searches_its_range_counts_only_the_devices_own_switches():
    """The one-current route (one trigger per cycle) on the slowest corner: every cycle of
    the coarse search, the quick fit and the sweep is read in its own cycle."""
    from protocols.plan import run_plan
    from protocols.sweep import sweep_device

    units, hertz = CORNERS["slow 2000, 50 Hz"]
    virtual, oracle, lab = _bench(units, hertz)
    verdicts = []
    with lab:
        rwr = ResetWriteRead(lab, FAST, timing="hardware")
        rwr.calibrate()
        batches = rwr.batches

        def kept(currents):
            for batch in batches(currents):
                verdicts.extend(batch)
                yield batch

        rwr.batches = kept
        result = run_plan(sweep_device(rwr, 0, None, 60))
    assert len(verdicts) > result.currents.size * 60
    assert oracle.wrong(0, verdicts, FAST.read_current) == 0
    assert rwr.missed_batches == 0


def test_the_run_records_every_pulse_the_device_took_replays_included(monkeypatch, capsys):
    """A route too fast for the 2000's external triggers: batches are refused and played
    again; the sweep's record counts every reset and write the device received (as the
    emulated device counts them), and hil runs show says so; so does a survey, device by
    device."""
    import protocols.cycle as cycle
    from hil.cli import main

    monkeypatch.setattr(cycle, "EXTERNAL_TRIGGER_RATE", 1000.0)
    opened = []  # per virtual lab a command opens: the devices its pulses reached
    drive = VirtualLab.__init__

    def counted(self, *args, **kwargs):
        drive(self, *args, **kwargs)
        chip_drive = self.chip.drive
        received = []
        opened.append(received)

        def pulse(current, duration):
            if abs(current) > 75e-6:  # well beyond the 50 uA read: a reset or a write
                received.append(self.chip.selected)
            chip_drive(current, duration)

        self.chip.drive = pulse

    monkeypatch.setattr(VirtualLab, "__init__", counted)
    assert main(["characterise", "sweep", "--devices", "2", "--device", "1", "--seed", "7",
                 "--json", "--currents", "0.25mA:0.35mA:3", "--iterations", "40",
                 "--timing", "hardware"]) == 3  # recorded; P = 1 here: no calibration
    payload = capsys.readouterr().out.strip().splitlines()[-1]
    import json

    summary = json.loads(payload)
    received = opened[0]  # the served lab (a survey also prices itself on a twin)
    assert summary["pulses"] == {"1": received.count(1)} and received.count(0) == 0
    assert summary["pulses"]["1"] > 3 * 40 * 2 + 6  # the refused batches' pulses too
    assert main(["runs", "show", str(summary["run_id"])]) == 0
    assert f"device 1: {received.count(1):,}" in capsys.readouterr().out
    del opened[:]  # a survey of both devices prints what each took
    assert main(["characterise", "survey", "--devices", "2", "--seed", "7", "--iterations",
                 "20", "--timing", "hardware"]) == 0
    received = opened[0]
    assert (f"pulses: device 0: {received.count(0):,}, device 1: {received.count(1):,}"
            in capsys.readouterr().out) and received.count(0) > 0


def _spread(*options: str) -> list[dict]:
    """bench/lab/spread.py's benches: a range-searching sweep and a training run each, every
    verdict checked against the devices' own writes."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[2] / "bench" / "lab" / "spread.py"
    done = subprocess.run([sys.executable, str(script), "--json", *options],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_short_runs_on_two_drawn_benches_store_no_verdict_against_the_wrong_cycle():
    """The slow test's short sibling: two benches (50 and 60 Hz), a short sweep and two
    short epochs each."""
    for bench in _spread("--draws", "2", "--epochs", "2", "--images", "2", "--steps", "10",
                         "--iterations", "40"):
        for route in ("sweep", "train"):
            assert bench[route]["completed"] and bench[route]["mismatches"] == 0
            assert bench[route]["per_cycle"] > bench[route]["floor"]


@pytest.mark.slow
def test_sweep_and_20_epoch_training_on_20_drawn_benches():
    """20 benches of drawn units (alternating 50 and 60 Hz): a sweep that searches its own
    range and paper 002's 20-epoch training each; every run completes, every verdict is
    the device's own, the estimate before the first epoch holds within 10 %."""
    benches = _spread("--draws", "20", "--epochs", "20")
    assert len(benches) == 20
    for bench in benches:
        for route in ("sweep", "train"):
            assert bench[route]["completed"] and bench[route]["mismatches"] == 0
        train = bench["train"]
        assert train["epochs"] == 20
        assert abs(train["estimate"] - train["lab_seconds"]) < 0.1 * train["lab_seconds"]

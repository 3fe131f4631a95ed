"""Procedures as plans (protocols.plan): what a plan yields, what the runner throws back
into it, and a procedure of one's own recorded as the built-in ones are."""

import numpy as np
import pytest

import hil
from hil.errors import ConfigError
from hil.session.lab import connect_virtual
from instruments.limits import SafetyLimits
from protocols.cycle import ResetWriteRead
from protocols.plan import Advance, Found, Readings, run_plan
from protocols.procedures import anisotropy_field
from protocols.store import RunStore
from protocols.sweep import sweep_device
from simulators.lab.chip import build_chip
from simulators.lab.server import VirtualLab


@pytest.fixture
def rig():
    with VirtualLab(build_chip(2, 0.5e-6, 1), coil_constant=0.5) as virtual, \
            connect_virtual(lab=virtual, limits=SafetyLimits(max_field=0.4)) as lab:
        lab["field"].coil_constant = 0.5
        lab.select_device(0)
        rwr = ResetWriteRead(lab)
        rwr.calibrate()
        yield virtual, rwr


def test_a_sweep_plan_says_what_it_measures_and_returns_its_fit(rig):
    """Read without a runner, a sweep plan is its search (an advance, then the currents it
    found), then batches of readings, each followed by how far it is; its result's counts
    are the switches its readings hold."""
    _, rwr = rig
    plan = sweep_device(rwr, 0, None, 4)
    messages = []
    while True:
        try:
            messages.append(next(plan))
        except StopIteration as stop:
            result = stop.value
            break
    assert messages[0] == Advance("sweep", 0, 15 * 4)
    assert isinstance(messages[1], Found)
    currents = messages[1].settings["currents"]
    assert len(currents) == 15 and np.allclose(currents, result.currents)
    rows = [row for m in messages if isinstance(m, Readings) for row in m.rows]
    assert len(rows) == 15 * 4
    assert {(r["index"], r["iteration"]) for r in rows} == {(k, n) for k in range(15)
                                                           for n in range(4)}
    counts = np.zeros(15, int)
    for row in rows:
        counts[row["index"]] += row["switched"]
    assert counts.tolist() == result.counts.tolist()
    advances = [m for m in messages if isinstance(m, Advance)]
    assert advances[-1] == Advance("sweep", 60, 60)


def test_an_error_while_recording_reaches_the_plan_which_turns_its_field_off(rig):
    """A record that fails at the third field is thrown into the anisotropy plan where it
    yielded: the plan's own cleanup turns the 2400's output off before the error comes out
    (a runner that only raised would leave the coil driven)."""
    virtual, rwr = rig
    coil = virtual.instruments["field"]
    seen = []

    def record(rows):
        seen.append(coil.output)
        if len(seen) == 3:
            raise RuntimeError("the store is full")

    plan = anisotropy_field(rwr, np.linspace(-0.1, 0.1, 7))  # held: not closed by collection
    with pytest.raises(RuntimeError, match="the store is full"):
        run_plan(plan, record)
    assert seen == [True, True, True]  # the coil drove each field while it was read
    assert coil.output is False and plan.gi_frame is None  # the plan ran its finally


def test_a_plan_that_yields_something_else_is_refused(rig):
    def odd():
        yield [{"a": 1}]  # bare rows, not Readings

    with pytest.raises(TypeError, match="yields Readings, Found or Advance"):
        run_plan(odd())
    with pytest.raises(TypeError, match="a generator that yields Readings .* not dict"):
        run_plan({"summary": 1})  # a body that returned its summary instead of a plan


def test_a_procedure_of_ones_own_is_recorded_like_the_built_in_ones(tmp_path):
    """``Session.run``: the device routed and calibrated, each batch the plan yields stored
    as it comes, its settings and its pulses in the run; a kind that is not a name is
    refused by field."""
    store = RunStore(tmp_path / "runs.sqlite")

    def pulse_pairs(rwr, recording):
        for current in recording.config["currents"]:
            pair = [rwr.cycle_reading(current) for _ in range(2)]
            yield Readings([{"current": current, "switched": r.switched} for r in pair])
        return {"pairs": len(recording.config["currents"])}

    with hil.open_lab(devices=2, store=store) as lab:
        with pytest.raises(ConfigError, match="kind"):
            lab.run("", pulse_pairs)
        result = lab.run("pulse_pairs", pulse_pairs, device=1, currents=[0.2e-3, 0.5e-3])
    run = store.get_run(result.run_id)
    assert run.kind == "pulse_pairs" and run.status == "finished"
    assert run.config["device"] == 1 and run.config["currents"] == [0.2e-3, 0.5e-3]
    readings = store.readings(result.run_id)
    assert [r["current"] for r in readings] == [0.2e-3] * 2 + [0.5e-3] * 2
    assert result.summary["pairs"] == 2
    # four cycles, each a reset and a write, plus the calibration's pulses, on device 1 only
    assert set(result.summary["pulses"]) == {"1"} and result.summary["pulses"]["1"] >= 8

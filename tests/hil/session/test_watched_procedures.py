"""Sweeps and surveys that watch themselves (hil.session.procedure_watch), met through real
sockets: the virtual lab served on loopback with faults on its clock, a session borrowing it,
judged by what the emulated lab holds (the chip's own pulse log, the instruments' outputs) and
by the run's stored record of events; and the wear budget each run is held to, from a lab
file or the newest survey, counted over the device's life (hil.session.wear)."""

from __future__ import annotations

import contextlib

import pytest

from hil.cli.main import main
from hil.errors import ConfigError
from hil.session.lab import connect_virtual
from hil.session.session import Session, lab_description
from hil.session.watch import RunStopped
from hil.session.wear import resolve_budget, survey_budgets
from protocols.store import RunStore
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.faults import FaultSchedule
from simulators.lab.server import VirtualLab

DEVICES, SEED, WIDTH = 6, 0, 0.5e-6  # as tests/hil/session/test_suspenders.py's chip
ITERATIONS = 30  # cycles per current: a sweep of about 1,800 pulses, 4-5 lab s


@contextlib.contextmanager
def served(store: RunStore, faults: dict | None = None, watch=None, description=None):
    """A session on the served virtual lab (hardware-timed procedures) with ``faults`` on
    its clock; the chip logs every pulse above the read current, as the cycle counts them."""
    virtual = VirtualLab(build_chip(DEVICES, WIDTH, SEED), LabClock.for_bus("gpib"),
                         faults=FaultSchedule.from_mapping(faults or {}, DEVICES)).start()
    lab = connect_virtual(lab=virtual)
    lab.timeout_ms = 1000  # a dropped line is found after 1 s of wall time, not 2
    lab.connect()
    virtual.chip.pulse_floor = 50e-6  # the cycle's read current: below it, a read
    try:
        yield Session(description or lab_description(None, DEVICES, WIDTH, SEED), store,
                      lab=lab, watch=watch), virtual
    finally:
        lab.close()
        virtual.stop()


def _events(store: RunStore, run_id: int) -> list[dict]:
    return store.provenance(run_id).get("events", [])


def _last_run(store: RunStore):
    return store.list_runs()[-1]


def test_a_sweep_rides_out_a_dropped_connection_counting_every_pulse_once(tmp_path, capsys):
    """The 2000 drops every line for 1 lab s at 3 lab s, inside the sweep's fine pass: the
    batch is retried after 1 lab s, every instrument reopened and set up, the batch played
    again whole; the sweep finishes with each (current, iteration) stored once, and the
    pulses it records for the device are the pulses the chip saw reach it. ``hil runs
    watch`` shows the event."""
    store = RunStore(tmp_path / "runs.sqlite")
    with served(store, {"drop": [{"role": "voltmeter", "at": 3.0, "duration": 1.0}]}) \
            as (session, virtual):
        result = session.sweep(device=1, iterations=ITERATIONS, timing="hardware")
        virtual.settle()  # the lines already sent have reached the devices
        received = virtual.chip.pulses_received.tolist()
        log = virtual.schedule.log()
    assert [e["kind"] for e in log] == ["drop"]
    run = store.get_run(result.run_id)
    assert run.status == "finished"
    events = _events(store, result.run_id)
    replays = [e for e in events if e["action"] == "replay"]
    assert replays and replays[0]["wait"] == 1.0 and replays[0]["device"] == 1
    assert replays[0]["lab_clock"] >= 3.0 and replays[0]["lab_t"] is not None
    assert any(e["action"] == "set up" and "outputs confirmed off" in e["detail"]
               for e in events)
    readings = store.readings(result.run_id)
    keys = [(r["index"], r["iteration"]) for r in readings]
    assert len(keys) == len(set(keys)) == 15 * ITERATIONS
    assert result.summary["pulses"] == {"1": received[1]} and received[1] > 1000
    assert received[:1] + received[2:] == [0] * (DEVICES - 1)
    assert main(["--store", str(tmp_path / "runs.sqlite"), "runs", "watch",
                 str(result.run_id), "--once"]) == 0
    out = capsys.readouterr().out
    assert "reconnect" in out and "replay" in out and "device 1" in out


def test_a_survey_marks_a_device_stuck_on_the_way_and_goes_on(tmp_path):
    """Device 1 sticks at +1 at 6 lab s, inside its sweep (devices take about 4 lab s
    each): its reset is refused in a batch, the watch retires it, the survey marks it
    ``retired`` with the reason and sweeps devices 2 and 3 as usual; device 1 takes no
    pulse after it was retired."""
    store = RunStore(tmp_path / "runs.sqlite")
    with served(store, {"stuck": [{"device": 1, "at": 6.0, "state": 1}]}) \
            as (session, virtual):
        result = session.survey(iterations=ITERATIONS, timing="hardware", devices=[0, 1, 2, 3])
        virtual.settle()
        received = virtual.chip.pulses_received.tolist()
    summary = result.summary
    assert store.get_run(result.run_id).status == "finished"
    assert summary["grades"] == {"0": "usable", "1": "retired", "2": "usable",
                                 "3": "usable"}
    assert "did not reset" in summary["unusable"]["1"]
    assert 1 not in summary["network"] + summary["spares"]
    retire = next(e for e in _events(store, result.run_id) if e["action"] == "retire")
    assert retire["device"] == 1 and retire["lab_clock"] >= 6.0
    assert {int(d): n for d, n in summary["pulses"].items()} == {
        d: received[d] for d in range(4)}
    assert received[1] < received[0]  # cut short


def test_a_sweep_tripping_the_error_queue_stops_with_outputs_off(tmp_path):
    """The 2400 queues error -221 at 3 lab s; with ``[suspenders.errors] action = "stop"``
    the next check finds it and the sweep stops: the emulated 6221 and 2400 outputs off,
    the run ``aborted`` with the reason, the event in its record."""
    store = RunStore(tmp_path / "runs.sqlite")
    with served(store, {"error": [{"role": "field", "at": 3.0, "code": -221}]},
                watch={"errors": {"action": "stop"}}) as (session, virtual):
        with pytest.raises(RunStopped, match="errors: .*-221"):
            session.sweep(device=1, iterations=ITERATIONS, timing="hardware")
        assert virtual.instruments["pulse"].output is False
        assert virtual.instruments["field"].output is False
    run = _last_run(store)
    assert run.kind == "sweep" and run.status == "aborted"
    assert "-221" in run.result["error"] and "outputs off" in run.result["error"]
    stop = _events(store, run.id)[-1]
    assert (stop["suspender"], stop["action"], stop["role"]) == ("errors", "stop", "field")
    assert stop["lab_clock"] >= 3.0
    assert store.provenance(run.id)["watch"]["drift"] == {"enabled": False}


def _lab_file(tmp_path, wear: str) -> str:
    path = tmp_path / "lab.toml"
    path.write_text(f"virtual = true\n{wear}")
    return str(path)


def test_a_lab_files_wear_budget_counts_earlier_runs_pulses(tmp_path):
    """The lab file gives device 1 a life of 2,500 pulses (the chip 90,000): a first sweep
    (about 1,800 pulses) finishes; a second one of the same device stops once the first's
    pulses and its own pass 2,500, though its own stay far below it, outputs off, with the
    source recorded."""
    path = _lab_file(tmp_path, '[wear]\npulses = 90000\n[wear.devices]\n"1" = 2500\n')
    store = RunStore(tmp_path / "runs.sqlite")
    with served(store, description=lab_description(path)) as (session, virtual):
        first = session.sweep(device=1, iterations=ITERATIONS, timing="hardware")
        with pytest.raises(RunStopped, match="device 1 retired"):
            session.sweep(device=1, iterations=ITERATIONS, timing="hardware")
        assert virtual.instruments["pulse"].output is False
    before = first.summary["pulses"]["1"]
    assert 1000 < before < 2500
    second = _last_run(store)
    wear = store.provenance(second.id)["wear"]
    assert wear["source"] == f"lab file {path} [wear]"
    assert wear["pulses"] == 90000 and wear["devices"] == {"1": 2500}
    assert wear["earlier_pulses"] == {"1": before}
    worn = next(e for e in _events(store, second.id) if e["suspender"] == "wear")
    assert worn["earlier_pulses"] == before and worn["budget"] == 2500
    assert worn["pulses"] == before + worn["run_pulses"] > 2500 > worn["run_pulses"]
    assert second.status == "aborted" and "wear" in second.result["error"]


@pytest.mark.parametrize(("wear", "field"), [
    ("[wear]\npulses = 0\n", "wear.pulses"),
    ('[wear]\npulses = "many"\n', "wear.pulses"),
    ('[wear.devices]\n"1" = -5\n', "wear.devices.1"),
    ('[wear.devices]\nfirst = 5\n', "wear.devices.first"),
    ("[wear]\nbudget = 5\n", "wear.budget"),
])
def test_a_bad_wear_table_is_refused_by_name(tmp_path, wear, field):
    with pytest.raises(ConfigError) as refused:
        lab_description(_lab_file(tmp_path, wear))
    assert refused.value.field == field
    assert "allowed" in str(refused.value)


def test_a_survey_records_budgets_and_the_next_run_takes_them(tmp_path):
    """A survey records the budget of each device with an endurance shown on the chip (device
    1: 1,200 cycles still switching, 2,400 pulses) and none for the others; the next sweep
    on the chip holds its device to it, counts the survey's pulses as the device's earlier
    wear, and says where its budget came from. The run's own ``[suspenders.wear] pulses``
    comes first."""
    store = RunStore(tmp_path / "runs.sqlite")
    description = lab_description(None, DEVICES, WIDTH, SEED)
    with store.run("endurance", {"lab": description, "device": 1}) as run:
        run.result = {"cycles": 1200, "moving_averages": {"100": [0.5, 0.47]}}
    with served(store) as (session, _):
        survey = session.survey(iterations=20, timing="hardware", devices=[0, 1])
        session.sweep(device=0, iterations=20, timing="hardware")
    assert survey.summary["wear"] == {"1": {
        "pulses": 2400, "source": f"endurance run {run.id}: 1200 cycles still switching"}}
    wear = store.provenance(_last_run(store).id)["wear"]
    assert wear["source"] == f"survey run {survey.run_id}"
    assert wear["devices"] == {"1": 2400}
    assert wear["earlier_pulses"] == survey.summary["pulses"]
    assert resolve_budget(300, store, description).source == "suspenders.wear.pulses"
    assert resolve_budget(None, store, description).of(1) == 2400
    assert resolve_budget(None, store, description).of(0) is None
    assert resolve_budget(None, store, {**description, "seed": 1}).source is None


def test_a_devices_own_endurance_run_sets_its_budget_and_no_paper_default(tmp_path):
    """A finished endurance run of device 2 that still switched at its end, 15,000 cycles:
    the survey budgets device 2 at 30,000 pulses and names the run; device 3, with none,
    gets no budget (paper 002 shows a life, not a failure point: module docstring)."""
    store = RunStore(tmp_path / "runs.sqlite")
    description = lab_description(None, DEVICES, WIDTH, SEED)
    with store.run("endurance", {"lab": description, "device": 2}) as run:
        run.result = {"cycles": 15000, "moving_averages": {"100": [0.5, 0.47]}}
    budgets = survey_budgets(store, description, [2, 3])
    assert budgets == {"2": {"pulses": 30000,
                             "source": f"endurance run {run.id}: 15000 cycles still switching"}}


def test_hil_characterise_takes_the_suspenders_table_of_a_run_toml(tmp_path, capsys):
    """``--suspenders run.toml``: the sweep watches as its ``[suspenders]`` table says (kept
    in the run's provenance); a bad value is refused by name before any instrument."""
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text("[suspenders]\npause = 5.0\n[suspenders.levels]\nenabled = false\n")
    bad.write_text("[suspenders.errors]\naction = \"retire\"\n")
    store = str(tmp_path / "runs.sqlite")
    sweep = ["--store", store, "characterise", "sweep", "--iterations", "20", "--devices", "2"]
    assert main([*sweep, "--suspenders", str(bad)]) == 2
    assert "suspenders.errors.action" in capsys.readouterr().err
    assert RunStore(store).list_runs() == []
    assert main([*sweep, "--suspenders", str(good)]) == 0
    watch = RunStore(store).provenance(1)["watch"]
    assert watch["levels"] == {"enabled": False} and watch["pause"] == 5.0
    assert watch["errors"] == {"action": "pause"} and watch["drift"] == {"enabled": False}


def test_a_survey_retires_a_device_already_past_its_life_before_any_pulse(tmp_path):
    """The lab file gives device 1 a life of 1,000 pulses and an unwatched sweep has spent
    more: the survey's look before each device retires it untouched (not one pulse of the
    survey reaches it) and surveys devices 0 and 2."""
    path = _lab_file(tmp_path, '[wear.devices]\n"1" = 1000\n')
    store = RunStore(tmp_path / "runs.sqlite")
    with served(store, description=lab_description(path)) as (session, virtual):
        session.watch = False
        session.sweep(device=1, iterations=ITERATIONS, timing="hardware")
        session.watch = None  # the defaults
        virtual.settle()
        before = virtual.chip.pulses_received.tolist()
        survey = session.survey(iterations=20, timing="hardware", devices=[0, 1, 2])
        virtual.settle()
        after = virtual.chip.pulses_received.tolist()
    assert survey.summary["grades"] == {"0": "usable", "1": "retired", "2": "usable"}
    assert "budget of 1000" in survey.summary["unusable"]["1"]
    assert after[1] == before[1] and after[0] > before[0] and after[2] > before[2]
    assert "1" not in survey.summary["pulses"]

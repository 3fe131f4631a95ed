"""Each suspender, the reconnection and the operator's requests, met through real sockets:
the virtual lab served on loopback with faults on its clock (simulators/lab/faults.py), a
lab bank's device calls watched (hil.session.watch), judged by what the emulated lab holds
(devices, outputs, settings) and by the run's stored record of events."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import numpy as np
import pytest
import torch

from hil.banks.calibration import nominal_calibration
from hil.banks.lab import LabBank
from hil.errors import ConfigError
from hil.nn.network import DeviceCurrents
from hil.session.lab import connect_virtual, virtual_devices
from hil.session.session import lab_description
from hil.session.suspenders import (
    Compliance,
    Drift,
    FieldBand,
    HallLevels,
    InstrumentErrors,
    StuckDevice,
    WatchSettings,
    WearBudget,
    suspenders_from_mapping,
)
from hil.session.watch import RunStopped, RunWatch, classify_failure
from protocols.store import RunStore
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.faults import FaultSchedule
from simulators.lab.server import VirtualLab
from simulators.presets import hall_bar_preset

DEVICES, SEED, WIDTH = 6, 0, 0.5e-6  # devices 0-3 in the network, 4 and 5 spare
ROWS = 100  # cycles per device call


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory):
    """A store holding one sweep of each device of the chip (calibrations come from it)."""
    store = RunStore(tmp_path_factory.mktemp("sweeps") / "runs.sqlite")
    with Watched(store, {}) as watched:
        watched.bank.measure_calibration(store, watched.description)
    return store


class Watched:
    """The served virtual lab with ``faults``, a lab bank on devices 0-3 calibrated from
    ``store``'s sweeps, and a watch over it in a run of ``store``."""

    def __init__(self, store: RunStore, faults: dict, settings: WatchSettings | None = None,
                 timing: str = "hardware") -> None:
        self.store, self.settings = store, settings or WatchSettings(suspenders=[])
        self.virtual = VirtualLab(build_chip(DEVICES, WIDTH, SEED), LabClock.for_bus("gpib"),
                                  faults=FaultSchedule.from_mapping(faults, DEVICES)).start()
        self.lab = connect_virtual(lab=self.virtual)
        if "drop" in faults:  # a dropped line is found after 3 s of wall time, not 10 (a
            self.lab.timeout_ms = 3000  # loaded machine's slowest virtual reply stays inside)
        self.lab.connect()
        self.description = lab_description(None, DEVICES, WIDTH, SEED)
        nominal = nominal_calibration(hall_bar_preset(WIDTH))
        self.bank = LabBank(self.lab, [0, 1, 2, 3], [nominal] * 4, timing=timing,
                            description=self.description)

    def __enter__(self) -> Watched:
        return self

    @contextlib.contextmanager
    def watch(self):
        """A run of the store with the watch attached (the run's own lifecycle)."""
        with self.store.run("train", {"test": True}) as run:
            self.run = run
            self.bank.measure_calibration(self.store, self.description)
            self.calibration = [list(self.bank.calibration)]
            self.currents = DeviceCurrents(self.bank, self.calibration[0])
            self.watcher = RunWatch(self.settings).attach(run, [self.bank], [self.currents],
                                                          self.calibration)
            yield self.watcher

    def batch(self, z: float = 0.0, rows: int = ROWS) -> np.ndarray:
        """One device call per neuron of ``rows`` cycles at I_bias + z I0, then the
        suspenders: the outcomes."""
        z_rows = np.full((rows, 4), z)
        currents = self.currents.currents(torch.from_numpy(z_rows)).numpy()
        out = self.bank.switch(currents)
        self.watcher.between_batches()
        return out

    def events(self) -> list[dict]:
        return self.store.provenance(self.run.id)["events"]

    def __exit__(self, *exc) -> None:
        self.bank.close()
        self.virtual.stop()


def _truth(device: int) -> dict:
    return virtual_devices(DEVICES, WIDTH, SEED)[device]


def test_a_dying_device_is_retired_and_a_spare_swept_takes_its_place(sweeps):
    """Device 1 dies at 40 lab s: within one window it is found switching never, retired,
    spare 4 is swept (a sweep run of its own) and the network's currents for neuron 1 are
    spare 4's; device 1 takes no pulse after that."""
    settings = WatchSettings(suspenders=[StuckDevice(window=ROWS)], spares=[4, 5])
    with Watched(sweeps, {"die": [{"device": 1, "at": 40.0}]}, settings) as w, w.watch():
        while w.virtual.clock.seconds < 40.0:
            w.batch()
        for _ in range(3):
            w.batch()
        pulses_then = w.bank.pulses()[1]
        w.batch()
        assert w.bank.pulses()[1] == pulses_then  # retired: no pulse reaches it
        events = w.events()
    retire = next(e for e in events if e["action"] == "retire" and e["suspender"] == "stuck")
    assert retire["device"] == 1 and retire["lab_t"] >= 40.0
    assert w.bank.devices == [0, 4, 2, 3]
    swept = next(e for e in events if e["action"] == "recalibrated")
    assert swept["device"] == 4
    sweep = sweeps.get_run(swept["sweep_run"])
    assert sweep.kind == "sweep" and sweep.config["device"] == 4 and sweep.status == "finished"
    assert w.currents.i_bias_np[1] == pytest.approx(_truth(4)["i_bias_50"], rel=0.03)
    assert w.calibration[0][1].i_bias == w.currents.i_bias_np[1]  # the run keeps it too


def test_with_no_spare_left_the_run_stops_with_outputs_off(sweeps):
    settings = WatchSettings(suspenders=[StuckDevice(window=ROWS)], spares=[])
    with Watched(sweeps, {"stuck": [{"device": 2, "at": 0.0, "state": -1}]}, settings) as w:
        with pytest.raises(RunStopped, match="device 2 retired .* no spare"), w.watch():
            for _ in range(5):
                w.batch()
        assert w.virtual.instruments["pulse"].output is False
        assert w.virtual.instruments["field"].output is False
        assert sweeps.get_run(w.run.id).status == "aborted"
        assert [e["action"] for e in w.events()][-1] == "stop"


def test_a_device_stuck_high_refuses_its_reset_and_the_call_is_replayed_on_a_spare(sweeps):
    """Stuck at +1: the cycle's reset check refuses it inside the call; it is retired then
    and the call replayed on spare 5 with the same z (the outcomes are spare 5's)."""
    settings = WatchSettings(suspenders=[StuckDevice(window=ROWS)], spares=[5])
    with Watched(sweeps, {"stuck": [{"device": 3, "at": 30.0, "state": 1}]}, settings) as w, \
            w.watch():
        outcomes = []
        while w.bank.devices[3] == 3:
            outcomes.append(w.batch(z=0.0))
            assert len(outcomes) < 30, "device 3 was never retired"
        events = w.events()
    assert w.bank.devices == [0, 1, 2, 5]
    assert all(o.shape == (ROWS, 4) for o in outcomes)  # every call whole, none doubled
    retire = next(e for e in events if e["action"] == "retire")
    assert retire["device"] == 3 and "did not reset" in retire["detail"]
    last = outcomes[-1][:, 3].mean()  # spare 5 at its own 50 % current
    assert 0.25 < last < 0.75


def test_drift_found_by_the_check_sweep_is_recalibrated(sweeps):
    """Device 2 drifts +1800 %/h from 30 lab s; the check each 20 lab s sees it and a sweep
    recalibrates it: the new I_bias is the drifted device's (truth x the lab's scale at
    the sweep, within 3 %), and the other devices are left alone."""
    settings = WatchSettings(suspenders=[Drift(every=20.0, tolerance=0.02)])
    faults = {"drift": [{"devices": [2], "percent_per_hour": 1800.0, "at": 30.0}]}
    with Watched(sweeps, faults, settings) as w, w.watch():
        before = list(w.currents.i_bias_np)
        while not any(e["action"] == "recalibrated" for e in w.events()):
            w.batch()
            assert w.virtual.clock.seconds < 200.0
        event = next(e for e in w.events() if e["action"] == "recalibrated")
        scale = w.virtual.schedule.drift_scale(2, event["lab_clock"])
    found = next(e for e in w.events() if e["suspender"] == "drift")
    assert found["device"] == 2 and found["i_bias_shift"] > 0
    assert event["device"] == 2
    assert w.currents.i_bias_np[2] == pytest.approx(_truth(2)["i_bias_50"] * scale, rel=0.03)
    assert w.currents.i_bias_np[2] > before[2] * 1.02
    assert list(w.currents.i_bias_np[[0, 1, 3]]) == [before[0], before[1], before[3]]


def test_a_dropped_connection_is_retried_with_backoff_and_the_call_replayed(sweeps):
    """The voltmeter drops every line for 6 lab s: the call is retried after 1, 2, 4 s of
    lab time (doubling), every instrument reopened with its outputs confirmed off and set
    up again, and the call played whole once more: its outcomes are ROWS per neuron, once."""
    with Watched(sweeps, {"drop": [{"role": "voltmeter", "at": 50.0, "duration": 6.0}]}) \
            as w, w.watch():
        while w.virtual.clock.seconds < 50.0:
            w.batch()
        out = w.batch()
        assert out.shape == (ROWS, 4)
        assert w.virtual.instruments["voltmeter"].nplc == 0.01  # set up again after *RST
        events = w.events()
    replays = [e for e in events if e["action"] == "replay"]
    assert [e["wait"] for e in replays][:3] == [1.0, 2.0, 4.0]
    assert any(e["action"] == "set up" and "outputs confirmed off" in e["detail"]
               for e in events)
    assert all(e["lab_t"] >= 50.0 for e in replays)


def test_a_power_cycled_voltmeter_is_found_reset_and_set_up_again(sweeps):
    """The 2000 powers up again at 50 lab s (settings at *RST: 1 PLC, autozero on): the
    batch it spoils is refused and played again, the power-on bit is found between
    batches, every instrument is opened again and set up, and the 2000 integrates at the
    bank's 0.01 PLC without autozero once more."""
    settings = WatchSettings(suspenders=[InstrumentErrors()], pause=1.0)
    with Watched(sweeps, {"power_cycle": [{"role": "voltmeter", "at": 50.0}]}, settings) \
            as w, w.watch():
        while w.virtual.clock.seconds < 50.0:
            w.batch()
        out = w.batch()
        meter = w.virtual.instruments["voltmeter"]
        assert out.shape == (ROWS, 4) and meter.nplc == 0.01 and not meter.autozero
        events = w.events()
    found = next(e for e in events if e["suspender"] == "errors")
    assert found["role"] == "voltmeter" and "found reset" in found["detail"]
    assert found["lab_t"] >= 50.0
    assert [e["action"] for e in events[-2:]] == ["set up", "resume"]


def test_an_instrument_error_between_batches_pauses_until_the_queue_is_empty(sweeps):
    settings = WatchSettings(suspenders=[InstrumentErrors()], pause=5.0)
    with Watched(sweeps, {"error": [{"role": "field", "at": 30.0, "code": -221}]}, settings) \
            as w, w.watch():
        while w.virtual.clock.seconds < 30.0:
            w.batch()
        w.batch()
        events = w.events()
        assert not w.virtual.instruments["field"].errors
    found = next(e for e in events if e["suspender"] == "errors")
    assert found["action"] == "pause" and found["role"] == "field" and "-221" in found["detail"]
    assert events[-1]["action"] == "resume"


def test_hall_readings_out_of_their_levels_pause_then_stop_with_outputs_off(sweeps):
    """A Hall offset moved by -1 mV (a contact gone bad: far beyond the +-70 uV step) puts
    every reading below the calibrated levels (software-timed: the hardware route's own
    read-window check refuses such a burst before any suspender sees it); the pauses find
    it still there and the run stops with outputs off."""
    settings = WatchSettings(suspenders=[HallLevels()], pause=1.0, max_pauses=2)
    with Watched(sweeps, {}, settings, timing="software") as w:
        with pytest.raises(RunStopped, match="still out of band after 2 pauses"), w.watch():
            w.batch(rows=5)
            w.virtual.chip.hall_offset -= 1e-3
            w.batch(rows=5)
        assert w.virtual.instruments["pulse"].output is False
        actions = [e["action"] for e in w.events()]
    assert actions[:4] == ["pause"] * 4 and actions[-1] == "stop"


def test_a_wear_budget_retires_devices_for_spares_until_none_is_left(sweeps):
    """A budget is a device's life: every device's calibration sweep in the store (about
    4,000 pulses) and this run's first batch put each past 1,500 at the first check: devices
    0 and 1 are retired for spares 4 and 5, device 2 finds none left and the run stops,
    outputs off; each event counts the run's pulses (the bank's record) and the earlier."""
    settings = WatchSettings(suspenders=[WearBudget(pulses=1500)], spares=[4, 5])
    with Watched(sweeps, {}, settings) as w:
        with pytest.raises(RunStopped, match="device 2 retired .*no spare"), w.watch():
            for _ in range(20):
                w.batch()
        events = w.events()
        assert w.virtual.instruments["pulse"].output is False
    retired = [(e["device"], e["spare"]) for e in events if e["suspender"] == "retire"
               and e["action"] == "retire"]
    assert retired == [(0, 4), (1, 5)]
    worn = [e for e in events if e["suspender"] == "wear"]
    assert all(e["pulses"] > 1500 for e in worn)
    assert all(w.bank.pulses()[e["device"]] >= e["run_pulses"] > 0 for e in worn)
    assert all(e["pulses"] == e["run_pulses"] + e["earlier_pulses"] for e in worn)
    assert all(e["earlier_pulses"] > 1500 for e in worn)


COIL = 0.05  # T/A: 0.4 A of the 2400 for paper 002's 200 Oe, the field the chip stands in


def _field_on(w: Watched, field: float = 0.02) -> None:
    """The coil driven at ``field`` (T), as a run that sets its own field has it."""
    w.lab.set_coil_constant(COIL)
    w.lab["field"].set_field(field)
    assert w.virtual.instruments["field"].output


def _batches_past(w: Watched, t: float) -> None:
    while w.virtual.clock.seconds < t:
        w.batch(rows=20)


@contextlib.contextmanager
def _coil_in_compliance(sweeps, settings: WatchSettings, stopped: str):
    """The coil on at 200 Oe, its resistance 50 ohm from 30 lab s, batches until the run
    stops with ``stopped``; the lab still open."""
    with Watched(sweeps, {"compliance": [{"role": "field", "at": 30.0, "resistance": 50.0}]},
                 settings) as w:
        with pytest.raises(RunStopped, match=stopped), w.watch():
            _field_on(w)
            _batches_past(w, 30.0)
            w.batch(rows=20)
        yield w


def test_a_coil_in_compliance_stops_the_run_with_outputs_off(sweeps):
    """The coil's resistance rises to 50 ohm at 30 lab s: the 2400 clamps at its 10 V
    compliance; between the next batches the run stops, the coil's and the 6221's outputs
    off, the event in the record with its lab time and the 2400's own volts and amps."""
    settings = WatchSettings(suspenders=[Compliance(), FieldBand()])
    with _coil_in_compliance(sweeps, settings, "compliance: in compliance") as w:
        assert w.virtual.instruments["field"].output is False
        assert w.virtual.instruments["pulse"].output is False
        assert w.virtual.chip.in_plane_field == w.virtual.chip.bias_field  # no coil field
        events = w.events()
    stop = events[-1]
    assert (stop["suspender"], stop["action"], stop["role"]) == ("compliance", "stop", "field")
    assert stop["lab_t"] is not None and stop["lab_clock"] >= 30.0
    assert stop["volts"] == pytest.approx(10.0) and stop["amps"] == pytest.approx(0.2)
    assert [e["suspender"] for e in events] == ["compliance"]


def test_a_pause_on_compliance_switches_the_coil_off_then_sets_it_again(sweeps):
    """``action = "pause"``: the coil off while the run waits (confirmed), set again after
    each pause, still in compliance: after two pauses the run stops, outputs off."""
    settings = WatchSettings(suspenders=[Compliance(action="pause")], pause=5.0,
                             max_pauses=2)
    with _coil_in_compliance(sweeps, settings, "still out of band after 2 pauses") as w:
        assert w.virtual.instruments["field"].output is False
        actions = [(e["suspender"], e["action"]) for e in w.events()]
    assert actions == [("compliance", "pause"), ("field", "off"), ("field", "set again"),
                       ("field", "set again"), ("compliance", "stop")]


def test_a_drifting_field_supply_is_set_again_and_the_run_stopped_when_it_stays_out(sweeps):
    """The 2400's output drifts +3600 %/h from 30 lab s (1 % each 10 s): the field read
    back leaves the 2 % band, the run pauses, sets it again, finds it still out and stops
    with its outputs off; the record says what was set and what was read."""
    settings = WatchSettings(suspenders=[Compliance(), FieldBand()], pause=5.0, max_pauses=2)
    with Watched(sweeps, {"field_drift": [{"at": 30.0, "percent_per_hour": 3600.0}]},
                 settings) as w:
        with pytest.raises(RunStopped, match="field: still out of band after 2 pauses"), \
                w.watch():
            _field_on(w)
            for _ in range(200):
                w.batch(rows=20)
        assert w.virtual.instruments["field"].output is False
        assert w.virtual.instruments["pulse"].output is False
        events = w.events()
    found = events[0]
    assert (found["suspender"], found["action"], found["role"]) == ("field", "pause", "field")
    assert found["lab_clock"] > 30.0 and found["field_set"] == 0.02
    assert found["field_read"] > 0.02 * 1.02
    assert [e["action"] for e in events[1:]] == ["set again", "set again", "stop"]


def test_a_power_cycled_field_supply_is_found_off_and_its_field_set_again(sweeps):
    """The 2400 powers up again at 30 lab s (output off, *RST): the field read back is
    zero where 200 Oe was set; the pause sets it again and the run resumes with the coil
    on at its field."""
    settings = WatchSettings(suspenders=[FieldBand()], pause=5.0)
    with Watched(sweeps, {"power_cycle": [{"role": "field", "at": 30.0}]}, settings) as w, \
            w.watch():
        _field_on(w)
        _batches_past(w, 30.0)
        w.batch(rows=20)
        coil = w.virtual.instruments["field"]
        assert coil.output and coil.coil_field() == pytest.approx(0.02)
        events = w.events()
    assert [(e["suspender"], e["action"]) for e in events] == [
        ("field", "pause"), ("field", "set again"), ("field", "resume")]
    assert events[0]["field_read"] == 0.0 and "output off" in events[0]["detail"]
    assert events[0]["lab_clock"] >= 30.0


@pytest.mark.parametrize("field", [0.02, None])
def test_the_field_suspenders_find_nothing_on_a_fault_free_run(sweeps, field):
    """With the coil on at 200 Oe (or never turned on) and no fault, nothing trips."""
    settings = WatchSettings(suspenders=[Compliance(), FieldBand()])
    with Watched(sweeps, {}, settings) as w, w.watch():
        if field is not None:
            _field_on(w, field)
        for _ in range(3):
            w.batch(rows=20)
        events = w.events()
    assert events == []


def test_pulse_counts_equal_the_chips_own_log_after_a_drop_and_a_power_cycle(sweeps):
    """A short night: the 2000 drops a line at 30 lab s (the call is repeated), the 6221
    powers up again at 40 lab s (found reset, every instrument set up again). The pulses
    the run records for each device (its lab record, replays included) are the pulses
    the chip itself saw reach that device (levels above the read current), none lost or
    counted twice; the spares took none."""
    faults = {"drop": [{"role": "voltmeter", "at": 30.0, "duration": 0.0}],
              "power_cycle": [{"role": "pulse", "at": 40.0}]}
    settings = WatchSettings(suspenders=[InstrumentErrors()], pause=1.0)
    with Watched(sweeps, faults, settings) as w, w.watch():
        w.virtual.chip.pulse_floor = w.bank.settings.read_current
        _batches_past(w, 45.0)
        w.virtual.settle()  # the lines already sent have reached the devices
        recorded = w.bank.lab_record()["pulses"]
        received = w.virtual.chip.pulses_received.tolist()
        log = w.virtual.schedule.log()
    assert [e["kind"] for e in log] == ["drop", "power_cycle"]
    assert min(recorded.values()) > 1000
    assert {int(d): n for d, n in recorded.items()} == {d: received[d] for d in range(4)}
    assert received[4:] == [0, 0]


def test_the_operator_pauses_resumes_and_aborts_between_batches(sweeps, tmp_path):
    """Pause, resume and abort (from another thread, as the GUI asks) take effect between
    batches; the abort stops the run with outputs off; the on_event command hears each."""
    told = tmp_path / "told.jsonl"
    settings = WatchSettings(suspenders=[], on_event=f"sh -c 'cat >> {told}; echo >> {told}'")
    with Watched(sweeps, {}, settings) as w:
        with pytest.raises(RunStopped, match="aborted"), w.watch() as watch:
            w.batch()
            watch.request("pause")  # e.g. from the GUI's thread
            timer = threading.Timer(0.5, watch.request, ("resume",))
            started = time.monotonic()
            timer.start()
            watch.between_batches()  # waits here until resumed
            assert time.monotonic() - started >= 0.4
            w.lab["field"].set_field(0.005)  # the coil on, as a field-sweeping run has it
            assert w.virtual.instruments["field"].output
            watch.request("abort")
            watch.between_batches()
        assert w.virtual.instruments["field"].output is False  # switched off by the stop
        assert w.virtual.instruments["pulse"].output is False
        actions = [(e["suspender"], e["action"]) for e in w.events()]
    assert actions == [("operator", "pause"), ("operator", "resume"), ("operator", "stop")]
    heard = [json.loads(line) for line in told.read_text().splitlines() if line]
    assert [(e["suspender"], e["action"]) for e in heard] == actions


def test_suspenders_from_a_runs_toml_are_on_by_default_and_checked_by_name():
    settings = suspenders_from_mapping(None)
    assert [s.name for s in settings.suspenders] == ["errors", "stuck", "levels", "drift",
                                                     "wear", "compliance", "field"]
    assert settings.suspenders[5].action == "stop" and settings.suspenders[6].action == "pause"
    custom = suspenders_from_mapping({"spares": [7], "drift": {"every": 600.0},
                                      "levels": {"enabled": False},
                                      "field": {"tolerance": 0.05},
                                      "compliance": {"action": "pause"}})
    assert [s.name for s in custom.suspenders] == ["errors", "stuck", "drift", "wear",
                                                   "compliance", "field"]
    assert custom.suspenders[2].every == 600.0 and custom.spares == [7]
    assert custom.suspenders[4].action == "pause" and custom.suspenders[5].tolerance == 0.05
    assert custom.describe()["field"] == {"action": "pause", "tolerance": 0.05,
                                          "floor": 1e-4}
    for raw, field in (({"drift": {"tolerance": 2.0}}, "suspenders.drift.tolerance"),
                       ({"stuck": {"action": "ignore"}}, "suspenders.stuck.action"),
                       ({"errors": {"action": "retire"}}, "suspenders.errors.action"),
                       ({"reconnect": {"factor": 0.5}}, "suspenders.reconnect.factor"),
                       ({"spare": [1]}, "suspenders.spare"),
                       ({"field": {"tolerance": 2.0}}, "suspenders.field.tolerance"),
                       ({"compliance": {"action": "retire"}}, "suspenders.compliance.action")):
        with pytest.raises(ConfigError) as refused:
            suspenders_from_mapping(raw)
        assert refused.value.field == field


def test_failures_are_sorted_into_connection_device_and_others():
    from protocols.cycle import NOT_RESET
    from protocols.errors import ProtocolError

    assert classify_failure(OSError("reset by peer")) == "connection"
    assert classify_failure(ProtocolError("failed 4 times: timeout")) == "connection"
    assert classify_failure(ProtocolError(f"{NOT_RESET}; the batch is refused")) == "device"
    assert classify_failure(ProtocolError("refused 4 times, even 2x slower")) is None


def test_an_open_contact_runs_the_6221_into_compliance_and_the_device_is_retired(sweeps):
    """Device 1's contact opens at 30 lab s: its next call runs the 6221 into its 10 V
    compliance (Reference Manual Fig. 11-6, B3), the suspender names device 1 between the
    batches, it is retired and spare 4, swept, takes its place; device 1 gets no current
    from the fault on and no pulse after the retirement. The event carries its lab time."""
    settings = WatchSettings(suspenders=[Compliance()], spares=[4, 5])
    with Watched(sweeps, {"open": [{"device": 1, "at": 30.0}]}, settings) as w, w.watch():
        _batches_past(w, 30.0)
        w.batch(rows=20)
        pulses_then = w.bank.pulses()[1]
        w.batch(rows=20)
        assert w.bank.pulses()[1] == pulses_then  # retired: no call reaches it
        events = w.events()
        log = w.virtual.schedule.log()
    trip = next(e for e in events if e["suspender"] == "compliance")
    assert (trip["action"], trip["device"], trip["role"]) == ("retire", 1, "pulse")
    assert trip["compliance_volts"] == 10.0
    assert trip["lab_clock"] >= 30.0 and trip["lab_t"] is not None
    assert w.bank.devices == [0, 4, 2, 3]
    swept = next(e for e in events if e["action"] == "recalibrated")
    assert swept["device"] == 4
    assert [(e["kind"], e["device"]) for e in log] == [("open", 1)]
    assert log[0]["struck"] >= 30.0


def test_compliance_on_the_pulse_source_can_stop_the_run_with_outputs_off(sweeps):
    """``pulse_action = "stop"``, device 2 open from the start: its first call (the levels
    probed) finds no switching step, and the 6221's compliance says why: the run stops
    with its outputs off, the device named, none retired."""
    settings = WatchSettings(suspenders=[Compliance(pulse_action="stop")], spares=[4, 5])
    with Watched(sweeps, {"open": [{"device": 2, "at": 0.0}]}, settings) as w:
        with pytest.raises(RunStopped, match="compliance: the pulse source reached its 10 V "
                           "compliance driving device 2"), w.watch():
            for _ in range(3):
                w.batch(rows=20)
        assert w.virtual.instruments["pulse"].output is False
        assert w.virtual.chip.received[2] == 0.0  # open from the start: it never had any
        stop = w.events()[-1]
    assert (stop["suspender"], stop["action"], stop["device"]) == ("compliance", "stop", 2)
    assert w.bank.devices == [0, 1, 2, 3]


def test_the_pulse_source_trips_nothing_on_a_fault_free_run(sweeps):
    """No fault: every call's load is a device's 950 ohm channel and the leads, far under
    the 6221's 10 V compliance for its pulses; nothing trips, nothing is retired."""
    settings = WatchSettings(suspenders=[Compliance()], spares=[4, 5])
    with Watched(sweeps, {}, settings) as w, w.watch():
        for _ in range(3):
            w.batch(rows=20)
        events = w.events()
        pulse = w.virtual.instruments["pulse"]
    assert events == [] and pulse.measurement_event == 0
    assert w.bank.devices == [0, 1, 2, 3]

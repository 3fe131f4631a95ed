"""A run that watches itself: the suspenders (``hil.session.suspenders``) checked between
batches, their actions (pause, recalibrate, retire the device for a spare, stop with outputs
off), reconnection with backoff and the replay of an interrupted device call, and the
operator's pause, resume and abort, each recorded as an event of the run with its lab time.

A watch serves a run's lab banks (``hil.banks.lab.LabBank``: ``devices``, ``lab``,
``cycle_for``, ``calibration``): each bank hands it every device call
(:meth:`RunWatch.device_call`), and the trainer calls :meth:`RunWatch.between_batches`
after each batch. A device call that fails on the way (a dropped connection, a time-out, an
instrument found reset) is retried after a wait that grows each time; on reconnection every
instrument is opened again as at the run's start (outputs read back and confirmed off, the
guard's policed settings read back, ``*RST``), set up again, and the call is played again from
its first cycle: its partial readings are dropped, never counted twice (its pulses are
counted, as the device took them). Events go to the run's provenance (``events``) as they
happen, to subscribers (a GUI, ``hil runs watch``) and to the ``on_event`` command.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from pyvisa.errors import VisaIOError

from hil.session.suspenders import Trip, WatchSettings
from hil.session.wear import earlier_pulses, resolve_budget
from instruments.errors import InstrumentError, LabConnectionError
from protocols.cycle import NOT_RESET
from protocols.errors import ProtocolError
from protocols.store import RunAborted

__all__ = ["RunStopped", "RunWatch", "classify_failure", "watch_run"]
log = logging.getLogger(__name__)

# what a device call or a sweep may meet on the way (classify_failure sorts them)
FAILURES = (ProtocolError, InstrumentError, LabConnectionError, VisaIOError, OSError)
LEVELS_BACK = 0.25  # a probed R_AHE level within a quarter of the step of the calibrated one


class RunStopped(RunAborted):
    """A suspender (or the operator) stopped the run between batches, outputs off."""


def classify_failure(err: BaseException) -> str | None:
    """What a failed device call met: ``connection`` (lost, late, garbled, an instrument
    found reset or reporting an error: reconnect, set up again, replay), ``device`` (the
    device refused its reset or shows no switching step: stuck or dead), or None (not ours
    to handle: raised)."""
    if isinstance(err, (VisaIOError, OSError, ConnectionError, LabConnectionError)):
        return "connection"
    text = str(err)
    if isinstance(err, ProtocolError):
        if NOT_RESET in text or "levels not separated" in text:
            return "device"
        if ("failed " in text and " times" in text) or "reset itself" in text \
                or "reported" in text:
            return "connection"
        return None
    if isinstance(err, InstrumentError) and ("garbled" in text or "unreadable" in text):
        return "connection"
    return None


def _is_lab_bank(bank: Any) -> bool:
    return all(hasattr(bank, name) for name in ("lab", "devices", "cycle_for", "watch"))


class RunWatch:
    """The suspenders and the reconnection of one run (``settings``, defaults on)."""

    def __init__(self, settings: WatchSettings | None = None) -> None:
        self.settings = settings or WatchSettings()
        self.events: list[dict[str, Any]] = []
        self.subscribers: list[Callable[[dict], None]] = []
        # told after each batch, before the operator's requests and the suspenders (a live
        # view counts batches and reads the devices' state then)
        self.batch_listeners: list[Callable[[RunWatch], None]] = []
        self.batches = 0  # batches this watch has seen end
        self.banks: list[Any] = []
        self.devices: list[Any] = []  # per layer: the network's DeviceCurrents
        self.calibration: list[list[Any]] = []  # per layer: the run's calibration (kept)
        self.run = None
        self.store = None
        self.retired: list[int] = []
        self._next: dict[str, float] = {}
        self._earlier: dict[int, int] | None = None
        self._layer: dict[int, int] = {}
        # the pulse source's compliance: trips found after device calls, and the devices
        # called since the last check where one check between batches names the device
        self._pulse_found: list[Trip] = []
        self._called: dict[int, dict[tuple[int, int], int]] = {}
        self._pause = threading.Event()
        self._abort = threading.Event()
        self._resume = threading.Event()

    # -- attaching to a run ----------------------------------------------------------
    def attach(self, run, banks: Sequence[Any], devices: Sequence[Any],
               calibration: list[list[Any]], store=None) -> RunWatch:
        """Watch ``run`` on ``banks`` (one per layer; lab banks only are watched), the
        network's ``devices`` (DeviceCurrents) and the run's ``calibration`` (updated in
        place when a device is recalibrated or replaced)."""
        self.run, self.store = run, store if store is not None else run.store
        self.banks, self.devices, self.calibration = list(banks), list(devices), calibration
        for layer, bank in enumerate(self.banks):
            if _is_lab_bank(bank):
                bank.watch = self
                self._layer[id(bank)] = layer
        earlier = self.store.provenance(run.id).get("events", []) if run.resumed else []
        self.events = list(earlier)
        self.retired = [e["device"] for e in self.events if e.get("action") == "retire"]
        self._earlier = None
        wear = self._resolve_wear()
        self._pulse_found, self._called = [], {}
        if self._pulse_watched():  # a latch from before this run blames none of its devices
            for lab in self._labs():
                self._pulse_tripped(lab)
        run.describe(watch=self.settings.describe(), events=self.events,
                     **({"wear": wear} if wear is not None else {}))
        return self

    def lab_description(self) -> dict | None:
        """The watched lab's description (a run's ``lab``), from its first lab bank."""
        return next((b.description for b in self.lab_banks
                     if getattr(b, "description", None)), None)

    def _resolve_wear(self) -> dict | None:
        """Each wear suspender's budget for this run (``hil.session.wear``: its own
        setting, the lab file's, the newest survey's), as the provenance keeps it."""
        found = None
        for suspender in self.settings.suspenders:
            if suspender.name == "wear":
                suspender.budget = resolve_budget(suspender.pulses, self.store,
                                                  self.lab_description())
                found = {**suspender.budget.describe(),
                         "earlier_pulses": {str(d): n for d, n in
                                            sorted(self.earlier_pulses().items())}}
        return found

    def earlier_pulses(self) -> dict[int, int]:
        """device -> pulses the store's other runs on this chip recorded (a device's wear
        before this run; again after each sweep this watch ran)."""
        if self._earlier is None:
            self._earlier = ({} if self.store is None else earlier_pulses(
                self.store, self.lab_description(), getattr(self.run, "id", None)))
        return self._earlier

    @property
    def lab_banks(self) -> list[Any]:
        """The attached banks on a lab, the only ones whose devices are watched (a model
        bank has no instruments to check or reconnect)."""
        return [b for b in self.banks if id(b) in self._layer]

    def _labs(self) -> list[Any]:
        labs: dict[int, Any] = {}
        for bank in self.lab_banks:
            labs.setdefault(id(bank.lab), bank.lab)
        return list(labs.values())

    # -- what the suspenders ask -----------------------------------------------------
    def device_of(self, layer: int, neuron: int) -> int | None:
        """The device number behind a layer's neuron, for events and the live view; None
        off a lab bank."""
        bank = self.banks[layer]
        return bank.devices[neuron] if id(bank) in self._layer else None

    def neurons(self, measured: bool = False):
        """(layer, neuron, calibration) of every watched neuron (``measured``: only those
        whose calibration is their device's own sweep)."""
        for bank in self.lab_banks:
            layer = self._layer[id(bank)]
            for neuron in range(len(bank.devices)):
                if not measured or self.measured(layer, neuron):
                    yield layer, neuron, self.calibration[layer][neuron]

    def measured(self, layer: int, neuron: int) -> bool:
        """The neuron's calibration is its device's own sweep (not a nominal device)."""
        sweeps = getattr(self.banks[layer], "calibration_sweeps", None)
        return bool(sweeps) and sweeps[neuron] is not None

    def lab_seconds(self) -> float | None:
        """The run's lab time so far (s), summed over its resumes as the store keeps it, else
        the sum of its lab banks'; None where nothing keeps lab time. Schedules checks."""
        if self.run is not None and self.run.lab_seconds is not None:
            return float(self.run.lab_seconds)
        values = [b.lab_seconds for b in self.lab_banks if b.lab_seconds is not None]
        return sum(values) if values else None

    def due(self, name: str, every: float) -> bool:
        """True once each time the run's lab time passes a multiple of ``every`` (the
        same instants after a resume)."""
        now = self.lab_seconds() or 0.0
        following = (math.floor(now / every) + 1) * every
        due = self._next.setdefault(name, following)
        if now < due:
            return False
        self._next[name] = following
        return True

    def check_cycles(self, layer: int, neuron: int, current: float, cycles: int) -> int:
        """Switches of ``cycles`` cycles of the neuron's device at ``current`` (a check
        between batches: replayed like any device call, never a training reading)."""
        bank = self.banks[layer]
        current = float(min(current, bank.max_current[neuron]))
        readings = self.device_call(bank, neuron, np.full(cycles, current),
                                    bank.device_readings, observe=False)
        return sum(r.switched for r in readings)

    def pulse_counts(self):
        """(layer, neuron, pulses so far, replays included) of every watched device."""
        for bank in self.lab_banks:
            pulses = bank.pulses()
            for neuron, device in enumerate(bank.devices):
                yield self._layer[id(bank)], neuron, pulses.get(device, 0)

    def _supplies(self):
        """(lab, field supply) of every watched lab that has one open."""
        for lab in self._labs():
            supply = lab.instruments.get("field")
            if supply is not None:
                yield lab, supply

    def supply_readings(self) -> list[tuple[str, float | None, Any, bool]]:
        """(role, field the run set or None, CoilReading, in compliance) of every field
        supply the run turned on (one it never turned on is off since the lab opened it,
        and is not asked); an unreachable one is left to the reconnection."""
        out = []
        for _, supply in self._supplies():
            if not getattr(supply, "sourcing", False):
                continue
            try:
                out.append(("field", supply.field_set, supply.read_back(),
                            supply.compliance_tripped()))
            except (InstrumentError, VisaIOError, OSError, ConnectionError) as err:
                log.warning("field supply unreadable between batches: %s", err)
        return out

    # -- the pulse source's compliance -----------------------------------------------
    def _pulse_watched(self) -> bool:
        return any(getattr(s, "watches_pulse", False) for s in self.settings.suspenders)

    def _pulse_tripped(self, lab) -> bool:
        """The lab's 6221 reached its compliance since last asked (``PulseSource.
        compliance_tripped``, which clears the latch); an unreachable one is left to the
        reconnection."""
        pulse = lab.instruments.get("pulse")
        if pulse is None or not hasattr(pulse, "compliance_tripped"):
            return False
        try:
            return bool(pulse.compliance_tripped())
        except (InstrumentError, VisaIOError, OSError, ConnectionError) as err:
            log.warning("pulse source unreadable after a device call: %s", err)
            return False

    def _pulse_trip(self, lab, layer: int, neuron: int, device: int) -> Trip:
        pulse = lab.instruments.get("pulse")
        try:
            volts = float(pulse.source_compliance)
        except (InstrumentError, VisaIOError, OSError, ConnectionError, ValueError):
            volts = math.nan
        return Trip(f"the pulse source reached its {volts:g} V compliance driving device "
                    f"{device}: its current contact is open (the device got no current, or "
                    "less than programmed)", layer, neuron, device, role="pulse",
                    values={"compliance_volts": volts})

    def _note_call(self, bank, layer: int, neuron: int, device: int) -> None:
        """After a device call: the pulse source asked at once where the bank's calls
        route several devices between checks (which one opened is known only now); else
        the call is noted, and the check between batches names its device."""
        if not self._pulse_watched():
            return
        if len(bank.devices) == 1 and len(self.lab_banks) == 1:
            self._called.setdefault(id(bank.lab), {})[(layer, neuron)] = device
        elif self._pulse_tripped(bank.lab):
            self._pulse_found.append(self._pulse_trip(bank.lab, layer, neuron, device))

    def pulse_compliance(self) -> list[Trip]:
        """The devices whose calls ran the pulse source into its compliance since the last
        check (Model 6220/6221 Reference Manual section 11: the measurement event register's
        B3, or the condition register's while a level is held there), each a Trip naming
        its layer, neuron and device (role ``pulse``)."""
        found, self._pulse_found = self._pulse_found, []
        called, self._called = self._called, {}
        for lab in self._labs():
            calls = called.get(id(lab))
            if calls and self._pulse_tripped(lab):
                found += [self._pulse_trip(lab, layer, neuron, device)
                          for (layer, neuron), device in calls.items()]
        return found

    def supply_off(self, trips: list[Trip]) -> None:
        """The field supplies of ``trips`` switched off (confirmed), the field each was
        set to kept in its trip, to be set again."""
        if any(t.role == "field" for t in trips):
            for _, supply in self._supplies():
                supply.shutdown()
            self.record("field", "off", detail="the field supply's output off while the "
                        "run pauses (confirmed by OUTP?)")

    def set_field_again(self, trips: list[Trip]) -> None:
        """The field each trip says the run set, set again on its supply."""
        wanted = next((t.values.get("field_set") for t in trips if t.role == "field"), None)
        if wanted is None:
            return
        for _, supply in self._supplies():
            supply.set_field(float(wanted))
        self.record("field", "set again", detail=f"the field set again: "
                    f"{float(wanted) * 1e4:.2f} Oe", field_set=float(wanted))

    def instrument_trouble(self) -> list[Trip]:
        """Every open instrument's error queue (emptied by reading it) and power-on flag."""
        trips = []
        for lab in self._labs():
            for role, instrument in list(lab.instruments.items()):
                try:
                    if instrument.power_on_flag():
                        trips.append(Trip("found reset: its settings are back at the *RST "
                                          "defaults (*ESR? PON)", role=role))
                    instrument.check_errors()
                except InstrumentError as err:
                    trips.append(Trip(str(err), role=role))
                except (VisaIOError, OSError, ConnectionError) as err:
                    trips.append(Trip(f"unreachable: {err}", role=role))
        return trips

    # -- between batches -------------------------------------------------------------
    def between_batches(self) -> None:
        """The batch counted (and its listeners told), the operator's requests, then every
        suspender in turn, each acting on what it finds."""
        self.batches += 1
        for listener in self.batch_listeners:
            listener(self)
        self._obey_operator()
        for suspender in self.settings.suspenders:
            trips = suspender.check(self)
            if trips:
                self._act(suspender, trips)

    @property
    def paused(self) -> bool:
        """The operator asked for a pause and has not asked to resume or abort."""
        return self._pause.is_set() and not self._abort.is_set()

    def request(self, what: str) -> None:
        """The operator's ``pause``, ``resume`` or ``abort``, taken between batches (from
        any thread: a GUI's, a signal handler's)."""
        if what == "pause":
            self._resume.clear()
            self._pause.set()
        elif what == "resume":
            self._pause.clear()
            self._resume.set()
        elif what == "abort":
            self._abort.set()
            self._resume.set()
        else:
            raise ValueError(f"request {what!r} is not one of pause, resume, abort")

    def _obey_operator(self) -> None:
        if self._pause.is_set() and not self._abort.is_set():
            self.record("operator", "pause", detail="paused between batches")
            self._resume.wait()
            if not self._abort.is_set():
                self.record("operator", "resume", detail="resumed")
        if self._abort.is_set():
            self.stop("operator", "aborted between batches")

    def _act(self, suspender, trips: list[Trip]) -> None:
        """Each trip acted on as its suspender says (``Suspender.action_for``): a stop
        first (every other trip recorded as found), then each other action in turn."""
        actions = [suspender.action_for(trip) for trip in trips]
        if "stop" in actions:
            first = actions.index("stop")
            for trip in trips[:first] + trips[first + 1:]:
                self.record(suspender.name, "found", trip)
            self.stop(suspender.name, trips[first].detail, trips[first])
        for action in dict.fromkeys(actions):
            self._act_on(suspender, action, [t for t, a in zip(trips, actions, strict=True)
                                             if a == action])

    def _act_on(self, suspender, action: str, trips: list[Trip]) -> None:
        for trip in trips:
            self.record(suspender.name, action, trip)
        if action == "pause":
            self._pause_until_back(suspender, trips)
        for trip in trips:
            if trip.layer is None:
                continue
            if action == "recalibrate":
                shift = trip.values.get("i_bias_shift")
                centre = (None if shift is None or trip.values.get("saturated") else
                          self.calibration[trip.layer][trip.neuron].i_bias + shift)
                self.recalibrate(trip.layer, trip.neuron, f"{suspender.name}: {trip.detail}",
                                 centre)
            elif action == "retire":
                self.retire(trip.layer, trip.neuron, f"{suspender.name}: {trip.detail}")

    def _pause_until_back(self, suspender, trips: list[Trip]) -> None:
        """Wait (lab time) and look again, up to ``max_pauses`` times, as the suspender
        looks (``Suspender.look_again``)."""
        suspender.before_pause(self, trips)
        for _ in range(self.settings.max_pauses):
            self.wait(self.settings.pause)
            trips = suspender.look_again(self, trips)
            if not trips:
                self.record(suspender.name, "resume", detail="back in band")
                return
        self.stop(suspender.name, f"still out of band after {self.settings.max_pauses} "
                  f"pauses: {trips[0].detail}", trips[0])

    def look_again(self, trips: list[Trip]) -> list[Trip]:
        """The trips still out of band after a pause: instruments are set up again and
        their state read; devices have their levels probed."""
        if any(t.role is not None for t in trips):
            self.reconnect_all("set up again after: " + "; ".join(
                f"{t.role}: {t.detail}" for t in trips if t.role is not None))
            trips = [t for t in trips if t.role is None] + self.instrument_trouble()
        return [t for t in trips if t.role is not None or not self._levels_back(t)]

    def _levels_back(self, trip: Trip) -> bool:
        """The device's R_AHE levels probed again (reset and strong write, as calibrated):
        back within a quarter of the step of the calibrated ones."""
        bank = self.banks[trip.layer]
        rwr = bank.cycle_for(bank.devices[trip.neuron])
        before = rwr.levels
        try:
            rwr.calibrate()
        except ProtocolError:
            rwr.levels = before
            return False
        step = before[1] - before[0]
        back = all(abs(a - b) <= LEVELS_BACK * step for a, b in zip(rwr.levels, before,
                                                                      strict=True))
        if not back:
            rwr.levels, rwr.threshold = before, (before[0] + before[1]) / 2
        return back

    # -- actions ---------------------------------------------------------------------
    def wait(self, seconds: float) -> None:
        """A pause on the lab's clock (counted on the virtual lab, slept on a rig)."""
        labs = self._labs()
        if labs:
            labs[0].wait(seconds)
        else:
            time.sleep(seconds)

    def stop(self, suspender: str, detail: str, trip: Trip | None = None) -> None:
        """Every output off (read back) and the run stopped, recorded."""
        self.record(suspender, "stop", trip, detail=detail)
        for lab in self._labs():
            lab.outputs_off()
        raise RunStopped(f"{suspender}: {detail} (outputs off)")

    def recalibrate(self, layer: int, neuron: int, reason: str,
                    centre: float | None = None) -> None:
        """A sweep of the neuron's device, recorded as a run of its own (graded like any
        sweep), and the network goes on with its fit; unusable: the device is retired.
        ``centre``: where its 50 % current is thought to be now (the sweep's 15 currents
        span +-5 I0 around it, protocols.sweep's grid); None: the sweep searches."""
        from protocols.sweep import fifty_percent_current

        bank = self.banks[layer]
        device = bank.devices[neuron]
        session = bank.calibration_session(self.store)  # the bank's lab, borrowed
        old = self.calibration[layer][neuron]
        grid = None if centre is None else np.linspace(centre - 5 * old.i0,
                                                       centre + 5 * old.i0, 15)
        if grid is not None:
            grid = np.clip(grid, 0.0, bank.max_current[neuron])
        waits = iter(self.settings.reconnect.waits())
        while True:  # a sweep cut short by a lost connection stays failed; a new one runs
            try:
                result = session.sweep(device, currents=grid, timing=bank.timing,
                                       iterations=self.settings.sweep_iterations,
                                       cycle=dataclasses.asdict(bank.settings))
                break
            except FAILURES as err:
                kind = classify_failure(err)
                if kind == "device":  # it shows no switching step: it cannot be swept
                    self.record("recalibrate", "unusable", Trip(
                        f"its sweep failed: {err}", layer, neuron, device))
                    self.retire(layer, neuron, f"no sweep after {reason}: {err}")
                    return
                if kind != "connection":
                    raise
                self._reconnect_after(err, next(waits, None), Trip(
                    f"{err}; its sweep is swept again", layer, neuron, device))
            finally:
                self._earlier = None  # the sweep's pulses are the device's wear too
        summary = result.summary
        if not summary.get("usable", True):
            self.record("recalibrate", "unusable", Trip(
                f"its sweep (run {result.run_id}) is unusable: {summary.get('reason', '')}",
                layer, neuron, device), sweep_run=result.run_id)
            self.retire(layer, neuron, f"unusable sweep after {reason}")
            return
        new = dataclasses.replace(old, i_bias=fifty_percent_current(summary),
                                  i0=float(summary["i0"]))
        self._set_calibration(layer, neuron, new)
        bank.calibration_sweeps[neuron] = result.run_id
        self.record("recalibrate", "recalibrated", Trip(
            f"swept (run {result.run_id}): I_bias {old.i_bias * 1e3:.4f} -> "
            f"{new.i_bias * 1e3:.4f} mA, I0 {old.i0 * 1e6:.2f} -> {new.i0 * 1e6:.2f} uA "
            f"({reason})", layer, neuron, device,
            values={"i_bias": new.i_bias, "i0": new.i0, "old_i_bias": old.i_bias,
                    "old_i0": old.i0}), sweep_run=result.run_id)

    def _set_calibration(self, layer: int, neuron: int, new) -> None:
        bank, currents = self.banks[layer], self.devices[layer]
        bank.calibration[neuron] = new
        self.calibration[layer][neuron] = new
        currents.i_bias_np[neuron] = new.i_bias  # the network's tensors share these arrays
        currents.i0_np[neuron] = new.i0
        for suspender in self.settings.suspenders:
            suspender.forget(layer, neuron)

    def retire(self, layer: int, neuron: int, reason: str) -> None:
        """The neuron's device is retired; the next spare takes its place (swept, and the
        network told its calibration), or the run stops cleanly if none is left."""
        bank = self.banks[layer]
        device = bank.devices[neuron]
        self.retired.append(device)
        in_use = {d for b in self.lab_banks for d in b.devices}
        spare = next((d for d in self.settings.spares
                      if d not in in_use and d not in self.retired), None)
        if spare is None:
            self.stop("retire", f"device {device} retired ({reason}) and no spare is left",
                      Trip(reason, layer, neuron, device))
        bank.devices[neuron] = spare
        bank.calibration_sweeps[neuron] = None
        self.record("retire", "retire", Trip(f"retired ({reason}); spare {spare} takes its "
                                             "place", layer, neuron, device),
                    spare=spare)
        self.recalibrate(layer, neuron, f"spare for device {device}")

    # -- reconnection and replay -----------------------------------------------------
    def device_call(self, bank, neuron: int, currents: np.ndarray,
                    call: Callable[[int, np.ndarray], list], observe: bool = True) -> list:
        """``call(device, currents)`` on the neuron's device, its readings handed to the
        suspenders; a lost connection is retried with backoff and the call replayed from
        its start; a device that refuses its reset is retired and the call replayed on its
        spare (the currents mapped through the two calibrations: the same z)."""
        layer = self._layer[id(bank)]
        waits = iter(self.settings.reconnect.waits())
        while True:
            device = bank.devices[neuron]
            try:
                readings = call(device, currents)
            except FAILURES as err:
                kind = classify_failure(err)
                if kind is None:
                    raise
                if kind == "device":
                    currents = self._device_failed(layer, neuron, device, currents, err)
                    continue
                self._reconnect_after(err, next(waits, None), Trip(
                    f"{err}; the call of {len(currents)} cycles is replayed", layer, neuron,
                    device))
                continue
            self._note_call(bank, layer, neuron, device)
            if observe:
                rwr = bank.cycle_for(device) if device in bank.routed_devices() else None
                levels = None if rwr is None else rwr.levels
                measured = self.measured(layer, neuron)
                for suspender in self.settings.suspenders:
                    if suspender.needs_calibration and not measured:
                        continue  # (a call may return its first batch only: its currents)
                    suspender.observe(layer, neuron, currents[:len(readings)], readings,
                                      self.calibration[layer][neuron], levels)
            return readings

    def _reconnect_after(self, err: BaseException, wait: float | None, trip: Trip) -> None:
        """Wait ``wait`` lab seconds and reconnect (recorded); None: the retries are spent,
        the run stops with its outputs off."""
        if wait is None:
            self.stop("reconnect", f"{err}: still failing after "
                      f"{self.settings.reconnect.tries} reconnections", trip)
        trip.values["wait"] = wait
        self.record("reconnect", "replay", trip)
        self.wait(wait)
        try:
            self.reconnect_all(f"after: {err}")
        except (LabConnectionError, InstrumentError, VisaIOError, OSError) as again:
            log.warning("reconnection failed: %s", again)

    def _device_failed(self, layer: int, neuron: int, device: int, currents: np.ndarray,
                       err: BaseException) -> np.ndarray:
        compliance = next((s for s in self.settings.suspenders
                           if getattr(s, "watches_pulse", False)), None)
        if compliance is not None and self._pulse_tripped(self.banks[layer].lab):
            # no switching because no current: the pulse source says the contact is open
            trip = self._pulse_trip(self.banks[layer].lab, layer, neuron, device)
            trip.values["failure"] = str(err)
            if compliance.action_for(trip) == "stop":
                self.stop(compliance.name, trip.detail, trip)
            self.record(compliance.name, "retire", trip)
            reason = f"{compliance.name}: {trip.detail}"
        else:
            stuck = next((s for s in self.settings.suspenders if s.name == "stuck"), None)
            if stuck is None or stuck.action == "stop":
                self.stop("stuck", str(err), Trip(f"{err}", layer, neuron, device))
            reason = f"stuck: {err}"
        old = self.calibration[layer][neuron]
        self.retire(layer, neuron, reason)
        new = self.calibration[layer][neuron]
        bank = self.banks[layer]
        mapped = new.i_bias + new.i0 * (np.asarray(currents) - old.i_bias) / old.i0
        return np.clip(mapped, 0.0, bank.max_current[neuron])

    def reconnect_all(self, why: str) -> None:
        """Every instrument of every watched lab opened again as at the run's start (source
        outputs read back and confirmed off, the guard's settings read back, ``*RST;*CLS``),
        then each device's cycle set up again."""
        fields = {id(lab): (supply.field_set, supply.coil_constant)
                  for lab, supply in self._supplies() if supply.field_set is not None}
        for lab in self._labs():
            for role in list(lab.roles):
                lab.reconnect(role)
            for role in ("pulse", "field"):
                if role in lab.instruments:
                    lab.instruments[role].confirm_output_off()
        for bank in self.lab_banks:
            bank.set_up_again()
        again = ""
        for lab, supply in self._supplies():  # the field the run had set, set again
            if id(lab) in fields:
                field, supply.coil_constant = fields[id(lab)]
                supply.set_field(field)
                again = f", the field set again ({field * 1e4:.2f} Oe)"
        self.record("reconnect", "set up", detail=f"every instrument reopened, outputs "
                    f"confirmed off, settings set up again{again} ({why})")

    # -- the record ------------------------------------------------------------------
    def record(self, suspender: str, action: str, trip: Trip | None = None,
               detail: str | None = None, **extra: Any) -> dict[str, Any]:
        """An event: stored in the run's provenance at once, handed to each subscriber and
        to the ``on_event`` command."""
        clock = next((lab.clock for lab in self._labs() if lab.clock is not None), None)
        event: dict[str, Any] = {
            "lab_t": self.lab_seconds(), "wall": time.time(),
            "lab_clock": None if clock is None else float(clock.seconds),
            "suspender": suspender, "action": action,
            "detail": detail if detail is not None else (trip.detail if trip else "")}
        if trip is not None:
            event.update({k: v for k, v in (("layer", trip.layer), ("neuron", trip.neuron),
                                            ("device", trip.device), ("role", trip.role))
                          if v is not None})
            event.update(trip.values)
        event.update(extra)
        self.events.append(event)
        log.warning("run %s: %s %s: %s", getattr(self.run, "id", "?"), suspender, action,
                    event["detail"])
        if self.run is not None:
            self.run.describe(events=self.events)
        for subscriber in self.subscribers:
            subscriber(event)
        if self.settings.on_event:
            self._tell(event)
        return event

    def _tell(self, event: dict[str, Any]) -> None:
        try:
            subprocess.run(shlex.split(self.settings.on_event), input=json.dumps(event),
                           text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError) as err:  # the run goes on
            log.warning("on_event %r failed: %s", self.settings.on_event, err)


def watch_run(settings: WatchSettings | RunWatch | None, run, banks, devices,
              calibration, store=None) -> RunWatch | None:
    """The watch of a run on ``banks``: None when none is a lab bank and no watch was
    given (nothing to watch); a :class:`RunWatch` given is attached on any bank, so that a
    live view's pause, resume and abort act on every backend (off a lab its suspenders find
    nothing to watch)."""
    if not isinstance(settings, RunWatch) and not any(_is_lab_bank(b) for b in banks):
        return None
    watch = settings if isinstance(settings, RunWatch) else RunWatch(settings)
    return watch.attach(run, banks, devices, calibration, store)

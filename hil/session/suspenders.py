"""Suspenders: conditions a run checks between batches, each with the action it takes when
the condition holds (after Bluesky's suspenders, ``bluesky/suspenders.py``: a run pauses
while a signal is out of band and goes on when it is back).

Each suspender is a small object: ``check(watch)`` returns the devices (or instruments) in
trouble as :class:`Trip` s, ``action`` says what the run does about them (one of
``ACTIONS``), and the run's watch (``hil.session.watch``) records every event with its lab
time. The settings come from the ``[suspenders]`` table of a run's TOML or from the API
(:func:`suspenders_from_mapping`); every suspender is on by default; the wear budget acts
once a budget is found (its own setting, the lab file's or the newest survey's:
``hil.session.wear``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.errors import ConfigError, read_toml

ACTIONS = ("pause", "recalibrate", "retire", "stop")
# a device that switched never (or always) over a window whose calibrated probabilities
# make that this unlikely is stuck: 1e-6 is ~5 sigma, so a healthy device trips it about
# once in a million windows
STUCK_ALPHA = 1e-6
# paper 002 SI Fig. S4: ~0.5 % a week in I_bias; a check sweep each lab hour sees drift
# faster than that long before it moves the sigmoid by a window
DRIFT_EVERY = 3600.0  # s of lab time between check sweeps
DRIFT_TOLERANCE = 0.02  # relative I_bias shift that calls for a recalibration
DRIFT_CYCLES = 64  # cycles at the calibrated 50 % current per check
DRIFT_SIGMA = 4.0  # a switching fraction this many binomial sigmas from 1/2 is drift
# the field read back off by more than this (relative) from the field set: below the coil's
# saturation of the drive a field off by 2 % moves the switching as a 2 % I_bias drift does
# (simulators/hallbar.py, I_eff = I * H_x / H_sat), the drift suspender's tolerance
FIELD_TOLERANCE = 0.02
FIELD_FLOOR = 1e-4  # T (1 Oe) on top of it: a field set to zero reads back as zero


@dataclass
class Trip:
    """One device (layer, neuron index, device number) or one instrument (``role``) in
    trouble, and why."""

    detail: str
    layer: int | None = None
    neuron: int | None = None
    device: int | None = None
    role: str | None = None
    values: dict[str, float] = field(default_factory=dict)


class Suspender:
    """A condition checked between batches and the action taken when it holds."""

    name = "suspender"
    default_action = "pause"
    allowed = ACTIONS
    # judged against the device's measured calibration (a sweep): a nominal calibration
    # says nothing of a device 25 % off the preset (paper 002 Eq. 3), so it is not judged
    needs_calibration = False

    def __init__(self, action: str | None = None) -> None:
        self.action = action or self.default_action
        if self.action not in self.allowed:
            raise ConfigError(f"suspenders.{self.name}.action",
                              f"{self.action!r} is not one of {', '.join(self.allowed)}")

    def check(self, watch: Any) -> list[Trip]:
        """Called by the run's watch between batches: the devices or instruments in trouble
        now (empty: the run goes on), each a :class:`Trip` the watch records and acts on with
        ``action``."""
        raise NotImplementedError

    def action_for(self, trip: Trip) -> str:
        """The action taken on ``trip`` (this suspender's ``action`` unless it watches
        things that call for different ones)."""
        return self.action

    def observe(self, layer: int, neuron: int, currents, readings, calibration,
                levels: tuple[float, float] | None) -> None:
        """A device call's currents, readings (protocols.cycle.CycleReading), the neuron's
        calibration and the device's calibrated R_AHE levels (passive suspenders keep a
        window of them)."""

    def forget(self, layer: int, neuron: int) -> None:
        """A neuron's device changed or was recalibrated: its window starts again."""

    def settings(self) -> dict[str, Any]:
        """This suspender's options as its ``[suspenders.<name>]`` table holds them (stored
        with the run, so a resumed run watches the same way)."""
        return {"action": self.action}

    def before_pause(self, watch: Any, trips: list[Trip]) -> None:
        """What a pause does first, before it waits (nothing by default)."""

    def look_again(self, watch: Any, trips: list[Trip]) -> list[Trip]:
        """After a pause's wait: the trips still out of band (by default instruments are
        set up again and their state read, devices have their levels probed)."""
        return watch.look_again(trips)


class InstrumentErrors(Suspender):
    """A non-empty error queue (``SYST:ERR?``) or an instrument found reset (``*ESR?`` bit
    7, PON): the instrument was told something it refused, or lost its settings. Reading
    the queue empties it; a reset instrument is set up again (the watch's pause)."""

    name = "errors"
    allowed = ("pause", "stop")

    def check(self, watch: Any) -> list[Trip]:
        return watch.instrument_trouble()


class StuckDevice(Suspender):
    """A device that never (or always) switched over ``window`` cycles whose calibrated
    probabilities make that less likely than ``STUCK_ALPHA``: dead or stuck, so its
    activations are no measurement of anything (a bar that wore out, or lost a contact)."""

    name = "stuck"
    default_action = "retire"
    needs_calibration = True

    def __init__(self, action: str | None = None, window: int = 400,
                 alpha: float = STUCK_ALPHA) -> None:
        super().__init__(action)
        if not isinstance(window, int) or not 10 <= window <= 100_000:
            raise ConfigError("suspenders.stuck.window", f"{window!r} is outside the allowed "
                              "range [10, 100000] cycles")
        if not 0 < alpha < 0.01:
            raise ConfigError("suspenders.stuck.alpha", f"{alpha!r} is outside the allowed "
                              "range (0, 0.01)")
        self.window, self.alpha = window, alpha
        self._seen: dict[tuple[int, int], deque] = {}
        self.reported: list[Trip] = []  # devices refusing their reset (protocol errors)

    def observe(self, layer, neuron, currents, readings, calibration, levels) -> None:
        seen = self._seen.setdefault((layer, neuron), deque(maxlen=self.window))
        for current, reading in zip(currents, readings, strict=True):
            z = (float(current) - calibration.i_bias) / calibration.i0
            seen.append((-math.log1p(math.exp(-z)) if z > -30 else z,  # log p
                         -math.log1p(math.exp(z)) if z < 30 else -z,  # log (1 - p)
                         bool(reading.switched)))

    def forget(self, layer: int, neuron: int) -> None:
        self._seen.pop((layer, neuron), None)

    def check(self, watch: Any) -> list[Trip]:
        trips, self.reported = list(self.reported), []
        for (layer, neuron), seen in self._seen.items():
            if len(seen) < self.window:
                continue
            switched = sum(s for _, _, s in seen)
            never = sum(q for _, q, _ in seen) if switched == 0 else None
            always = sum(p for p, _, _ in seen) if switched == len(seen) else None
            for chance, how in ((never, "never"), (always, "always")):
                if chance is not None and chance < math.log(self.alpha):
                    trips.append(Trip(
                        f"switched {how} in its last {len(seen)} cycles (chance "
                        f"{math.exp(chance):.1e} for a device as calibrated)", layer, neuron,
                        watch.device_of(layer, neuron),
                        values={"cycles": len(seen), "switched": switched}))
        return trips

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "window": self.window, "alpha": self.alpha}


class HallLevels(Suspender):
    """Hall readings outside the device's calibrated levels (by more than half the step, as
    protocols.cycle judges a read window): a lost in-plane field, a contact, a floating
    input. Paused until a probe of the levels finds them back."""

    name = "levels"

    def __init__(self, action: str | None = None, fraction: float = 0.05) -> None:
        super().__init__(action)
        if not 0 < fraction < 1:
            raise ConfigError("suspenders.levels.fraction", f"{fraction!r} is outside the "
                              "allowed range (0, 1)")
        self.fraction = fraction
        self._outside: dict[tuple[int, int], tuple[int, int]] = {}

    def observe(self, layer, neuron, currents, readings, calibration, levels) -> None:
        if levels is None:
            return
        low, high = levels
        margin = 0.5 * (high - low)  # protocols.cycle's read window
        values = [v for r in readings for v in (r.r_after_write, r.r_after_reset) if v is not None]
        outside = sum(1 for v in values if not low - margin <= v <= high + margin)
        before = self._outside.get((layer, neuron), (0, 0))
        self._outside[(layer, neuron)] = (before[0] + outside, before[1] + len(values))

    def forget(self, layer: int, neuron: int) -> None:
        self._outside.pop((layer, neuron), None)

    def check(self, watch: Any) -> list[Trip]:
        trips = []
        for (layer, neuron), (outside, total) in self._outside.items():
            if total and outside / total > self.fraction:
                trips.append(Trip(f"{outside} of {total} Hall readings outside the "
                                  "calibrated levels", layer, neuron,
                                  watch.device_of(layer, neuron),
                                  values={"outside": outside, "readings": total}))
        self._outside.clear()
        return trips

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "fraction": self.fraction}


class Drift(Suspender):
    """I_bias drift beyond ``tolerance`` (relative), found by a short check at a schedule:
    every ``every`` lab seconds, ``cycles`` cycles of each device at its calibrated 50 %
    current. A fraction ``sigma`` binomial sigmas from 1/2 gives the shift through the
    sigmoid, I_bias' = I_bias - I0 logit(f) (paper 002 Eq. 2); a shift beyond the tolerance
    trips."""

    name = "drift"
    default_action = "recalibrate"
    needs_calibration = True

    def __init__(self, action: str | None = None, every: float = DRIFT_EVERY,
                 tolerance: float = DRIFT_TOLERANCE, cycles: int = DRIFT_CYCLES,
                 sigma: float = DRIFT_SIGMA) -> None:
        super().__init__(action)
        for name, value, low, high in (("every", every, 1.0, 1e6),
                                       ("tolerance", tolerance, 1e-4, 0.5),
                                       ("cycles", cycles, 8, 10_000), ("sigma", sigma, 1, 10)):
            if isinstance(value, bool) or not low <= value <= high:
                raise ConfigError(f"suspenders.drift.{name}", f"{value!r} is outside the "
                                  f"allowed range [{low:g}, {high:g}]")
        self.every, self.tolerance, self.cycles, self.sigma = every, tolerance, int(cycles), sigma

    def check(self, watch: Any) -> list[Trip]:
        if not watch.due(self.name, self.every):
            return []
        trips = []
        for layer, neuron, calibration in watch.neurons(measured=True):
            switched = watch.check_cycles(layer, neuron, calibration.i_bias, self.cycles)
            f = switched / self.cycles
            if abs(f - 0.5) <= self.sigma * math.sqrt(0.25 / self.cycles):
                continue
            clipped = min(max(f, 0.5 / self.cycles), 1 - 0.5 / self.cycles)
            shift = -calibration.i0 * math.log(clipped / (1 - clipped))
            if abs(shift) > self.tolerance * calibration.i_bias:
                moved = (f"moved by more than {shift / calibration.i_bias:+.1%} (or it no "
                         "longer switches)" if switched in (0, self.cycles) else
                         f"moved about {shift / calibration.i_bias:+.1%}")
                trips.append(Trip(
                    f"switched {switched} of {self.cycles} at its 50 % current: I_bias "
                    f"{moved}", layer, neuron,
                    watch.device_of(layer, neuron),
                    values={"switched": switched, "cycles": self.cycles,
                            "i_bias_shift": shift,  # a bound only when none or all switched
                            "saturated": switched in (0, self.cycles)}))
        return trips

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "every": self.every, "tolerance": self.tolerance,
                "cycles": self.cycles, "sigma": self.sigma}


class WearBudget(Suspender):
    """A device whose pulses over its life (every earlier run's on the chip, and this
    run's, replays included) passed its budget is retired. The budget: ``pulses`` given
    here, else the lab file's ``[wear]``, else the newest survey's (``hil.session.wear``: a
    device's own endurance shown on the chip); none: quiet."""

    name = "wear"
    default_action = "retire"
    allowed = ("retire", "stop")

    def __init__(self, action: str | None = None, pulses: int | None = None) -> None:
        super().__init__(action)
        if pulses is not None and (not isinstance(pulses, int) or pulses < 1):
            raise ConfigError("suspenders.wear.pulses", f"{pulses!r} is not a whole number "
                              "of pulses >= 1")
        self.pulses = pulses
        self.budget = None  # the run's (hil.session.wear.Budget), set when a watch attaches

    def check(self, watch: Any) -> list[Trip]:
        budget = self.budget
        if budget is None or budget.source is None:
            return []
        earlier = watch.earlier_pulses()
        trips = []
        for layer, neuron, count in watch.pulse_counts():
            device = watch.device_of(layer, neuron)
            allowed = budget.of(device)
            before = earlier.get(device, 0)
            if allowed is not None and count + before > allowed:
                trips.append(Trip(
                    f"{count + before} pulses over its life ({count} in this run), over its "
                    f"budget of {allowed} ({budget.source})", layer, neuron, device,
                    values={"pulses": count + before, "run_pulses": count,
                            "earlier_pulses": before, "budget": allowed}))
        return trips

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "pulses": self.pulses}


class Compliance(Suspender):
    """A source in compliance.

    The field supply (Model 2400 User's Manual section 18: ``[:SENSe[1]]:VOLTage:
    PROTection:TRIPped?`` "1", the STATus element's bit 3 "in real compliance"): the coil's
    resistance rose (it heats, or a contact fails), so the field is not the one set and the
    supply holds the coil at its compliance voltage, heating it further. A lab wants the coil
    off rather than a run going on at a field nobody chose: the run stops with its outputs
    off. ``pause``: the output off while it waits (the coil cools), then the field set again
    and looked at again.

    The pulse source (Model 6220/6221 Reference Manual section 11, Fig. 11-6 p. 11-16: bit
    B3, Comp, of the measurement event register, latched when the output reaches its
    compliance voltage, and of the condition register while it stays there): a device call
    that ran the 6221 into compliance met a load it could not drive, the routed device's
    write channel open (a lifted bond, a cracked lead), so the device got no current, or
    less than programmed (User's Manual p. 3-3), and its readings measure nothing. Which
    device is known (the watch asks after each device call, or names the one device called
    since the last check), and the fault is the device's, not the rig's: other devices
    drive fine and waiting does not close a contact, so ``pulse_action`` retires it for a
    spare by default (swept, its calibration told to the network; none left: the run stops
    with its outputs off), as ``stuck`` does a device that no longer switches. ``stop``: a
    lab that wants a person to look at the probes first (a spare that trips too is retired
    in turn until none is left, which also stops the run)."""

    name = "compliance"
    default_action = "stop"
    allowed = ("pause", "stop")
    pulse_actions = ("retire", "stop")
    watches_pulse = True

    def __init__(self, action: str | None = None, pulse_action: str = "retire") -> None:
        super().__init__(action)
        if pulse_action not in self.pulse_actions:
            raise ConfigError("suspenders.compliance.pulse_action", f"{pulse_action!r} is "
                              f"not one of {', '.join(self.pulse_actions)}")
        self.pulse_action = pulse_action

    def action_for(self, trip: Trip) -> str:
        return self.pulse_action if trip.role == "pulse" else self.action

    def check(self, watch: Any) -> list[Trip]:
        return self._supply_trips(watch) + watch.pulse_compliance()

    @staticmethod
    def _supply_trips(watch: Any) -> list[Trip]:
        return [Trip(f"in compliance: {reading.voltage:.4g} V across the coil drive "
                     f"{reading.current:.4g} A ({reading.field * 1e4:.1f} Oe of "
                     f"{_oe(wanted)} set)", role=role,
                     values={"field_set": wanted, "field_read": reading.field,
                             "volts": reading.voltage, "amps": reading.current})
                for role, wanted, reading, tripped in watch.supply_readings() if tripped]

    def before_pause(self, watch: Any, trips: list[Trip]) -> None:
        watch.supply_off(trips)

    def look_again(self, watch: Any, trips: list[Trip]) -> list[Trip]:
        watch.set_field_again(trips)
        return self._supply_trips(watch)  # (the pulse source's trips wait for the check)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "pulse_action": self.pulse_action}


class FieldBand(Suspender):
    """The field supply out of band: the field the run set (the coil current it asked for
    times the coil constant) against the one the 2400 reads back (``:READ?``, section 18),
    off by more than ``tolerance`` (relative) plus ``floor`` (T). Paused: set again and
    looked at again; stopped with the outputs off if it stays out."""

    name = "field"
    allowed = ("pause", "stop")

    def __init__(self, action: str | None = None, tolerance: float = FIELD_TOLERANCE,
                 floor: float = FIELD_FLOOR) -> None:
        super().__init__(action)
        for name, value, low, high in (("tolerance", tolerance, 1e-4, 0.5),
                                       ("floor", floor, 0.0, 0.01)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    low <= value <= high):
                raise ConfigError(f"suspenders.field.{name}", f"{value!r} is outside the "
                                  f"allowed range [{low:g}, {high:g}]")
        self.tolerance, self.floor = float(tolerance), float(floor)

    def check(self, watch: Any) -> list[Trip]:
        return [Trip(f"reads {reading.field * 1e4:.2f} Oe where {_oe(wanted)} was set "
                     f"({reading.current:.5g} A{'' if reading.on else ', output off'})",
                     role=role, values={"field_set": wanted, "field_read": reading.field,
                                        "amps": reading.current})
                for role, wanted, reading, _ in watch.supply_readings()
                if wanted is not None
                and abs(reading.field - wanted) > self.tolerance * abs(wanted) + self.floor]

    def look_again(self, watch: Any, trips: list[Trip]) -> list[Trip]:
        watch.set_field_again(trips)
        return self.check(watch)

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "tolerance": self.tolerance, "floor": self.floor}


def _oe(field: float | None) -> str:
    return "no field" if field is None else f"{field * 1e4:.2f} Oe"


SUSPENDERS = {cls.name: cls for cls in (InstrumentErrors, StuckDevice, HallLevels, Drift,
                                        WearBudget, Compliance, FieldBand)}


@dataclass
class Reconnection:
    """Retries of a lost connection or a timed-out instrument: ``tries`` reconnections,
    waiting ``first`` lab seconds, then ``factor`` times longer each time (at most
    ``longest``)."""

    tries: int = 6
    first: float = 1.0
    factor: float = 2.0
    longest: float = 300.0

    def __post_init__(self) -> None:
        for name, value, low, high in (("tries", self.tries, 0, 100),
                                       ("first", self.first, 0.0, 3600.0),
                                       ("factor", self.factor, 1.0, 10.0),
                                       ("longest", self.longest, 0.0, 86400.0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    low <= value <= high):
                raise ConfigError(f"suspenders.reconnect.{name}", f"{value!r} is outside the "
                                  f"allowed range [{low:g}, {high:g}]")

    def waits(self):
        """The lab seconds to wait before each try."""
        for attempt in range(int(self.tries)):
            yield min(self.first * self.factor ** attempt, self.longest)


@dataclass
class WatchSettings:
    """What a run watches for and how it answers: the suspenders, the reconnection's
    backoff, the spare devices a retired one may be replaced by, how long a pause waits
    and how many it may take in a row, and a command told of every event (``on_event``,
    the event as JSON on its standard input: a lab can be paged)."""

    suspenders: list[Suspender] = field(default_factory=lambda: default_suspenders())
    reconnect: Reconnection = field(default_factory=Reconnection)
    spares: list[int] = field(default_factory=list)
    pause: float = 60.0  # s of lab time per pause
    max_pauses: int = 5
    on_event: str | None = None
    sweep_iterations: int = 100  # cycles per current of a recalibration's sweep

    def describe(self) -> dict[str, Any]:
        """The settings as a ``[suspenders]`` table holds them (what a resumed run reads)."""
        on = {s.name: s.settings() for s in self.suspenders}
        return {**{name: on.get(name, {"enabled": False}) for name in SUSPENDERS},
                "reconnect": dict(vars(self.reconnect)), "spares": list(self.spares),
                "pause": self.pause, "max_pauses": self.max_pauses, "on_event": self.on_event,
                "sweep_iterations": self.sweep_iterations}


def default_suspenders() -> list[Suspender]:
    """Every suspender with its default settings: what a run watches when its TOML says
    nothing (wear stays quiet until a budget is found: ``hil.session.wear``)."""
    return [cls() for cls in SUSPENDERS.values()]


def suspenders_from_mapping(raw: dict[str, Any] | None) -> WatchSettings:
    """The ``[suspenders]`` table of a run's TOML (or the same dict from the API)::

        [suspenders]
        spares = [4, 5]            # devices a retired one may be replaced by
        pause = 60.0               # lab seconds a pause waits
        sweep_iterations = 100     # cycles per current of a recalibration's sweep
        on_event = "page-the-lab"  # told of every event (JSON on stdin)
        [suspenders.drift]
        every = 3600.0             # lab seconds between check sweeps
        tolerance = 0.02
        action = "recalibrate"
        [suspenders.stuck]
        enabled = false
        [suspenders.reconnect]
        tries = 6

    Every suspender is on with its defaults unless ``enabled = false``."""
    raw = dict(raw or {})
    top = {"spares", "pause", "max_pauses", "on_event", "reconnect", "sweep_iterations",
           *SUSPENDERS}
    unknown = sorted(set(raw) - top)
    if unknown:
        raise ConfigError(f"suspenders.{unknown[0]}", f"unknown; allowed: {sorted(top)}")
    suspenders = []
    for name, cls in SUSPENDERS.items():
        options = dict(raw.get(name, {}))
        if not options.pop("enabled", True):
            continue
        try:
            suspenders.append(cls(**options))
        except TypeError as err:
            raise ConfigError(f"suspenders.{name}", f"{err}") from None
    try:
        reconnect = Reconnection(**raw.get("reconnect", {}))
    except TypeError as err:
        raise ConfigError("suspenders.reconnect", str(err)) from None
    spares = raw.get("spares", [])
    if not isinstance(spares, list) or not all(isinstance(d, int) and d >= 0 for d in spares):
        raise ConfigError("suspenders.spares", f"{spares!r} is not a list of device numbers")
    pause = raw.get("pause", 60.0)
    if isinstance(pause, bool) or not isinstance(pause, (int, float)) or not 0 < pause <= 86400:
        raise ConfigError("suspenders.pause", f"{pause!r} is outside the allowed range "
                          "(0, 86400] s")
    max_pauses = raw.get("max_pauses", 5)
    if not isinstance(max_pauses, int) or not 1 <= max_pauses <= 1000:
        raise ConfigError("suspenders.max_pauses", f"{max_pauses!r} is outside the allowed "
                          "range [1, 1000]")
    on_event = raw.get("on_event")
    if on_event is not None and not isinstance(on_event, str):
        raise ConfigError("suspenders.on_event", "must be a command line (a string)")
    iterations = raw.get("sweep_iterations", 100)
    if not isinstance(iterations, int) or not 10 <= iterations <= 10_000:
        raise ConfigError("suspenders.sweep_iterations", f"{iterations!r} is outside the "
                          "allowed range [10, 10000]")
    return WatchSettings(suspenders, reconnect, list(spares), float(pause), max_pauses,
                         on_event, iterations)


def load_suspenders(path: str | Path) -> WatchSettings:
    """The ``[suspenders]`` table of a run's TOML file (defaults when it has none)."""
    return suspenders_from_mapping(read_toml(path).get("suspenders"))

"""The physical side of the virtual lab: a chip of Hall bars and the coil.

Every current the emulated 6221 drives goes through the routed device for as long as it
flows in virtual time, and switches it with the Hall-bar model's probability towards the
state sign(I * H_x): switching needs the in-plane field, and its sign sets the polarity
(simulators/hallbar.py; paper 002: at +200 Oe, I > 0 writes -1 -> +1, I < 0 resets).
H_x is the coil's field while the 2400 drives it, and otherwise the setup's standing
in-plane field (paper 002 Fig. 2a: 200 Oe along the current for every cycle).
The 2000 reads V = R_AHE(state, H_x) * I + offset + noise (paper 002 Eq. 6); H_x tilts
the magnetisation and lowers R_AHE as Eq. S2 describes.

Behind a switch system (``simulators/lab/k7002.py``) the current and the voltmeter reach the
devices whose channels are closed (``route``): no current path, no current; two devices on
the source share its current; a voltmeter on no device, or on an open device, reads a
floating input. The source sees the routed devices' write channels in parallel behind the
leads (``load_resistance``): a device whose current contact opened (a scheduled ``open``
fault, simulators/lab/faults.py) is an open circuit, and so is a source routed to no device;
the 6221 emulator clamps at its compliance voltage into that load. A chip at scale has
defects (``Defects``: dead devices never switch, stuck ones stay in one state, open ones give
no Hall signal: a broken voltage arm, the current path whole) and drifts: each device's switching
current scale moves at its own rate on the virtual clock (paper 002 SI Fig. S4: ~0.5 % in
I_bias after a week).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from simulators.hallbar import OPERATING_FIELD, HallBars, switch_target
from simulators.joule import METAL_THICKNESS, RHO_TA, SQUARES
from simulators.lab.clock import LabClock

if TYPE_CHECKING:
    from simulators.lab.faults import FaultSchedule
from simulators.presets import hall_bar_preset

H_ANISOTROPY = 4e-7 * np.pi * 5.8e5  # T, paper 002 SI S1 (H_an = 5.8e5 A/m)
MAX_DEVICES = 200  # a Keithley 7002 with ten 7011 cards: 400 two-pole channels, two a device
# an unterminated DMM input picks up the mains: readings of this order (V rms) and no signal
# (an order of magnitude for a floating 100 mV-range input, not a manual's figure)
FLOATING_NOISE = 1e-3
# paper 002 SI Fig. S4: the same device a week later, ~0.5 % shift in its bias current
WEEKLY_DRIFT = 0.005
DRIFT_RATE = WEEKLY_DRIFT / (7 * 86400.0)  # 1/s: the spread of the devices' drift rates
DEFECT_FRACTION = 0.06  # a chip at scale: 6 % of its devices dead, stuck or open
READ_NOISE = 2e-7  # V rms at 1 NPLC (Keithley 2000 on its 100 mV range, order of magnitude)
HALL_OFFSET = 5e-6  # V, thermal EMF and misalignment of the voltage arms
# a device's write channel between its current contacts: rho L / (w t), the Ta/CoFeB
# channel of simulators/joule.py (3 squares of 190 uOhm cm over 6 nm: 950 ohm at any width)
CHANNEL_RESISTANCE = RHO_TA * SQUARES / METAL_THICKNESS
# cables, probe contacts and a switch card's relays in series with the device (an order of
# magnitude for a probe station's wiring, not a measured figure)
LEAD_RESISTANCE = 20.0  # ohm


@dataclass(frozen=True)
class Defects:
    """Devices that fail: ``dead`` never switch, ``stuck`` stay in one state (device ->
    +1 or -1), ``open`` have no Hall signal (a broken voltage arm: the voltmeter floats)."""

    dead: frozenset[int] = frozenset()
    stuck: tuple[tuple[int, int], ...] = ()
    open: frozenset[int] = frozenset()

    def kind(self, device: int) -> str | None:
        """What is wrong with ``device``: ``dead``, ``stuck at +1`` or ``-1``, ``open``, or None for
        a working one (as ``hil lab devices`` lists it)."""
        if device in self.dead:
            return "dead"
        if device in dict(self.stuck):
            return f"stuck at {dict(self.stuck)[device]:+d}"
        if device in self.open:
            return "open"
        return None

    @classmethod
    def draw(cls, n: int, rng: np.random.Generator,
             fraction: float = DEFECT_FRACTION) -> Defects:
        """``round(fraction * n)`` distinct devices, dead, stuck and open in turn."""
        faulty = rng.permutation(n)[:round(fraction * n)].tolist()
        stuck = tuple((int(j), int(rng.choice([-1, 1]))) for j in faulty[1::3])
        return cls(frozenset(int(j) for j in faulty[0::3]), stuck,
                   frozenset(int(j) for j in faulty[2::3]))


@dataclass
class Chip:
    """Hall bars on one chip; ``selected`` is the device the router connects.

    Switching is thermal activation as a Poisson process: on entering a state each device
    draws a budget E ~ Exp(1) from its own generator and switches when the accumulated
    hazard, the integral of 1/tau(I(t)) dt over the currents that push it out (the
    Neel-Brown tau of simulators/hallbar.py), exceeds E. That is the Hall-bar model's
    P_sw = 1 - exp(-t/tau) for any pulse, and the outcome does not depend on how a current
    is cut into segments: the same pulses give the same switches whether a protocol is
    timed by software or by the instruments, and a device's state (``snapshot``) can be
    saved and restored exactly.
    """

    devices: HallBars
    seed: np.random.SeedSequence
    states: np.ndarray = field(init=False)
    selected: int = 0
    field_x: float = 0.0  # T, in-plane field from the coil
    bias_field: float = OPERATING_FIELD  # T, standing in-plane field when the coil is off
    stuck: dict[int, int] = field(default_factory=dict)  # fault injection: device -> state
    read_noise: float = READ_NOISE
    hall_offset: float = HALL_OFFSET
    defects: Defects = field(default_factory=Defects)
    drift: np.ndarray | None = None  # per device: relative change of I_c0 per second
    clock: LabClock | None = None  # the virtual clock drift runs on (set by the lab)
    scheduled: FaultSchedule | None = None  # faults on the clock (simulators/lab/faults.py)
    # routing through a switch system (None: the selected device carries the current and
    # is read, as one switch-card channel per device wires it)
    current_path: frozenset[int] | None = None
    sense_path: frozenset[int] | None = None
    # the field supply's coil, asked while it is driven (its output may drift or clamp
    # between commands: simulators/lab/k2400.py); None: ``field_x`` as last set
    coil: Callable[[], float] | None = None
    # the chip's own log of pulses: a level above ``pulse_floor`` (A) on a device after a
    # lower one (or none) is one pulse reaching it (a protocol's read level sits at or
    # below the floor: protocols.cycle counts pulses the same way)
    pulse_floor: float = 0.0

    def __post_init__(self) -> None:
        n = len(self.devices)
        switching, noise = self.seed.spawn(2)
        self._switch_rngs = [np.random.default_rng(s) for s in switching.spawn(n)]
        self._noise_rngs = [np.random.default_rng(s) for s in noise.spawn(n)]
        self._floating_rng = np.random.default_rng(self.seed.spawn(1)[0])
        self._bars = [self.devices.select(j) for j in range(n)]
        self.states = -np.ones(n, dtype=int)
        self.budgets = np.array([rng.exponential() for rng in self._switch_rngs])
        self.stuck.update(dict(self.defects.stuck))
        self.received = np.zeros(n)  # the largest |current| (A) each device has carried
        self.pulses_received = np.zeros(n, dtype=np.int64)  # pulses above pulse_floor
        self._level = np.zeros(n)  # the current (A) each device carries now

    def route(self, current: frozenset[int], sense: frozenset[int]) -> None:
        """The devices a switch system connects to the source and to the voltmeter."""
        self.current_path, self.sense_path = frozenset(current), frozenset(sense)
        self._level[:] = 0.0  # a relay moved: whatever flowed was interrupted
        if len(self.current_path) == 1:
            self.selected = next(iter(self.current_path))

    def _carrying(self) -> list[int]:
        return [self.selected] if self.current_path is None else sorted(self.current_path)

    def contact_open(self, device: int) -> bool:
        """``device``'s current contact is open now (a scheduled ``open`` fault struck): its
        write channel carries no current."""
        now = 0.0 if self.clock is None else self.clock.seconds
        return self.scheduled is not None and self.scheduled.contact_open(device, now)

    def device_resistance(self, device: int) -> float:
        """``device``'s write channel (ohm) between its current contacts; infinite once its
        contact opened."""
        return np.inf if self.contact_open(device) else CHANNEL_RESISTANCE

    def load_resistance(self) -> float:
        """What the current source drives (ohm): the routed devices' write channels in
        parallel, plus the leads; infinite when no routed device conducts (none routed,
        or every routed one open)."""
        conductance = sum(1.0 / r for r in map(self.device_resistance, self._carrying())
                          if np.isfinite(r))
        return LEAD_RESISTANCE + 1.0 / conductance if conductance > 0 else np.inf

    def shares(self, current: float) -> dict[int, float]:
        """The current each routed device carries of ``current`` from the source: split by
        their conductances (equally among working devices), none through an open one."""
        devices = self._carrying()
        conductance = {j: 0.0 if self.contact_open(j) else 1.0 for j in devices}
        total = sum(conductance.values())
        return {j: (current * g / total if total else 0.0) for j, g in conductance.items()}

    def drive(self, current: float, duration: float) -> None:
        """A current for ``duration`` seconds through the routed device (devices routed
        together share it, ``shares``; with none routed it flows nowhere). The current is
        what the source delivers: a source in compliance delivers less (k6221.py)."""
        devices = self._carrying()
        if current == 0 or duration <= 0:
            if current == 0:
                self._level[devices] = 0.0
            return
        for j, share in self.shares(current).items():
            if share == 0.0:
                self._level[j] = 0.0
                continue
            self._drive_one(j, share, duration)

    def _count_pulse(self, j: int, current: float) -> None:
        if abs(current) > self.pulse_floor * (1 + 1e-6) and current != self._level[j]:
            self.pulses_received[j] += 1
        self._level[j] = current

    def _drive_one(self, j: int, current: float, duration: float) -> None:
        self.received[j] = max(self.received[j], abs(current))
        self._count_pulse(j, current)
        if j in self.stuck:
            self.states[j] = self.stuck[j]
            return
        if j in self.defects.dead:
            return
        now = 0.0 if self.clock is None else self.clock.seconds
        held = None if self.scheduled is None else self.scheduled.held(j, now)
        if held is not None:  # dead from now (its state kept) or stuck in one state
            if held[1] is not None:
                self.states[j] = held[1]
            return
        field = self.in_plane_field
        target = switch_target(current, field)
        if target == 0 or self.states[j] == target:  # no field: the torque has no polarity
            return
        # drift: I_c0 scaled by s acts as the current scaled by 1 / s
        scale = 1.0 + (0.0 if self.drift is None or self.clock is None
                       else float(self.drift[j]) * self.clock.seconds)
        if self.scheduled is not None:
            scale *= self.scheduled.drift_scale(j, now)
        rate = self._bars[j].switch_rate(np.array([current / scale]), field)[0]
        self.budgets[j] -= duration * float(rate)
        if self.budgets[j] <= 0:
            self.states[j] = target
            self.budgets[j] = self._switch_rngs[j].exponential()

    @property
    def in_plane_field(self) -> float:
        """H_x (T) at the device: the coil's while it is driven, else the standing field."""
        field = self.field_x if self.coil is None else self.coil()
        return field if field != 0.0 else self.bias_field

    def hall_resistance(self, device: int | None = None) -> float:
        """R_AHE of ``device`` (the selected one by default), ohm: its offset plus its anomalous
        Hall resistance times its state, scaled by the m_z left under the in-plane field, sqrt(1 -
        (H_x / H_an)^2) (H_an from paper 002 SI S1)."""
        j = self.selected if device is None else device
        tilt = np.sqrt(max(0.0, 1.0 - (self.in_plane_field / H_ANISOTROPY) ** 2))
        return float(self.devices.r_offset[j] + self.devices.r_ahe[j] * self.states[j] * tilt)

    def hall_voltage(self, current: float, nplc: float) -> float:
        """What the voltmeter reads with ``current`` from the source: the sensed device's
        Hall voltage for the current it carries, or a floating input's pickup."""
        if self.sense_path is None:
            j, through = self.selected, current
        elif len(self.sense_path) == 1:
            j = next(iter(self.sense_path))
            through = self.shares(current).get(j, 0.0)
        else:
            j, through = None, 0.0
        if j is None or j in self.defects.open:
            return float(FLOATING_NOISE * self._floating_rng.standard_normal())
        rng = self._noise_rngs[j]
        noise = self.read_noise / np.sqrt(max(nplc, 1e-3)) * rng.standard_normal()
        return self.hall_resistance(j) * through + self.hall_offset + noise

    def snapshot(self, device: int) -> dict:
        """One device's state, budget and generators (JSON-ready)."""
        return {"device": device, "state": int(self.states[device]),
                "budget": float(self.budgets[device]),
                "switch_rng": self._switch_rngs[device].bit_generator.state,
                "noise_rng": self._noise_rngs[device].bit_generator.state}

    def restore(self, snapshot: dict) -> None:
        """Put one device back to a ``snapshot``: its state, its switching budget and both its
        generators, so a resumed run draws what an uninterrupted one would."""
        j = int(snapshot["device"])
        self.states[j] = int(snapshot["state"])
        self.budgets[j] = float(snapshot["budget"])
        self._switch_rngs[j].bit_generator.state = snapshot["switch_rng"]
        self._noise_rngs[j].bit_generator.state = snapshot["noise_rng"]


def build_chip(n_devices: int, width: float, seed: int | None, eta: float = 0.25,
               at_scale: bool = False) -> Chip:
    """The devices that ``hil lab serve`` and ``hil lab devices`` build from the same options;
    ``at_scale``: a chip behind a switch system, with defects and drift drawn from ``seed``
    (the devices themselves are the same draw either way)."""
    if not 1 <= n_devices <= MAX_DEVICES:
        raise ValueError(f"devices = {n_devices} is outside the allowed range "
                         f"[1, {MAX_DEVICES}]")
    preset = hall_bar_preset(width)
    device_seed, noise_seed, scale_seed = np.random.SeedSequence(seed).spawn(3)
    devices = preset.draw(n_devices, eta, 0.0, np.random.default_rng(device_seed))
    if not at_scale:
        return Chip(devices, noise_seed)
    rng = np.random.default_rng(scale_seed)
    defects = Defects.draw(n_devices, rng)
    return Chip(devices, noise_seed, defects=defects,
                drift=rng.normal(0.0, DRIFT_RATE, n_devices))

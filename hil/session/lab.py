"""Opening a lab: the virtual lab (emulated instruments on loopback sockets, built exactly as
``hil lab devices`` builds it) or real instruments from a lab file. This is the one module that
imports both ``instruments`` and ``simulators.lab``: the virtual lab is built here and its
resources and clock are handed down to :class:`instruments.connection.Lab`.

The virtual lab's switch is the 7001 (one channel a device, as a 7011 in its slot 1 holds 40)
up to 40 devices, and a 7002 with 7011 cards, two channels a device, beyond: a chip at scale,
with defects and drift (``simulators.lab.chip``). ``switch="7002"`` routes a small chip
through the 7002 too."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from hil.errors import ConfigError
from instruments.connection import DEFAULT_MODELS, Lab, LabFile
from instruments.keithley import SwitchWiring
from instruments.limits import SafetyLimits
from simulators.lab.chip import MAX_DEVICES, build_chip
from simulators.lab.clock import LabClock
from simulators.lab.faults import FaultSchedule
from simulators.lab.server import SWITCHES, VOLTMETERS, VirtualLab

SWITCH_CARD_DEVICES = 40  # the 7001's slot-1 7011 card: 40 channels, one a device


def switch_for(devices: int, switch: str | None = None) -> str:
    """The virtual lab's switch for a chip of ``devices`` (``switch`` to choose it)."""
    if switch is None:
        return "7002" if devices > SWITCH_CARD_DEVICES else "7001"
    if switch not in SWITCHES:
        raise ConfigError("switch", f"{switch!r} is not one of {', '.join(SWITCHES)}")
    if switch == "7001" and devices > SWITCH_CARD_DEVICES:
        raise ConfigError("switch", f"the 7001's card holds {SWITCH_CARD_DEVICES} devices, not "
                          f"{devices}: use the 7002")
    return switch


class VirtualLabConnection(Lab):
    """A :class:`Lab` on the virtual lab's resources and clock; it also keeps the emulated
    devices' state for resumed runs, and stops the virtual lab when closed."""

    def __init__(self, virtual_lab: VirtualLab, limits: SafetyLimits | None = None) -> None:
        roles = {role: entry["resource"] for role, entry in virtual_lab.resources.items()}
        switch = virtual_lab.instruments["switch"]
        wiring = (SwitchWiring.from_pairs(switch.wiring, len(switch.installed))
                  if virtual_lab.models["switch"] == "7002" else None)
        super().__init__(roles, "@py", limits, timeout_ms=VIRTUAL_TIMEOUT_MS,
                         clock=virtual_lab.clock, wiring=wiring,
                         models={"voltmeter": virtual_lab.models["voltmeter"]})
        self.virtual_lab = virtual_lab
        self.trigger_line = virtual_lab.trigger_line or 1

    def device_state(self, device: int | None = None) -> dict | None:
        """The routed device's (or ``device``'s) state, switching budget and generators."""
        self.virtual_lab.settle()  # the lines already sent have reached the devices
        if device is None:
            return self.virtual_lab.device_state()
        with self.virtual_lab.lock:
            return self.virtual_lab.chip.snapshot(device)

    def restore_device(self, state: dict) -> None:
        self.virtual_lab.restore_device(state)

    def set_coil_constant(self, tesla_per_ampere: float) -> None:
        """The field supply's and the emulated coil's field per ampere."""
        super().set_coil_constant(tesla_per_ampere)
        self.virtual_lab.instruments["field"].coil_constant = tesla_per_ampere

    def relay_operations(self) -> dict | None:
        """The emulated 7002's own count of its relays' movements (None on a 7001)."""
        switch = self.virtual_lab.instruments["switch"]
        if self.virtual_lab.models["switch"] != "7002":
            return None
        return {"closures": sum(switch.closures.values()),
                "openings": sum(switch.openings.values()), "hot_switches": switch.hot_switches}

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.virtual_lab.stop()


# a virtual instrument answers when its thread gets the CPU, which the client shares: on a
# loaded machine that can pass a real box's 2 s (lab files keep their own timeout_ms)
VIRTUAL_TIMEOUT_MS = 10_000
VIRTUAL_COIL_FIELD = 0.25  # T: the virtual coil's rating (0.5 A of the 2400 at 0.5 T/A)


def connect_virtual(lab: VirtualLab | None = None, limits: SafetyLimits | None = None,
                    devices: int = 4, width: float = 0.5e-6, seed: int | None = 0,
                    bus: str = "gpib", trigger_line: int = 1,
                    switch: str | None = None,
                    faults: FaultSchedule | None = None,
                    voltmeter: str = DEFAULT_MODELS["voltmeter"]) -> VirtualLabConnection:
    """A connection to ``lab``, or to a virtual lab started here on a chip of ``devices``
    Hall bars of ``width`` (seeded by ``seed``), its clock charging ``bus`` and its 6221
    line ``trigger_line`` cabled to the 2000, routed by ``switch`` (``switch_for``),
    injecting ``faults`` on its clock (simulators/lab/faults.py)."""
    if lab is None:  # ``voltmeter``: the model reading the Hall voltage (VOLTMETERS)
        switch = switch_for(devices, switch)
        lab = VirtualLab(build_chip(devices, width, seed, at_scale=switch == "7002"),
                         LabClock.for_bus(bus), trigger_line=trigger_line,
                         switch=switch, faults=faults,
                         voltmeter=voltmeter_model(voltmeter)).start()
    return VirtualLabConnection(lab, limits or SafetyLimits(max_field=VIRTUAL_COIL_FIELD))


def voltmeter_model(name: str) -> str:
    """The virtual lab's voltmeter model for ``name`` (any case), refused by name."""
    model = str(name).upper()
    if model not in VOLTMETERS:
        raise ConfigError("voltmeter", f"{name!r} is not one of {', '.join(VOLTMETERS)}")
    return model


def lab_from_file(path: str | Path, **virtual_options) -> Lab:
    """The lab a lab file describes (``virtual = true``: the virtual lab, with the file's
    limits)."""
    lab_file = LabFile.load(path)
    if lab_file.virtual:
        virtual_options.setdefault("voltmeter", lab_file.models.get(
            "voltmeter", DEFAULT_MODELS["voltmeter"]))
        return connect_virtual(limits=lab_file.limits, bus=lab_file.bus,
                               trigger_line=lab_file.trigger_line, **virtual_options)
    return Lab.from_file(lab_file)


def open_lab(description: dict) -> Lab:
    """The lab a run's description names: ``{"lab_file": path}`` or ``{"virtual": True,
    "devices": n, "width": m, "seed": s}`` (kept in every run's config for resuming)."""
    if "lab_file" in description:
        try:
            return lab_from_file(description["lab_file"])
        except ValueError as err:
            raise ConfigError("lab", str(err)) from None
    if not 1 <= description["devices"] <= MAX_DEVICES:
        raise ConfigError("devices", f"{description['devices']} is outside the allowed range "
                          f"[1, {MAX_DEVICES}]")
    try:
        return connect_virtual(devices=description["devices"], width=description["width"],
                               seed=description["seed"], switch=description.get("switch"),
                               voltmeter=description.get("voltmeter",
                                                         DEFAULT_MODELS["voltmeter"]))
    except ValueError as err:
        raise ConfigError("width", str(err)) from None


def describe_lab(description: dict) -> dict:
    """What a run's provenance keeps of its lab: a lab file's path, SHA-256 and whole
    text (the file may change or vanish later) with its chip; or the virtual lab's chip
    (its devices, bar width and seed build it again: ``hil lab devices``)."""
    if "lab_file" not in description:
        switch = switch_for(description.get("devices", 4), description.get("switch"))
        meter = description.get("voltmeter", DEFAULT_MODELS["voltmeter"])
        return {**description, "virtual": True,
                "instruments": f"the virtual lab's emulated 6221, {meter}, 2400 and {switch}"}
    path = Path(description["lab_file"])
    try:
        content = path.read_bytes()
    except OSError as err:
        return {**description, "lab_file_error": f"cannot read {path}: {err.strerror}"}
    text = content.decode("utf-8", errors="replace")
    lab_file = LabFile.load(path)
    return {**description, "path": str(path.resolve()), "sha256":
            hashlib.sha256(content).hexdigest(), "content": text, "chip": lab_file.chip,
            "virtual": lab_file.virtual, "devices": lab_file.devices}


def virtual_chip(devices: int = 4, width: float = 0.5e-6, seed: int | None = 0,
                 switch: str | None = None):
    """The virtual lab's chip (``hil lab serve``, ``hil lab devices``), its options checked
    and refused by name."""
    if not 1 <= devices <= MAX_DEVICES:
        raise ConfigError("devices", f"{devices} is outside the allowed range "
                          f"[1, {MAX_DEVICES}]")
    try:
        return build_chip(devices, width, seed, at_scale=switch_for(devices, switch) == "7002")
    except ValueError as err:
        raise ConfigError("width", str(err)) from None


def sweep_truth(device, pulse_width: float):
    """(fit, grid): the sigmoid a sweep's fit of one emulated ``device`` converges to and
    the sweep's 15 currents there: the grid rule of protocols.sweep (I_bias +- 5 I0)
    iterated to its fixed point, fitted by the binomial likelihood on the exact curve (not
    quite a logistic: its I0 depends on how the tails are weighed)."""
    from protocols.fitting import fit_sigmoid

    grid = np.linspace(device.current_at(0.005, pulse_width)[0],
                       device.current_at(0.995, pulse_width)[0], 15)
    for _ in range(4):
        fit = fit_sigmoid(grid, device.p_switch(grid[:, None], pulse_width)[:, 0], 100)
        grid = np.linspace(fit.i_bias - 5 * fit.i0, fit.i_bias + 5 * fit.i0, 15)
    return fit, grid


def virtual_devices(devices: int = 4, width: float = 0.5e-6, seed: int | None = 0,
                    switch: str | None = None) -> list[dict]:
    """What each device of the virtual lab ``connect_virtual(devices=, width=, seed=)``
    truly is (SI): the sigmoid its sweep's fit converges to (``i_bias``, ``i0``), its 50 %
    current and window at the calibration pulse, critical current, barrier, the two
    Hall resistances and its defect (None, dead, stuck at +-1, open): the ground truth a
    characterisation is checked against."""
    from simulators.presets import CALIBRATION_PULSE_WIDTH

    chip = virtual_chip(devices, width, seed, switch)
    pulse = CALIBRATION_PULSE_WIDTH
    rows = []
    for j in range(devices):
        device = chip.devices.select(j)
        fit, _ = sweep_truth(device, pulse)
        rows.append({
            "id": j, "i_bias": fit.i_bias, "i0": fit.i0,
            "i_bias_50": float(device.i_bias(pulse)[0]), "window": float(device.window(pulse)[0]),
            "i_c0": float(device.i_c0[0]), "delta": float(device.delta[0]),
            "r_up": float(device.resistance(1)[0]), "r_down": float(device.resistance(-1)[0]),
            "pulse_width": pulse, "defect": chip.defects.kind(j),
        })
    return rows

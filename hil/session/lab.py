"""Opening a lab: the virtual lab (emulated instruments on loopback sockets, built exactly as
``hil lab devices`` builds it) or real instruments from a lab file. This is the one module that
imports both ``instruments`` and ``simulators.lab``: the virtual lab is built here and its
resources and clock are handed down to :class:`instruments.connection.Lab`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from hil.errors import ConfigError
from instruments.connection import Lab, LabFile
from instruments.limits import SafetyLimits
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.server import VirtualLab


class VirtualLabConnection(Lab):
    """A :class:`Lab` on the virtual lab's resources and clock; it also keeps the emulated
    devices' state for resumed runs, and stops the virtual lab when closed."""

    def __init__(self, virtual_lab: VirtualLab, limits: SafetyLimits | None = None) -> None:
        roles = {role: entry["resource"] for role, entry in virtual_lab.resources.items()}
        super().__init__(roles, "@py", limits, clock=virtual_lab.clock)
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

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.virtual_lab.stop()


VIRTUAL_COIL_FIELD = 0.25  # T: the virtual coil's rating (0.5 A of the 2400 at 0.5 T/A)


def connect_virtual(lab: VirtualLab | None = None, limits: SafetyLimits | None = None,
                    devices: int = 4, width: float = 0.5e-6, seed: int | None = 0,
                    bus: str = "gpib", trigger_line: int = 1) -> VirtualLabConnection:
    """A connection to ``lab``, or to a virtual lab started here on a chip of ``devices``
    Hall bars of ``width`` (seeded by ``seed``), its clock charging ``bus`` and its 6221
    line ``trigger_line`` cabled to the 2000."""
    if lab is None:
        lab = VirtualLab(build_chip(devices, width, seed), LabClock.for_bus(bus),
                         trigger_line=trigger_line).start()
    return VirtualLabConnection(lab, limits or SafetyLimits(max_field=VIRTUAL_COIL_FIELD))


def lab_from_file(path: str | Path, **virtual_options) -> Lab:
    """The lab a lab file describes (``virtual = true``: the virtual lab, with the file's
    limits)."""
    lab_file = LabFile.load(path)
    if lab_file.virtual:
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
    if not 1 <= description["devices"] <= 64:
        raise ConfigError("devices", f"{description['devices']} is outside the allowed range "
                          "[1, 64]")
    try:
        return connect_virtual(devices=description["devices"], width=description["width"],
                               seed=description["seed"])
    except ValueError as err:
        raise ConfigError("width", str(err)) from None


def describe_lab(description: dict) -> dict:
    """What a run's provenance keeps of its lab: a lab file's path, SHA-256 and whole
    text (the file may change or vanish later) with its chip; or the virtual lab's chip
    (its devices, bar width and seed build it again: ``hil lab devices``)."""
    if "lab_file" not in description:
        return {**description, "virtual": True,
                "instruments": "the virtual lab's emulated 6221, 2000, 2400 and 7001"}
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


def virtual_chip(devices: int = 4, width: float = 0.5e-6, seed: int | None = 0):
    """The virtual lab's chip (``hil lab serve``, ``hil lab devices``), its options checked
    and refused by name."""
    if not 1 <= devices <= 64:
        raise ConfigError("devices", f"{devices} is outside the allowed range [1, 64]")
    try:
        return build_chip(devices, width, seed)
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


def virtual_devices(devices: int = 4, width: float = 0.5e-6, seed: int | None = 0) -> list[dict]:
    """What each device of the virtual lab ``connect_virtual(devices=, width=, seed=)``
    truly is (SI): the sigmoid its sweep's fit converges to (``i_bias``, ``i0``), its 50 %
    current and window at the calibration pulse, critical current, barrier and the two
    Hall resistances: the ground truth a characterisation is checked against."""
    from simulators.presets import CALIBRATION_PULSE_WIDTH

    chip = virtual_chip(devices, width, seed)
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
            "pulse_width": pulse,
        })
    return rows

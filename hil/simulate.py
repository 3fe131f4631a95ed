"""LLGS switching-probability curves as a Python call (``hil.simulate_psw``; the command
``hil simulate psw`` prints and plots what it returns): paper 000's stochastic LLGS
macrospins and the other papers' presets, a curve with its sigmoid fit and Wilson
intervals, every argument checked before the kernel compiles or allocates anything."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hil.banks.notices import kernel_compile_notice
from hil.errors import ConfigError
from hil.units import refused, si_value
from protocols.fitting import SigmoidFit, fit_sigmoid, wilson_interval
from simulators.bounds import CostWarning
from simulators.llgs_pulse import Pulse
from simulators.macrospin import macrospin_preset
from simulators.psw import SwitchingCurve, check_llgs_arguments
from simulators.psw import simulate_psw as _simulate


@dataclass(frozen=True)
class PswResult:
    """A simulated switching-probability curve: the curve (currents, counts, P_sw, timing),
    its sigmoid fit (None when the curve steps from 0 to 1 between neighbouring currents,
    so I0 is not determined) and the 95 % Wilson interval of each point."""

    preset: str
    pulse_width: float  # s
    dt: float  # s
    trials: int
    curve: SwitchingCurve
    fit: SigmoidFit | None
    low: np.ndarray
    high: np.ndarray

    def summary(self) -> dict[str, Any]:
        """The result as plain numbers (SI), as ``hil simulate psw --json`` prints it."""
        curve = self.curve
        return {"preset": self.preset, "pulse_width": self.pulse_width, "dt": self.dt,
                "trials": self.trials, "currents": curve.currents.tolist(),
                "p_switch": curve.p_switch.tolist(), "seconds": curve.seconds,
                "junction_steps_per_s": curve.junction_steps_per_s,
                "backend": curve.backend, "device": curve.device_name,
                **(self.fit.as_dict() if self.fit is not None else {"fit": None})}


def simulate_psw(preset: str, currents: Sequence[Any] | None = None,
                 pulse_width: Any = 30e-9, trials: int = 100, dt: Any = None, seed: int = 0,
                 device: str = "auto", gate_voltage: Any = 0.0, backend: str = "auto",
                 say: Callable[[str], None] | None = None) -> PswResult:
    """P_sw against write current for ``preset`` (``hil simulate presets`` lists them):
    ``currents`` default 0.2-1.5 I_c0 in 21 points; ``pulse_width``, ``dt``,
    ``gate_voltage`` and each current SI numbers, pint quantities or strings with units
    ("30ns", "12uA"). Bad arguments are refused (ConfigError naming the field) before
    anything is compiled or allocated; a long run's cost is a ``CostWarning`` before it
    starts; ``say`` hears the CPU kernel's one-time compile notice (a wait of 5-60 s)."""
    try:
        chosen = macrospin_preset(preset)
    except ValueError as err:
        raise ConfigError("preset", str(err).split(": ", 1)[-1]) from None
    width = si_value("pulse_width", pulse_width, "s", example_unit="ns")
    step = chosen.default_dt if dt is None else si_value("dt", dt, "s", example_unit="ps")
    gate = si_value("gate_voltage", gate_voltage, "V")
    grid = (chosen.critical_current() * np.linspace(0.2, 1.5, 21) if currents is None else
            np.array([si_value("currents", i, "A", example_unit="uA") for i in currents]))
    try:  # every argument in its range before the kernel compiles or allocates anything
        check_llgs_arguments(chosen, grid, Pulse(width), trials, step, gate)
    except ValueError as err:
        raise refused(err) from None
    if say is not None and backend in ("auto", "numba"):
        for line in kernel_compile_notice(preset, device):
            say(line)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CostWarning)  # said by the check above
            curve = _simulate(chosen, grid, width, trials, step, seed, device, gate,
                              backend=backend)
    except ValueError as err:
        raise refused(err) from None
    try:
        fit = fit_sigmoid(curve.currents, curve.p_switch, trials)
    except RuntimeError:  # the curve steps from 0 to 1 between neighbouring currents
        fit = None
    low, high = wilson_interval(curve.counts, trials)
    return PswResult(chosen.name, width, step, trials, curve, fit, low, high)

"""The simulations of ``hil simulate`` as Python calls (the command prints and plots what
they return): LLGS switching-probability curves (``hil.simulate_psw``: paper 000's
stochastic LLGS macrospins and the other papers' presets, a curve with its sigmoid fit and
Wilson intervals), paper 004's telegraphic neuron
(``hil.simulate_telegraph``) and paper 003's two-polariser neuron
(``hil.simulate_two_polariser``); every argument checked before a kernel compiles or
allocates anything."""

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
    chosen = _preset(preset)
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


def _preset(name: str):
    """The macrospin preset ``name``, refused by field name when there is none."""
    try:
        return macrospin_preset(name)
    except ValueError as err:
        raise ConfigError("preset", str(err).split(": ", 1)[-1]) from None


@dataclass(frozen=True)
class TelegraphResult:
    """Paper 004's telegraphic neuron at one bias: the Neel-Brown model (``model``: E_b,
    H_k, tau_0, the sigmoid's weight w; ``tau_high``, ``tau_low``, ``p_high`` of a field),
    Brown's exact weight, the fields asked and, when the LLGS was integrated, its record
    (``llgs``: state changes, mean dwell, time high)."""

    preset: str
    paper: str
    gate_voltage: float  # V
    model: Any  # simulators.neel_brown.NeelBrown
    weight_brown: float  # 1/T
    fields: np.ndarray  # T
    llgs: Any = None  # simulators.telegraph.TelegraphRecord, or None

    @property
    def llgs_state_changes(self) -> int | None:
        """The LLGS trajectories' state changes (None without ``llgs``)."""
        return None if self.llgs is None else self.llgs.exits_high + self.llgs.exits_low

    def summary(self) -> dict[str, Any]:
        """The result as plain numbers (SI), as ``hil simulate telegraph --json`` prints it."""
        model = self.model
        out = {"preset": self.preset, "gate_voltage": self.gate_voltage, "e_b_kT": model.e_b,
               "h_k": model.h_k, "tau0": model.tau0, "weight": model.weight,
               "weight_brown": self.weight_brown, "fields": self.fields.tolist(),
               "p_high": model.p_high(self.fields).tolist()}
        if self.llgs is not None:
            mean, err = self.llgs.mean_dwell()
            out.update({"llgs_state_changes": self.llgs_state_changes,
                        "llgs_mean_dwell": mean, "llgs_mean_dwell_err": err})
        return out


def simulate_telegraph(preset: str = "vcma-004", gate_voltage: Any = 0.0,
                       fields: Sequence[Any] | None = None, llgs: Any = None,
                       trajectories: int = 200, seed: int = 0) -> TelegraphResult:
    """Paper 004's Eqs. 3-5 for ``preset`` at ``gate_voltage`` (V, or "0.1V"): dwell times
    and P(high | H) at ``fields`` (perpendicular, T or "2mT"; default +-4 units of the
    sigmoid in 9 points, each within +-H_k where both states exist); with ``llgs`` (a
    duration, s or "2us") also the LLGS's own dwell times over ``trajectories``, to check
    the model against. Refused by field name (ConfigError) before anything is integrated;
    a long LLGS run's cost is a ``CostWarning`` first."""
    from simulators.neel_brown import NeelBrown, brown_weight  # scipy, torch: heavy

    device = _preset(preset)
    gate = si_value("gate_voltage", gate_voltage, "V")
    if not device.h_k(gate) > 0:
        raise ConfigError("gate_voltage", f"{gate:g} V leaves {device.name} without a "
                          "perpendicular easy axis; allowed range: H_k(V) > 0")
    model = NeelBrown.for_device(device, gate)
    grid = (np.linspace(-4, 4, 9) / model.weight if fields is None else  # +-4 sigmoid units
            np.array([si_value("fields", h, "T", example_unit="mT") for h in fields]))
    if np.abs(grid).max() > model.h_k:
        raise ConfigError("fields", f"{np.abs(grid).max() * 1e3:g} mT is outside the "
                          f"allowed range [-{model.h_k * 1e3:.4g}, {model.h_k * 1e3:.4g}] mT "
                          "(|H| <= H_k: Eqs. 3-4 need both states)")
    record = None
    if llgs is not None:
        from simulators.telegraph import simulate_telegraph as integrate

        duration = si_value("llgs", llgs, "s", example_unit="us")
        try:
            record = integrate(device, duration, trajectories, gate_voltage=gate, seed=seed)
        except ValueError as err:
            raise refused(err, {"duration": "llgs"}) from None
        exits = record.exits_high + record.exits_low
        if exits < 2:
            raise ConfigError("llgs", f"{duration:g} s showed {exits} state changes; "
                              f"the model expects one per {float(model.tau_high(0.0)):.3g} s")
    return TelegraphResult(device.name, device.paper, gate, model, brown_weight(device, gate),
                           grid, record)


TWO_POLARISER_SPAN = 10.0  # largest |H| / H_k of simulate_two_polariser's currents


@dataclass(frozen=True)
class TwoPolariserResult:
    """Paper 003's two-polariser neuron against its field-line current: the activation
    <m_x> and derivative <m_z^2> (Boltzmann averages, or the LLGS's time averages with
    their errors), their tanh and sech^2 fits, and the derivative's largest distance from
    its sech^2 fit."""

    preset: str
    paper: str
    source: str  # "Boltzmann" or "LLGS"
    h_k: float  # T, in the x-z plane
    field_per_ampere: float  # T/A of the field line
    currents: np.ndarray  # A
    mx: np.ndarray
    mz2: np.ndarray
    mx_err: np.ndarray | None
    mz2_err: np.ndarray | None
    activation: Any  # simulators.two_polariser.CurveFit: scale * tanh(slope * H/H_k)
    derivative: Any  # CurveFit: scale * sech^2(slope * H/H_k)

    @property
    def reduced_fields(self) -> np.ndarray:
        """H / H_k of each current."""
        return self.currents * self.field_per_ampere / self.h_k

    @property
    def largest_distance(self) -> float:
        """The derivative's largest distance from its sech^2 fit."""
        return float(np.abs(self.mz2 - self.derivative.sech2(self.reduced_fields)).max())

    def summary(self) -> dict[str, Any]:
        """The result as plain numbers (SI), as ``hil simulate two-polariser --json`` prints
        it."""
        return {"preset": self.preset, "source": self.source,
                "currents": self.currents.tolist(), "mx": self.mx.tolist(),
                "mz2": self.mz2.tolist(),
                "mx_err": None if self.mx_err is None else self.mx_err.tolist(),
                "mz2_err": None if self.mz2_err is None else self.mz2_err.tolist(),
                "tanh_scale": self.activation.scale, "tanh_slope": self.activation.slope,
                "sech2_scale": self.derivative.scale, "sech2_slope": self.derivative.slope,
                "sech2_largest_distance": self.largest_distance}


def simulate_two_polariser(preset: str = "mtj-003", currents: Sequence[Any] | None = None,
                           llgs: bool = False, trajectories: int = 32, average: Any = 20e-9,
                           seed: int = 0) -> TwoPolariserResult:
    """Paper 003's Fig. 2b-c for ``preset``: <m_x> and <m_z^2> against the field-line
    ``currents`` (A or "8mA"; default +-2.5 H_k in 21 points, each within +-10 H_k),
    Boltzmann averages or, with ``llgs``, time averages of ``trajectories`` LLGS runs over
    ``average`` (s or "20ns"), each curve fitted. Refused by field name (ConfigError)
    before anything is integrated."""
    from simulators.two_polariser import (  # scipy, torch: heavy
        FIELD_PER_AMPERE,
        boltzmann_readout,
        fit_sech2,
        fit_tanh,
        in_plane_h_k,
        simulate_readout,
    )

    device = _preset(preset)
    c = device.field_coefficients()
    if not c[2] > c[0] > c[1]:
        raise ConfigError("preset", f"{device.name} does not hold its layer in the x-z plane "
                          "(needs c_z > c_x > c_y); allowed: mtj-003")
    h_k = in_plane_h_k(device)
    grid = (np.linspace(-2.5, 2.5, 21) * h_k / FIELD_PER_AMPERE if currents is None else
            np.array([si_value("currents", i, "A", example_unit="mA") for i in currents]))
    top = TWO_POLARISER_SPAN * h_k / FIELD_PER_AMPERE
    if np.abs(grid).max() > top:
        raise ConfigError("currents", f"{np.abs(grid).max() * 1e3:g} mA is outside the "
                          f"allowed range [-{top * 1e3:.4g}, {top * 1e3:.4g}] mA (|H| <= "
                          f"{TWO_POLARISER_SPAN:g} H_k: beyond it both curves are flat)")
    fields = grid * FIELD_PER_AMPERE
    u = fields / h_k
    if llgs:
        seconds = si_value("average", average, "s", example_unit="ns")
        try:
            readout = simulate_readout(device, fields, trajectories, average=seconds,
                                       seed=seed)
        except ValueError as err:
            raise refused(err) from None
        mx, mz2, mx_err, mz2_err, source = (readout.mx, readout.mz2, readout.mx_err,
                                            readout.mz2_err, "LLGS")
    else:
        exact = boltzmann_readout(device, fields)
        mx, mz2, mx_err, mz2_err, source = exact.mx, exact.mz2, None, None, "Boltzmann"
    return TwoPolariserResult(device.name, device.paper, source, h_k, FIELD_PER_AMPERE, grid,
                              mx, mz2, mx_err, mz2_err, fit_tanh(u, mx, mx_err),
                              fit_sech2(u, mz2, mz2_err))

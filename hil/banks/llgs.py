"""``LLGSBank``: neurons on macrospins integrated with the stochastic LLGS (papers 000, 002).

Every ``switch`` call runs one write pulse per requested neuron-pulse from a fresh thermal
reset state, all of them in one batched integration: through the fused kernel (numba on the
CPU, Triton on CUDA) that ``simulate_psw`` and the bank's own calibration run, when the
junction's physics is in it (``backend="auto"``), else through the torch integrator.

Device-to-device variation (``eta``) is drawn once per bank, seeded, as paper 002 Eq. 3 draws
it for the Hall bars: neuron i's spin-torque efficiency (polarisation, or the current density
its area gives) is 1 / (1 + eta x_i), x_i ~ U[-1, 1], so its critical current, I_bias and
window all scale by 1 + eta x_i. One factor moves both, so a separate window variation cannot be
realised and is refused."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hil.banks.base import Calibration, NeuronBank
from hil.units import si_value
from protocols.fitting import fit_sigmoid
from protocols.progress import Progress
from simulators.bounds import MAX_NEURONS, check_count, si, warn_cost
from simulators.equilibrium import warn_if_off_temperature
from simulators.llgs import LLGSIntegrator, Pulse, steps_for, thermal_initial_states
from simulators.llgs_kernels import FusedLLGS, choose_backend, resolve_device
from simulators.macrospin import Macrospin, macrospin_preset
from simulators.psw import check_llgs_arguments, simulate_psw

MAX_CURRENT_PER_IC0 = 3.0  # safe limit of the write current, in units of I_c0


def draw_current_scale(n_neurons: int, eta: float, seed: int | None) -> np.ndarray:
    """Per-neuron factor 1 + eta x, x ~ U[-1, 1] (paper 002 Eq. 3), from its own seed."""
    if not 0 <= eta < 1:
        raise ValueError(f"eta = {eta:g} is outside the allowed range [0, 1)")
    rng = np.random.default_rng(np.random.SeedSequence([0 if seed is None else seed, 3]))
    return 1.0 + eta * rng.uniform(-1.0, 1.0, n_neurons)


_CALIBRATIONS: dict[tuple, Calibration] = {}
_COARSE, _FINE = 40, 25  # currents of the bracketing and the fitted sweep
_COARSE_TRIALS = 50
_GROUP = 5  # currents simulated per call, so progress moves every few seconds


def _sweep(device: Macrospin, currents: np.ndarray, pulse_width: float, trials: int,
           dt: float, seed: int, done: int, total: int,
           progress: Progress | None) -> np.ndarray:
    """P_sw over ``currents`` in fixed groups of currents (each group its own seed, so the
    result does not depend on whether anyone watches), reporting pulses done."""
    p = np.empty(currents.size)
    for k in range(0, currents.size, _GROUP):
        part = currents[k:k + _GROUP]
        p[k:k + _GROUP] = simulate_psw(device, part, pulse_width, trials, dt,
                                       seed=seed * 1000 + k).p_switch
        done += part.size * trials
        if progress is not None:
            progress("calibration", done, total, {})
    return p


def preset_calibration(name: str, pulse_width: float, dt: float, trials: int = 200,
                       progress: Progress | None = None) -> Calibration:
    """The preset's sigmoid at this pulse width, from two simulated sweeps (fixed seeds): a
    coarse one that brackets the switching range, a fine one that is fitted. Cached per
    process; ``progress`` hears stage "calibration" in simulated pulses (a wait of seconds
    to a minute, paper 000's presets at their default step)."""
    key = (name, pulse_width, dt, trials)
    if key in _CALIBRATIONS:
        return _CALIBRATIONS[key]
    device = macrospin_preset(name)
    i_c0 = device.critical_current()
    total = _COARSE * _COARSE_TRIALS + _FINE * trials
    coarse_currents = i_c0 * np.linspace(0.05, 2.0, _COARSE)
    coarse = _sweep(device, coarse_currents, pulse_width, _COARSE_TRIALS, dt, 1, 0, total,
                    progress)
    lo = coarse_currents[np.argmax(coarse > 0.02)] if (coarse > 0.02).any() \
        else coarse_currents[0]
    hi = coarse_currents[np.argmax(coarse > 0.98)] if (coarse > 0.98).any() \
        else coarse_currents[-1]
    span = hi - lo
    fine_currents = np.linspace(lo - 0.2 * span, hi + 0.2 * span, _FINE).clip(0)
    fine = _sweep(device, fine_currents, pulse_width, trials, dt, 2,
                  _COARSE * _COARSE_TRIALS, total, progress)
    fit = fit_sigmoid(fine_currents, fine, trials)
    _CALIBRATIONS[key] = Calibration(fit.i_bias, fit.i0, pulse_width)
    return _CALIBRATIONS[key]


class LLGSBank(NeuronBank):
    """Neurons on stochastic LLGS macrospins (papers 000, 002): the bank to train on when the
    switching physics itself, not a fitted sigmoid, should be in the loop (module docstring)."""
    def __init__(
        self, preset: str | Macrospin, n_neurons: int, pulse_width: float | str | Any = 30e-9,
        dt: float | None = None, seed: int | None = 0, device_name: str = "cpu",
        eta: float = 0.0, eta_window: float | None = None,
        progress: Progress | None = None, backend: str = "auto",
    ) -> None:
        self.device = macrospin_preset(preset) if isinstance(preset, str) else preset
        check_count("n_neurons", n_neurons, 1, MAX_NEURONS)
        pulse_width = si_value("pulse_width", pulse_width, "s", example_unit="ns")
        dt = self.device.default_dt if dt is None else dt
        # the calibration's sweeps, before anything is integrated: every argument in range,
        # and a long one says its cost (the pulses of every later switch cost the same each)
        pulse = Pulse(pulse_width)
        check_llgs_arguments(self.device, [0.0, MAX_CURRENT_PER_IC0 * 2.0
                                           * self.device.critical_current()], pulse, 1, dt,
                             say_cost=False)
        warn_cost(steps_for(pulse.duration, dt), _COARSE * _COARSE_TRIALS + _FINE * 200,
                  f"LLGSBank calibration of {self.device.name} at {si(pulse_width, 's')} pulses")
        if eta_window is not None and eta_window != eta:
            raise ValueError(
                f"eta_window = {eta_window:g}: an LLGS neuron's window scales with its critical "
                f"current, so its variation equals eta = {eta:g}; allowed: {eta:g} or unset")
        self.current_scale = draw_current_scale(n_neurons, eta, seed)
        self.pulse = pulse
        warn_if_off_temperature(self.device, dt)
        self.dt = dt
        device_name = resolve_device(device_name)  # "auto": CUDA when present
        self.backend = choose_backend(device_name, self.device, backend)
        seed = 0 if seed is None else int(seed) % (2**63)
        if self.backend == "torch":
            self.integrator = LLGSIntegrator(self.device, dt, device_name=device_name)
            self.generator = torch.Generator(device=device_name)
            self.generator.manual_seed(seed)
        else:  # noise keyed by (seed, trajectory, step): each call's trajectories are new
            self.kernel = FusedLLGS(self.device, dt, seed, device_name, self.backend)
            self.trajectories = 0
        self.recipe = {"preset": self.device.name, "pulse_width": pulse_width, "dt": dt,
                       "eta": eta, "seed": seed, "integrator": self.backend}
        calibration = preset_calibration(self.device.name, pulse_width, dt, progress=progress)
        max_current = MAX_CURRENT_PER_IC0 * self.device.critical_current() * self.current_scale
        super().__init__([calibration] * n_neurons, max_current)
        self.calibration_origin = (f"the preset {self.device.name}'s sigmoid, fitted to "
                                   "simulated sweeps at this pulse width and step")

    def _switch(self, currents: np.ndarray) -> np.ndarray:
        flat = (currents / self.current_scale).reshape(-1)  # each device's own efficiency
        reset = float(self.device.reset_direction[2])
        if self.backend == "torch":
            m0 = thermal_initial_states(self.device, flat.size, self.generator,
                                        device_name=self.integrator.torch_device)
            m, _ = self.integrator.run(m0, flat, self.pulse, self.generator)
            return (m[2] * reset < 0).cpu().numpy().reshape(currents.shape)
        first, self.trajectories = self.trajectories, self.trajectories + flat.size
        m = self.kernel.initial_states(flat.size, first)
        m, _ = self.kernel.run(m, flat, self.pulse, trajectory0=first)
        z = m[2] if self.backend == "numba" else m[2].cpu().numpy()
        return (z * reset < 0).reshape(currents.shape)

    def get_state(self) -> Any:
        if self.backend == "torch":
            return self.generator.get_state()
        return {"trajectories": self.trajectories, "step": self.kernel.step}

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "devices": "stochastic LLGS macrospins", **self.recipe,
                "current_scale": self.current_scale.tolist()}

    def set_state(self, state: Any) -> None:
        if self.backend == "torch":
            self.generator.set_state(state)
        else:
            self.trajectories, self.kernel.step = state["trajectories"], state["step"]

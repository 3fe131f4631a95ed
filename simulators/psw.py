"""Switching-probability curves P_sw(I) from the LLGS simulator, on the fastest backend the
junction and the machine allow (paper 000 App. A: ``trials`` write pulses per current, each
from a thermal reset state). torch is imported only when the reference backend runs."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from simulators.llgs_pulse import Pulse
from simulators.macrospin import Macrospin, macrospin_preset


@dataclass(frozen=True)
class SwitchingCurve:
    """Switch counts per current from ``trials`` independent pulses, and the cost."""

    currents: np.ndarray
    counts: np.ndarray
    trials: int
    seconds: float
    junction_steps: int
    backend: str = "torch"
    device_name: str = "cpu"

    @property
    def p_switch(self) -> np.ndarray:
        return self.counts / self.trials

    @property
    def junction_steps_per_s(self) -> float:
        return self.junction_steps / self.seconds


def simulate_psw(
    preset: str | Macrospin, currents: np.ndarray, pulse_width: float, trials: int,
    dt: float | None = None, seed: int | None = 0, device_name: str = "cpu",
    gate_voltage: float = 0.0, rise: float = 0.0, fall: float = 0.0, backend: str = "auto",
) -> SwitchingCurve:
    """P_sw(I) of a preset, one batch. ``dt``: the preset's Boltzmann-checked step unless
    given (another one is checked, with a warning if it misses by more than 2 %).
    ``device_name``: cpu, cuda or auto (CUDA when present); ``backend``: auto (the fused
    kernel when the junction's physics is in it, else the torch reference), numba, triton
    or torch."""
    from simulators.llgs_kernels import choose_backend, resolve_device, switch_counts

    device = macrospin_preset(preset) if isinstance(preset, str) else preset
    dt = device.default_dt if dt is None else dt
    pulse = Pulse(pulse_width, rise, fall)
    currents = np.asarray(currents, float)
    if not isinstance(trials, int | np.integer) or trials <= 0:
        raise ValueError(f"trials = {trials} is outside the allowed range [1, inf)")
    device_name = resolve_device(device_name)
    backend = choose_backend(device_name, device, backend)
    seed = 0 if seed is None else seed
    start = time.perf_counter()
    if backend == "torch":
        from simulators.llgs import chunked_steps, simulate_switching

        counts = simulate_switching(device, currents, pulse, trials, dt, seed, device_name,
                                    gate_voltage)
        steps = chunked_steps(pulse.duration, dt) * currents.size * trials
    else:
        counts, steps = switch_counts(device, currents, pulse, trials, dt, seed, device_name,
                                      gate_voltage, backend)
    seconds = time.perf_counter() - start
    if dt != device.default_dt:  # after the run has checked dt for stability
        from simulators.equilibrium import warn_if_off_temperature

        warn_if_off_temperature(device, dt)
    return SwitchingCurve(currents, counts, trials, seconds, steps, backend, device_name)

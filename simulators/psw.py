"""Switching-probability curves P_sw(I) from the LLGS simulator, on the fastest backend the
junction and the machine allow (paper 000 App. A: ``trials`` write pulses per current, each
from a thermal reset state). torch is imported only when the reference backend runs."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from simulators.bounds import (
    MAX_TRAJECTORIES,
    MAX_TRIALS,
    OutOfRange,
    check_count,
    check_finite,
    check_range,
    si,
    warn_cost,
)
from simulators.llgs_pulse import Pulse, check_dt, max_stable_current, steps_for
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
        """The switching fraction at each current: counts / trials."""
        return self.counts / self.trials

    @property
    def junction_steps_per_s(self) -> float:
        """Junction-steps integrated per second of wall time: the backend's throughput."""
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
    currents = check_llgs_arguments(device, currents, pulse, trials, dt, gate_voltage)
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


def check_llgs_arguments(device: Macrospin, currents: np.ndarray, pulse: Pulse, trials: int,
                         dt: float, gate_voltage: float = 0.0,
                         say_cost: bool = True) -> np.ndarray:
    """Every physical argument of a P_sw curve in its allowed range, before anything is
    allocated (``simulators.bounds``): the gate keeps a perpendicular easy axis, dt is an
    LLGS step, the pulse at most ``MAX_LLGS_STEPS`` steps of it, the currents finite and
    RK4-stable at dt, ``trials`` per current and ``MAX_TRAJECTORIES`` in all; a legal run
    that will take long says its cost first (``CostWarning``). Returns the currents."""
    check_range("gate_voltage", gate_voltage, -10.0, 10.0, "V")
    if not device.h_k(gate_voltage) > 0:
        raise OutOfRange("gate_voltage", f"gate_voltage = {gate_voltage:g} V leaves "
                         f"{device.name} without a perpendicular easy axis; allowed range: "
                         "H_k(V) > 0")
    check_range("dt", dt, 0.0, 1e-9, "s", "an LLGS step", low_open=True)
    try:  # a step RK4 cannot take even without current
        check_dt(device, dt, np.zeros(1), None if gate_voltage == 0 else np.array([gate_voltage]))
    except ValueError as err:
        raise OutOfRange("dt", str(err)) from None
    steps = steps_for(pulse.duration, dt)
    currents = check_finite("currents", currents, "A").reshape(-1)
    check_count("currents", currents.size, 1, 10_000, "currents of one curve")
    top = max_stable_current(device, dt, gate_voltage)
    largest = float(np.abs(currents).max())
    check_range("currents", largest, 0.0, top, "A", f"|I| at which RK4 at dt = {si(dt, 's')} "
                "stays stable")
    check_count("trials", trials, 1, MAX_TRIALS)
    check_count("trajectories", currents.size * int(trials), 1, MAX_TRAJECTORIES,
                "currents x trials in one batch")
    if say_cost:
        warn_cost(steps, currents.size * int(trials),
                  f"{device.name}, {si(pulse.width, 's')} pulses at dt = {si(dt, 's')}")
    return currents

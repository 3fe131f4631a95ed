"""Telegraphic switching of a low-barrier macrospin in the LLGS: dwell times and the
time-averaged state (paper 004, Cai et al., Voltage-Controlled Spintronic Stochastic Neuron
Based on a Magnetic Tunnel Junction, Fig. 2c-d).

The state is read hysteretically, as a comparator on the TMR signal would: high once m_z
passes +z_t, low once it passes -z_t. A dwell is the time from entering a state to entering
the other, which is what ``simulators.neel_brown.brown_dwell_time`` computes exactly. A
finite run cuts the long dwells short, so the mean of the completed dwells is biased low (by a
third for 74 ns dwells in a 250 ns run); the mean dwell is instead the time spent in a state
over the number of times it was left (the renewal estimate), with every trajectory's state
read from its thermal start.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from simulators.bounds import (
    MAX_TRAJECTORIES,
    check_count,
    check_llgs_steps,
    check_range,
    warn_cost,
)
from simulators.llgs import LLGSIntegrator, Pulse, chunked_steps, thermal_initial_states
from simulators.macrospin import Macrospin
from simulators.neel_brown import STATE_THRESHOLD


@dataclass(frozen=True)
class TelegraphRecord:
    """Time spent in each state and the exits from it, summed over trajectories."""

    time_high: float  # s
    time_low: float  # s
    exits_high: int
    exits_low: int
    simulated_time: float  # s, per trajectory

    @property
    def time_high_fraction(self) -> float:
        """Fraction of the time spent in the high state: the time-averaged activation (paper 004 Eq.
        5)."""
        return self.time_high / (self.time_high + self.time_low)

    def mean_dwell(self, state: int | None = None) -> tuple[float, float]:
        """(mean dwell s, its error): time in the state(s) / exits; the error is that of an
        exponential dwell, mean / sqrt(exits)."""
        time = {1: self.time_high, -1: self.time_low, None: self.time_high + self.time_low}
        exits = {1: self.exits_high, -1: self.exits_low,
                 None: self.exits_high + self.exits_low}
        if exits[state] == 0:
            raise ValueError(f"no state changes in {self.simulated_time:g} s")
        mean = time[state] / exits[state]
        return mean, mean / np.sqrt(exits[state])


def simulate_telegraph(
    device: Macrospin, duration: float, trajectories: int = 500, h_perp: float = 0.0,
    gate_voltage: float = 0.0, dt: float | None = None, look: float = 100e-12, seed: int = 0,
    threshold: float = STATE_THRESHOLD,
) -> TelegraphRecord:
    """Integrate ``trajectories`` free layers for ``duration`` at zero current under a field
    ``h_perp`` (T) along z and a bias ``gate_voltage``, reading the state every ``look``."""
    if not 0 < threshold < 1:
        raise ValueError(f"threshold = {threshold:g} is outside the allowed range (0, 1)")
    check_range("gate_voltage", gate_voltage, -10.0, 10.0, "V")
    if not device.h_k(gate_voltage) > 0:
        raise ValueError(f"gate_voltage = {gate_voltage:g} V leaves {device.name} without a "
                         "perpendicular easy axis; allowed range: H_k(V) > 0")
    h_k = device.h_k(gate_voltage)
    check_range("h_perp", h_perp, -h_k, h_k, "T", "|H| <= H_k: both states exist")
    dt = device.default_dt if dt is None else dt
    check_count("trajectories", trajectories, 1, MAX_TRAJECTORIES)
    steps = check_llgs_steps("duration", duration, dt)  # the whole run, segment by segment
    check_range("look", look, dt, duration, "s", "one read per look: from dt to duration")
    warn_cost(steps, trajectories, f"telegraph run of {device.name}")
    biased = dataclasses.replace(device, h_ext=(device.h_ext[0], device.h_ext[1], h_perp))
    integrator = LLGSIntegrator(biased, dt)
    gen = torch.Generator().manual_seed(seed)
    gates = None if gate_voltage == 0 else np.full(trajectories, gate_voltage)
    m = thermal_initial_states(biased, trajectories, gen, gate_voltage)
    zero = np.zeros(trajectories)
    state = np.where(m[2].numpy() >= 0, 1.0, -1.0)
    segment = Pulse(look, relax=0.0)
    step_time = chunked_steps(look, integrator.dt) * integrator.dt  # whole compiled chunks
    time_in = {1: 0.0, -1: 0.0}
    exits = {1: 0, -1: 0}
    t = 0.0
    for _ in range(int(round(duration / look))):
        m, _ = integrator.run(m, zero, segment, gen, gates)
        t += step_time
        for s in (1, -1):
            time_in[s] += float((state == s).sum()) * step_time
        z = m[2].numpy()
        flips = ((state > 0) & (z < -threshold)) | ((state < 0) & (z > threshold))
        for s in (1, -1):
            exits[s] += int((flips & (state == s)).sum())
        state[flips] = -state[flips]
    return TelegraphRecord(time_in[1], time_in[-1], exits[1], exits[-1], t)

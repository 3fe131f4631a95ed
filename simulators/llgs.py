"""Batched stochastic LLGS for macrospins, in torch (CPU or CUDA, no code change).

In Landau-Lifshitz form with gamma' = gamma / (1 + alpha^2), a damping-like torque a_J
along the spin direction sigma and the thermal field inside H:

    dm/dt = -gamma' [ m x A + m (m . B) - B (m . m) ],   A = H - alpha a_J sigma,
                                                          B = alpha H + a_J sigma

(the Gilbert equation with -gamma a_J m x (m x sigma) solved for dm/dt), which costs one cross
product per stage. The integrator is RK4 with **one** thermal-field draw per step, held in
all four stages (a Stratonovich, Wong-Zakai scheme), then |m| is renormalised. Paper 000's
code draws fresh noise in every stage, which cuts the noise variance to 10/36; Heun at 5 ps
pumps energy because its amplification on the precession orbit exceeds 1. RK4 is stable for
omega dt < 2 sqrt(2); ``stability_limit`` reports the dt that allows.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from simulators.bounds import check_range

# the pulse, the step bound and the P_sw entry point are backend-neutral (no torch there)
from simulators.llgs_pulse import (  # noqa: F401
    RK4_STABILITY,
    Pulse,
    check_dt,
    stability_limit,
    steps_for,
)
from simulators.macrospin import Macrospin


def thermal_initial_states(
    device: Macrospin, n: int, generator: torch.Generator, gate_voltage: float = 0.0,
    dtype: torch.dtype = torch.float32, device_name: str | torch.device = "cpu",
) -> torch.Tensor:
    """(3, n) unit vectors from the Boltzmann distribution of the reset well, exp(Delta m_z^2)
    on the hemisphere about the reset direction (exact for N_x = N_y), uniform azimuth."""
    delta = device.barrier(gate_voltage)
    grid = np.linspace(0.0, 1.0, 20001)
    density = np.exp(delta * (grid**2 - 1.0))
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2)])
    cdf /= cdf[-1]
    # drawn where the generator lives (a CUDA generator cannot feed a CPU tensor)
    u = torch.rand(n, generator=generator, dtype=torch.float64,
                   device=generator.device).cpu().numpy()
    phi = torch.rand(n, generator=generator, dtype=torch.float64,
                     device=generator.device).cpu().numpy() * 2 * np.pi
    cos_t = np.interp(u, cdf, grid)
    sin_t = np.sqrt(np.clip(1 - cos_t**2, 0, None))
    sign = float(device.reset_direction[2])
    m = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), sign * cos_t])
    return torch.as_tensor(m, dtype=dtype, device=device_name)


CHUNK_STEPS = 4  # RK4 steps fused into one compiled kernel call (compile cost grows with it)


def chunked_steps(duration: float, dt: float, field: str = "pulse_width") -> int:
    """Steps that cover ``duration``, rounded up to whole chunks (tolerant of rounding);
    refused in ``field``'s name beyond ``simulators.bounds.MAX_LLGS_STEPS`` steps, before
    any per-step table is made."""
    steps_for(duration, dt, field)
    return CHUNK_STEPS * max(1, math.ceil(duration / dt / CHUNK_STEPS - 1e-9))


def _rk4_chunk(mx, my, mz, noise, shape, amp, sign, cz, params):
    """``noise.shape[0]`` RK4 steps, elementwise on the components of m (so a compiler fuses
    them into one loop). noise: (K, 3, n) thermal field, tesla; shape: (K, 3) pulse fraction at
    t, t + dt/2, t + dt; amp: (n,) a_J at full pulse; cz: (n,) z field coefficient.
    params: gamma', alpha, dt, c_x, c_y, sigma_x, sigma_y, sigma_z, P^2 (0: constant eta),
    field-like ratio, h_ext x, y, z. Returns the new components and max | |m| - 1 | before
    renormalisation."""
    (gamma_ll, alpha, dt, cx, cy, sx, sy, sz, p2, fl, hx0, hy0, hz0) = params.unbind(0)
    worst = torch.zeros((), dtype=mx.dtype, device=mx.device)

    def rate(x, y, z, hx, hy, hz, a):
        hx = hx + cx * x
        hy = hy + cy * y
        hz = hz + cz * z
        a = a / (1.0 + p2 * sign * (x * sx + y * sy + z * sz))
        ax, ay, az = hx - alpha * a * sx, hy - alpha * a * sy, hz - alpha * a * sz
        bx, by, bz = alpha * hx + a * sx, alpha * hy + a * sy, alpha * hz + a * sz
        mdotb = x * bx + y * by + z * bz
        mm = x * x + y * y + z * z
        return (-gamma_ll * (y * az - z * ay + x * mdotb - bx * mm),
                -gamma_ll * (z * ax - x * az + y * mdotb - by * mm),
                -gamma_ll * (x * ay - y * ax + z * mdotb - bz * mm))

    for k in range(noise.shape[0]):
        a0, ah, a1 = amp * shape[k, 0], amp * shape[k, 1], amp * shape[k, 2]
        hx = noise[k, 0] + hx0 + fl * ah * sx
        hy = noise[k, 1] + hy0 + fl * ah * sy
        hz = noise[k, 2] + hz0 + fl * ah * sz
        h2 = dt / 2
        k1 = rate(mx, my, mz, hx, hy, hz, a0)
        k2 = rate(mx + h2 * k1[0], my + h2 * k1[1], mz + h2 * k1[2], hx, hy, hz, ah)
        k3 = rate(mx + h2 * k2[0], my + h2 * k2[1], mz + h2 * k2[2], hx, hy, hz, ah)
        k4 = rate(mx + dt * k3[0], my + dt * k3[1], mz + dt * k3[2], hx, hy, hz, a1)
        w = dt / 6
        mx = mx + w * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        my = my + w * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        mz = mz + w * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2])
        norm = torch.sqrt(mx * mx + my * my + mz * mz)
        worst = torch.maximum(worst, (norm - 1.0).abs().max())
        mx, my, mz = mx / norm, my / norm, mz / norm
    return mx, my, mz, worst


_COMPILED = {}
# A one-call run compiles only above this many junction-steps: compiling (from inductor's disk
# cache) costs about 15 s more than the first eager call on 2 CPU cores, and a compiled
# junction-step saves about 2.6e-7 s (bench/llgs/llgs_compile.py, bench/RESULTS.md: n = 1e4,
# 10 ns). Runs of several calls (the Boltzmann check, a bank) pay it back within 2-3 calls.
COMPILE_FROM_JUNCTION_STEPS = 6e7


def _chunk_function(compiled: bool):
    """The fused chunk (torch.compile; set SPINHIL_LLGS_COMPILE=0 for eager torch)."""
    import os

    if not compiled or os.environ.get("SPINHIL_LLGS_COMPILE", "1") == "0":
        return _rk4_chunk
    if "fn" not in _COMPILED:
        _COMPILED["fn"] = torch.compile(_rk4_chunk, dynamic=True, fullgraph=True)
    return _COMPILED["fn"]


class LLGSIntegrator:
    """Integrates a batch of independent trajectories of one device design.

    ``currents`` (n,) and optional per-trajectory ``gate_voltages`` (n,) fix the drive; the
    state is a (3, n) tensor. ``compiled`` fuses ``CHUNK_STEPS`` steps into one kernel with
    torch.compile (the first call compiles, once per process)."""

    def __init__(
        self, device: Macrospin, dt: float | None = None, dtype: torch.dtype = torch.float32,
        device_name: str | torch.device = "cpu", compiled: bool = True,
    ) -> None:
        dt = device.default_dt if dt is None else dt  # the preset's Boltzmann-checked step
        check_range("dt", dt, 0.0, 1e-9, "s", "an LLGS step", low_open=True)
        self.device = device
        self.dt = dt
        self.dtype = dtype
        self.torch_device = torch.device(device_name)
        self.u = device.thermal_field_std(dt)
        self.chunk = _chunk_function(compiled)

    def _tensor(self, x) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x, float), dtype=self.dtype, device=self.torch_device)

    def check_dt(self, currents: np.ndarray, gate_voltages: np.ndarray | None) -> None:
        """Refuse this integrator's step if it exceeds the RK4 stability limit at the batch's
        largest current and any of its gate voltages (``llgs_pulse.check_dt``)."""
        check_dt(self.device, self.dt, currents, gate_voltages)

    def _params(self) -> torch.Tensor:
        dev = self.device
        c = dev.field_coefficients(0.0)
        sigma = dev.spin_direction
        angular = dev.torque == "stt" and dev.stt_efficiency == "angular"
        return self._tensor([
            dev.gamma / (1 + dev.alpha**2), dev.alpha, self.dt, c[0], c[1], *sigma,
            dev.polarisation**2 if angular else 0.0, dev.field_like_ratio, *dev.h_ext,
        ])

    def run(
        self, m: torch.Tensor, currents: np.ndarray, pulse: Pulse,
        generator: torch.Generator, gate_voltages: np.ndarray | None = None,
        fields: np.ndarray | None = None,
    ) -> tuple[torch.Tensor, float]:
        """Integrate every trajectory through ``pulse``; returns (final m (3, n), the largest
        | |m| - 1 | met before any renormalisation). ``fields`` (3, n), tesla: a constant
        applied field per trajectory on top of the device's ``h_ext`` (a field line's input,
        paper 003), held like the thermal field."""
        currents = np.asarray(currents, float)
        self.check_dt(currents, gate_voltages)
        dev = self.device
        n = currents.size
        if gate_voltages is None:
            cz = np.full(n, dev.field_coefficients(0.0)[2])
        else:
            cz = np.array([dev.field_coefficients(v)[2] for v in np.asarray(gate_voltages, float)])
        amp = self._tensor(currents * dev.torque_per_ampere())
        sign = torch.sign(amp)
        cz_t, params = self._tensor(cz), self._params()
        # whole chunks only (the tail relaxes a little longer): one compiled graph for all
        n_steps = chunked_steps(pulse.duration, self.dt)
        times = np.arange(n_steps) * self.dt
        shapes = np.array([[pulse.shape(t), pulse.shape(t + self.dt / 2), pulse.shape(t + self.dt)]
                           for t in times])
        shapes_t = self._tensor(shapes)
        applied = None if fields is None else self._tensor(fields).reshape(1, 3, n)
        mx, my, mz = (c.contiguous() for c in m.to(self.dtype).unbind(0))
        worst = torch.zeros((), dtype=self.dtype, device=self.torch_device)
        for start in range(0, n_steps, CHUNK_STEPS):
            noise = torch.randn((CHUNK_STEPS, 3, n), generator=generator, dtype=self.dtype,
                                device=self.torch_device).mul_(self.u)
            if applied is not None:
                noise.add_(applied)
            mx, my, mz, w = self.chunk(mx, my, mz, noise, shapes_t[start:start + CHUNK_STEPS],
                                       amp, sign, cz_t, params)
            worst = torch.maximum(worst, w)
        return torch.stack([mx, my, mz]), float(worst)


def simulate_switching(
    device: Macrospin, currents: np.ndarray, pulse: Pulse, trials: int, dt: float | None = None,
    seed: int | None = 0, device_name: str = "cpu", gate_voltage: float = 0.0,
    dtype: torch.dtype = torch.float32,
) -> np.ndarray:
    """Switch counts (len(currents),): ``trials`` independent write pulses per current, each from
    a thermal reset state; switched = ended in the opposite hemisphere. The reference
    implementation (torch, one noise tensor per 4 steps); simulate_psw picks a fused kernel
    when it can."""
    currents = np.asarray(currents, float)
    if not isinstance(trials, int | np.integer) or trials <= 0:
        raise ValueError(f"trials = {trials} is outside the allowed range [1, inf)")
    generator = torch.Generator(device=device_name)
    generator.manual_seed(0 if seed is None else seed)
    drive = np.repeat(currents, trials)
    steps = chunked_steps(pulse.duration, device.default_dt if dt is None else dt)
    integrator = LLGSIntegrator(device, dt, dtype, device_name,
                                compiled=drive.size * steps >= COMPILE_FROM_JUNCTION_STEPS)
    gates = None if gate_voltage == 0 else np.full(drive.size, gate_voltage)
    m0 = thermal_initial_states(device, drive.size, generator, gate_voltage, dtype, device_name)
    m, _ = integrator.run(m0, drive, pulse, generator, gates)
    reset = float(device.reset_direction[2])
    switched = (m[2] * reset < 0).reshape(currents.size, trials)
    return switched.sum(1).cpu().numpy()

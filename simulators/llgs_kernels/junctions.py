"""What a fused LLGS kernel reads: device parameters as plain per-trajectory arrays (so every
neuron may be a different junction), the few that are shared, and the thermal reset states.

The kernel integrates the Landau-Lifshitz form of simulators/llgs.py (anisotropy and
demagnetising field c * m, an external field, damping-like torque a_J along sigma with the
angular STT efficiency 1 / (1 + P^2 m.sigma), a field-like fraction, the thermal field).
A device carrying physics beyond these fields is left to the torch reference."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from simulators.llgs_kernels.philox import STREAM_INITIAL_STATE, uniform_open, words
from simulators.macrospin import Macrospin

# rows of the per-trajectory parameter array
GAMMA_LL, ALPHA, CX, CY, CZ, A_J, THERMAL, P2_SIGN, FIELD_LIKE = range(9)
N_PARAMS = 9
# the shared array: spin direction sigma, external field (T)
N_SHARED = 6

KERNEL_FIELDS = frozenset({
    "name", "description", "ms", "alpha", "thickness", "length_x", "length_y", "k_bulk",
    "k_interface", "torque", "polarisation", "stt_efficiency", "spin_hall_angle", "hm_width",
    "hm_thickness", "field_like_ratio", "h_ext", "vcma_xi", "oxide_thickness", "temperature",
    "gamma",
    "default_dt", "paper",  # the preset's step and source: no physical term
})


def kernel_supports(device: object) -> bool:
    """True when every physical term of ``device`` is one the fused kernels integrate: a plain
    Macrospin whose fields beyond KERNEL_FIELDS (added later for other physics) keep their
    defaults."""
    if type(device) is not Macrospin:
        return False
    for field in dataclasses.fields(device):
        if field.name in KERNEL_FIELDS:
            continue
        if field.default is not dataclasses.MISSING:
            default = field.default
        elif field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        else:
            return False
        if getattr(device, field.name) != default:
            return False
    return True


def _per_trajectory(devices: Macrospin | Sequence[Macrospin], n: int) -> list[Macrospin]:
    if isinstance(devices, Macrospin):
        return [devices] * n
    devices = list(devices)
    if len(devices) != n:
        raise ValueError(f"devices: {len(devices)} given for {n} trajectories")
    return devices


def _column(device: Macrospin, gate: float, dt: float, first: Macrospin) -> np.ndarray:
    if not kernel_supports(device):
        raise ValueError(f"device = {device.name!r} has physics the fused kernels lack")
    if sorted(np.abs(device.spin_direction)) != [0.0, 0.0, 1.0]:
        raise ValueError(f"spin_direction = {device.spin_direction}: the fused kernels take "
                         "a unit vector along x, y or z")
    if not np.array_equal(device.spin_direction, first.spin_direction) or \
            tuple(device.h_ext) != tuple(first.h_ext):
        raise ValueError("devices: spin direction and external field must be shared")
    c = device.field_coefficients(gate)
    angular = device.torque == "stt" and device.stt_efficiency == "angular"
    return np.array([
        device.gamma / (1 + device.alpha**2), device.alpha, c[0], c[1], c[2],
        device.torque_per_ampere(), device.thermal_field_std(dt),
        device.polarisation**2 if angular else 0.0, device.field_like_ratio])


def junction_arrays(
    devices: Macrospin | Sequence[Macrospin], currents: np.ndarray, dt: float,
    gate_voltages: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(N_PARAMS, n) float32 per-trajectory parameters and the (N_SHARED,) float32 shared ones
    for ``currents`` (A) through one junction or one junction per trajectory."""
    currents = np.asarray(currents, float).reshape(-1)
    n = currents.size
    per = _per_trajectory(devices, n)
    gates = np.zeros(n) if gate_voltages is None else np.broadcast_to(
        np.asarray(gate_voltages, float), (n,))
    first = devices if isinstance(devices, Macrospin) else (per[0] if n else None)
    if first is None:
        return np.zeros((N_PARAMS, 0), np.float32), np.zeros(N_SHARED, np.float32)
    if isinstance(devices, Macrospin) and np.all(gates == gates[0] if n else True):
        params = np.repeat(_column(devices, float(gates[0]) if n else 0.0, dt, first)[:, None],
                           n, axis=1)
    else:
        params = np.empty((N_PARAMS, n), np.float64)
        columns: dict[tuple[int, float], np.ndarray] = {}
        for k, (device, gate) in enumerate(zip(per, gates, strict=True)):
            key = (id(device), float(gate))
            if key not in columns:
                columns[key] = _column(device, float(gate), dt, first)
            params[:, k] = columns[key]
    params[A_J] *= currents
    params[P2_SIGN] *= np.sign(currents)
    shared = np.concatenate([first.spin_direction, np.asarray(first.h_ext, float)])
    return np.ascontiguousarray(params, np.float32), shared.astype(np.float32)


def reset_quantiles(delta: float, points: int = 20001) -> tuple[np.ndarray, np.ndarray]:
    """CDF of |m_z| in the reset well, density exp(Delta (m_z^2 - 1)) on [0, 1] (Boltzmann,
    exact for N_x = N_y, uniform azimuth), on a grid: (cdf, m_z)."""
    grid = np.linspace(0.0, 1.0, points)
    density = np.exp(delta * (grid**2 - 1.0))
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2)])
    return cdf / cdf[-1], grid


def thermal_reset_states(
    devices: Macrospin | Sequence[Macrospin], seed: int, trajectories: np.ndarray,
    gate_voltage: float = 0.0,
) -> np.ndarray:
    """(3, n) float32 unit vectors from the Boltzmann distribution of each junction's reset
    well, drawn from Philox stream STREAM_INITIAL_STATE of each trajectory (so a trajectory's
    start does not depend on its batch)."""
    trajectories = np.asarray(trajectories, np.int64).reshape(-1)
    n = trajectories.size
    per = _per_trajectory(devices, n)
    w0, w1, _, _ = words(seed, trajectories, 0, STREAM_INITIAL_STATE)
    u, phi = uniform_open(w0), uniform_open(w1) * 2 * np.pi
    cos_t = np.empty(n)
    sign = np.empty(n)
    groups: dict[int, list[int]] = {}
    for k, device in enumerate(per):
        groups.setdefault(id(device), []).append(k)
    for members in groups.values():
        device = per[members[0]]
        cdf, grid = reset_quantiles(device.barrier(gate_voltage))
        cos_t[members] = np.interp(u[members], cdf, grid)
        sign[members] = float(device.reset_direction[2])
    sin_t = np.sqrt(np.clip(1 - cos_t**2, 0, None))
    return np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), sign * cos_t]).astype(np.float32)

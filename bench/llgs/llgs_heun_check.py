"""An independent check of the LLGS switching curves: a stochastic Heun integrator written
here from the equation alone (numpy, float64), against the fused kernel, on the same device
and the same currents; both curves fitted with paper 000's sigmoid 1 / (1 + exp(-k (I + c))).

Nothing of simulators/llgs*.py is used but the device's description (fields, torque per
ampere, temperature): the equation is written again in Landau-Lifshitz form,

    dm/dt = -gamma' [m x H + alpha m x (m x H)] - gamma' a_J eta [m x (m x s) - alpha m x s],

gamma' = gamma / (1 + alpha^2), s the polariser, eta = P / (1 + P^2 m . s) (paper 000's
efficiency), H the anisotropy and demagnetising field plus a thermal field of standard
deviation sqrt(2 alpha k_B T / (gamma M_s V dt)) per component held over the step (Brown
1963), integrated by Heun's predictor-corrector (the Stratonovich scheme) and renormalised;
the initial states are drawn from the Boltzmann distribution of the reset well by rejection.

    python bench/llgs/llgs_heun_check.py --preset mtj-000-7.5kT --width 30ns --trials 200
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from hil.units import parse_quantity
from protocols.fitting import fit_sigmoid
from simulators.macrospin import E_CHARGE, HBAR, KB, macrospin_preset
from simulators.psw import simulate_psw


def boltzmann_reset_states(device, n: int, rng: np.random.Generator) -> np.ndarray:
    """(3, n) unit vectors from exp(-E / k_B T) on the reset hemisphere, by rejection from
    the uniform hemisphere (E = -M_s V sum_i c_i m_i^2 / 2)."""
    c = device.field_coefficients()
    scale = device.ms * device.volume / (KB * device.temperature)
    top = scale * c[2] / 2  # the largest exponent: m along z (c_z > c_x, c_y)
    sign = float(device.reset_direction[2])
    out = np.empty((3, 0))
    while out.shape[1] < n:
        z = rng.uniform(0.0, 1.0, 4 * n)
        phi = rng.uniform(0.0, 2 * np.pi, 4 * n)
        r = np.sqrt(1 - z * z)
        m = np.stack([r * np.cos(phi), r * np.sin(phi), sign * z])
        log_w = scale * (c[:, None] * m * m).sum(0) / 2 - top
        keep = rng.uniform(0.0, 1.0, z.size) < np.exp(log_w)
        out = np.concatenate([out, m[:, keep]], axis=1)
    return out[:, :n]


def heun_switch_counts(device, currents: np.ndarray, width: float, trials: int, dt: float,
                       seed: int, relax: float = 2e-9) -> np.ndarray:
    """Switch counts per current: ``trials`` pulses of ``width`` (then ``relax`` with no
    current) from Boltzmann reset states; switched = ended in the other hemisphere. STT
    only: the current I flows through the pillar's area, its spins along sign(I) s."""
    if device.torque != "stt":
        raise ValueError(f"{device.name}: this check integrates spin-transfer torque only")
    rng = np.random.default_rng(seed)
    c = device.field_coefficients()[:, None]
    gamma_ll = device.gamma / (1 + device.alpha**2)
    alpha, p = device.alpha, device.polarisation
    u = np.sqrt(2 * device.alpha * KB * device.temperature
                / (device.gamma * device.ms * device.volume * dt))
    current = np.repeat(np.asarray(currents, float), trials)
    # a_J = hbar j eta / (2 e M_s t_FL), j = |I| / area; spins along sign(I) s
    a_base = HBAR * np.abs(current) / device.area / (2 * E_CHARGE * device.ms * device.thickness)
    spins = np.sign(current)[None, :] * device.spin_direction[:, None]
    m = boltzmann_reset_states(device, current.size, rng)
    h_ext = np.asarray(device.h_ext, float)[:, None]

    def rate(m, h_th, on):
        h = c * m + h_ext + h_th
        mxh = np.cross(m, h, axis=0)
        mxs = np.cross(m, spins, axis=0)
        cos = (m * spins).sum(0)
        eta = p / (1 + p * p * cos) if device.stt_efficiency == "angular" else p
        a = on * a_base * eta
        return -gamma_ll * (mxh + alpha * np.cross(m, mxh, axis=0)
                            + a * (np.cross(m, mxs, axis=0) - alpha * mxs))

    for k in range(int(round((width + relax) / dt))):
        on = 1.0 if k * dt < width else 0.0
        h_th = u * rng.standard_normal(m.shape)
        k1 = rate(m, h_th, on)
        guess = m + dt * k1
        guess /= np.linalg.norm(guess, axis=0)
        m = m + 0.5 * dt * (k1 + rate(guess, h_th, on))
        m /= np.linalg.norm(m, axis=0)
    switched = (m[2] * float(device.reset_direction[2]) < 0).reshape(len(currents), trials)
    return switched.sum(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", default="mtj-000-7.5kT")
    parser.add_argument("--width", default="30ns")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--dt", default="0.5ps", help="Heun step (the kernel takes its default)")
    parser.add_argument("--points", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    device = macrospin_preset(args.preset)
    width = parse_quantity(args.width, "s", "ns")
    dt = parse_quantity(args.dt, "s", "ps")
    # the currents: where the kernel's coarse curve goes from 2 % to 98 %, and 20 % beyond
    coarse = device.critical_current() * np.linspace(0.05, 4.0, 40)
    p = simulate_psw(device, coarse, width, 50, seed=args.seed + 7).p_switch
    lo, hi = coarse[np.argmax(p > 0.02)], coarse[np.argmax(p > 0.98)]
    currents = np.linspace(max(0.0, lo - 0.2 * (hi - lo)), hi + 0.2 * (hi - lo), args.points)
    rows = {}
    start = time.process_time()
    kernel = simulate_psw(device, currents, width, args.trials, seed=args.seed).counts
    rows["kernel"] = (kernel, time.process_time() - start, device.default_dt)
    start = time.process_time()
    heun = heun_switch_counts(device, currents, width, args.trials, dt, args.seed + 1)
    rows["heun"] = (heun, time.process_time() - start, dt)
    for name, (counts, cpu, step) in rows.items():
        fit = fit_sigmoid(currents, counts / args.trials, args.trials)
        print(json.dumps({"integrator": name, "preset": device.name, "width": width,
                          "dt": step, "trials": args.trials, "k_per_uA": fit.k * 1e-6,
                          "k_err": fit.k_err * 1e-6, "i_bias_uA": fit.i_bias * 1e6,
                          "i_bias_err": fit.i_bias_err * 1e6, "cpu_s": cpu,
                          "currents_uA": (currents * 1e6).round(3).tolist(),
                          "counts": np.asarray(counts).tolist()}), flush=True)


if __name__ == "__main__":
    main()

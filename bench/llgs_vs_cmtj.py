"""spinhil's batched LLGS against cmtj (pip package ``cmtj``), side by side in one process.

Both simulate paper 000's MTJ (mtj-000, damping-like STT with constant efficiency P, so the
torque is the same constant a_J m x (m x sigma) in both codes) with the same thermal initial
states, 20 currents x 100 trials of a 30 ns pulse. First each code's equilibrium check at
zero current (<m_x^2 + m_y^2> within 5 % of Boltzmann, the same bound for both) picks the
largest dt that passes: cmtj's Heun is tried at 5, 2, 1 and 0.5 ps, ours (RK4, one noise draw
per step) at 5, 4, 3 and 2.5 ps. Then the curves are run interleaved and timed; the I50 of
both (sigmoid fit, binomial errors) must agree.

    pip install cmtj==1.15.0 && python bench/llgs_vs_cmtj.py [--repeats 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np
import torch

from protocols.fitting import fit_sigmoid
from simulators.analytic import boltzmann_transverse
from simulators.llgs import LLGSIntegrator, Pulse, chunked_steps, thermal_initial_states
from simulators.macrospin import MU0, macrospin_preset

DEVICE = dataclasses.replace(macrospin_preset("mtj-000"), stt_efficiency="constant")
PULSE = 30e-9
CURRENTS = np.linspace(14e-6, 26e-6, 20)
TRIALS = 100
TOLERANCE = 0.05  # equilibrium check: within 5 % of Boltzmann


def cmtj_junction(a_j_tesla: float, m0: np.ndarray, seed: int):
    from cmtj import CVector, Junction, Layer, constantDriver

    nx, ny, nz = DEVICE.demag
    demag = [CVector(nx, 0, 0), CVector(0, ny, 0), CVector(0, 0, nz)]
    layer = Layer.createSOTLayer(  # static damping-like torque along a fixed sigma (A/m)
        "free", CVector(*map(float, m0)), CVector(0, 0, 1), DEVICE.ms_tesla, DEVICE.thickness,
        DEVICE.area, demag, DEVICE.alpha, 0.0, a_j_tesla / MU0)
    junction = Junction([layer])
    junction.setLayerAnisotropyDriver("free", constantDriver(DEVICE.k_uniaxial()))
    junction.setLayerTemperatureDriver("free", constantDriver(DEVICE.temperature))
    junction.setLayerReferenceLayer("free", CVector(*map(float, DEVICE.spin_direction)))
    junction.setLayerCurrentDriver("free", constantDriver(1.0))
    junction.setLayerSeed("free", seed)
    return junction


def cmtj_equilibrium(dt: float, runs: int = 60, time_s: float = 10e-9) -> float:
    from cmtj import SolverMode

    values = []
    for r in range(runs):
        junction = cmtj_junction(0.0, np.array([0.0, 0.0, 1.0]), 1000 + r)
        junction.runSimulation(time_s, dt, 0.1e-9, solverMode=SolverMode.Heun)
        log = junction.getLog()
        mx, my = np.asarray(log["free_mx"]), np.asarray(log["free_my"])
        keep = np.asarray(log["time"]) > 3e-9  # after thermalising from +z
        values.append(np.mean(mx[keep] ** 2 + my[keep] ** 2))
    return float(np.mean(values))


def ours_equilibrium(dt: float, n: int = 4000) -> float:
    integrator = LLGSIntegrator(DEVICE, dt)
    gen = torch.Generator().manual_seed(5)
    m = torch.tensor(np.tile([[0.0], [0.0], [1.0]], (1, n)), dtype=torch.float32)
    m, _ = integrator.run(m, np.zeros(n), Pulse(4e-9, relax=0.0), gen)
    samples = []
    for _ in range(20):
        m, _ = integrator.run(m, np.zeros(n), Pulse(0.5e-9, relax=0.0), gen)
        samples.append(float((m[0] ** 2 + m[1] ** 2).mean()))
    return float(np.mean(samples))


def initial_states(seed: int) -> np.ndarray:
    gen = torch.Generator().manual_seed(seed)
    return thermal_initial_states(DEVICE, CURRENTS.size * TRIALS, gen, dtype=torch.float64).numpy()


def cmtj_curve(dt: float, m0: np.ndarray) -> tuple[np.ndarray, float, int]:
    from cmtj import SolverMode

    drive = np.repeat(CURRENTS, TRIALS)
    counts = np.zeros(CURRENTS.size, int)
    start = time.perf_counter()
    for k, current in enumerate(drive):
        junction = cmtj_junction(current * DEVICE.torque_per_ampere(), m0[:, k], 7 + k)
        junction.runSimulation(PULSE, dt, PULSE, solverMode=SolverMode.Heun)
        if junction.getLayerMagnetisation("free").z < 0:
            counts[k // TRIALS] += 1
    seconds = time.perf_counter() - start
    return counts, seconds, int(round(PULSE / dt)) * drive.size


def ours_curve(dt: float, m0: np.ndarray):
    drive = np.repeat(CURRENTS, TRIALS)
    integrator = LLGSIntegrator(DEVICE, dt)
    gen = torch.Generator().manual_seed(11)
    pulse = Pulse(PULSE, relax=0.0)
    start = time.perf_counter()
    m, _ = integrator.run(torch.as_tensor(m0, dtype=torch.float32), drive, pulse, gen)
    seconds = time.perf_counter() - start
    counts = (m[2] < 0).reshape(CURRENTS.size, TRIALS).sum(1).numpy()
    return counts, seconds, chunked_steps(PULSE, dt) * drive.size


def i50(counts: np.ndarray) -> tuple[float, float]:
    fit = fit_sigmoid(CURRENTS, counts / TRIALS, TRIALS)
    return fit.i_bias, fit.i_bias_err


def throughput(n: int, dt: float = 5e-12, width: float = 2e-9) -> float:
    integrator = LLGSIntegrator(DEVICE, dt)
    gen = torch.Generator().manual_seed(3)
    m = thermal_initial_states(DEVICE, n, gen)
    drive = np.full(n, 20e-6)
    integrator.run(m, drive, Pulse(0.1e-9, relax=0.0), gen)  # warm
    start = time.perf_counter()
    integrator.run(m, drive, Pulse(width, relax=0.0), gen)
    return chunked_steps(width, dt) * n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--converge", action="store_true",
                        help="only the I50 of both codes at decreasing dt (do they agree?)")
    args = parser.parse_args()
    if args.converge:
        m0 = initial_states(1)
        for name, run, steps in (("ours", ours_curve, (4e-12, 2e-12, 1e-12)),
                                 ("cmtj", cmtj_curve, (1e-12, 0.5e-12))):
            for dt in steps:
                counts, seconds, _ = run(dt, m0)
                centre, err = i50(counts)
                print(f"{name} dt = {dt * 1e12:g} ps: I50 = {centre * 1e6:.3f} +- "
                      f"{err * 1e6:.3f} uA ({seconds:.1f} s)", flush=True)
        return
    target = boltzmann_transverse(DEVICE.barrier())
    print(f"device mtj-000 (constant STT efficiency), Delta = {DEVICE.barrier():.1f} kT, "
          f"Boltzmann <mx^2+my^2> = {target:.4f}; torch threads {torch.get_num_threads()}")
    chosen = {}
    for name, measure, steps in (("ours", ours_equilibrium, (5e-12, 4e-12, 3e-12, 2.5e-12)),
                                 ("cmtj", cmtj_equilibrium, (5e-12, 2e-12, 1e-12, 0.5e-12))):
        for dt in steps:
            value = measure(dt)
            ok = abs(value / target - 1) < TOLERANCE
            print(f"{name} dt = {dt * 1e12:g} ps: <mx^2+my^2> = {value:.4f} "
                  f"({value / target:.3f} x Boltzmann){'  <- passes' if ok else ''}", flush=True)
            if ok:
                chosen[name] = dt
                break
        else:
            raise SystemExit(f"{name} did not reach equilibrium at any dt tried")
    ours_dt, cmtj_dt = chosen["ours"], chosen["cmtj"]

    m0 = initial_states(1)
    ours_curve(ours_dt, m0)  # warm-up outside the timing
    rows = {"ours": [], "cmtj": []}
    for _ in range(args.repeats):  # interleaved
        rows["cmtj"].append(cmtj_curve(cmtj_dt, m0))
        rows["ours"].append(ours_curve(ours_dt, m0))
    print(f"\n20 currents x {TRIALS} trials, {PULSE * 1e9:g} ns pulse, same initial states:")
    best = {}
    for name, runs in rows.items():
        counts, _, steps = runs[0]
        seconds = min(r[1] for r in runs)
        best[name] = seconds
        centre, err = i50(counts)
        dt = ours_dt if name == "ours" else cmtj_dt
        print(f"{name:>5}: dt = {dt * 1e12:g} ps, time to curve {seconds:7.2f} s, "
              f"{steps / seconds:.3g} junction-steps/s, I50 = {centre * 1e6:.3f} "
              f"+- {err * 1e6:.3f} uA")
    (c_ours, *_), (c_cmtj, *_) = rows["ours"][0], rows["cmtj"][0]
    (a, ea), (b, eb) = i50(c_ours), i50(c_cmtj)
    print(f"I50 difference {abs(a - b) * 1e6:.3f} uA = {abs(a - b) / np.hypot(ea, eb):.1f} sigma")
    print(f"speed-up to a valid curve: {best['cmtj'] / best['ours']:.1f}x")
    print("\nours, throughput vs batch (5 ps, 2 ns pulse):")
    for n in (2_000, 20_000, 200_000, 1_000_000):
        print(f"  {n:>9} trajectories: {throughput(n):.3g} junction-steps/s")


if __name__ == "__main__":
    main()

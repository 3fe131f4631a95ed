"""spinhil's fused LLGS kernel against cmtj (pip package ``cmtj``), on the same cores.

Both simulate paper 000's MTJ (mtj-000, damping-like STT with constant efficiency P, so the
torque is the same constant a_J m x (m x sigma) in both codes) from the same thermal initial
states: 20 currents x 100 trials of a 30 ns pulse. Fair by construction:
- the same number of cores: ours runs the numba-compiled kernel on T threads, cmtj (one
  junction per call, single-threaded) runs the 2,000 junctions in a pool of T processes;
  ratios are per core too;
- at settings whose curves agree: each code's dt is one at which its I50 has converged
  (``--converge`` shows the I50 against dt; defaults ours 2 ps, cmtj 0.5 ps), and the run
  reports the two I50s' difference in sigma (agreement: < 2 sigma);
- both timed to the same curve, interleaved, best of ``--repeats``.
``--equilibrium`` adds each code's zero-current check against Boltzmann.

    pip install cmtj==1.15.0 && python bench/llgs/llgs_vs_cmtj.py [--threads 2] [--repeats 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import time

import numpy as np
from machine_load import uptime

from protocols.fitting import fit_sigmoid
from simulators.analytic import boltzmann_transverse
from simulators.llgs_kernels import FusedLLGS, cpu_native
from simulators.llgs_pulse import Pulse
from simulators.macrospin import MU0, macrospin_preset

DEVICE = dataclasses.replace(macrospin_preset("mtj-000"), stt_efficiency="constant")
PULSE = 30e-9
CURRENTS = np.linspace(14e-6, 26e-6, 20)
TRIALS = 100


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


def _cmtj_switched(job: tuple[float, np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """Worker: run junctions (currents, m0 columns, seeds) one after the other."""
    from cmtj import SolverMode

    dt, currents, m0, seeds = job
    out = np.zeros(currents.size, bool)
    for k, current in enumerate(currents):
        junction = cmtj_junction(current * DEVICE.torque_per_ampere(), m0[:, k], int(seeds[k]))
        junction.runSimulation(PULSE, dt, PULSE, solverMode=SolverMode.Heun)
        out[k] = junction.getLayerMagnetisation("free").z < 0
    return out


def cmtj_curve(dt: float, m0: np.ndarray, pool) -> tuple[np.ndarray, float, int]:
    drive = np.repeat(CURRENTS, TRIALS)
    seeds = 7 + np.arange(drive.size)
    parts = np.array_split(np.arange(drive.size), 4 * pool._processes)
    start = time.perf_counter()
    switched = np.concatenate(pool.map(
        _cmtj_switched, [(dt, drive[p], m0[:, p], seeds[p]) for p in parts]))
    seconds = time.perf_counter() - start
    counts = switched.reshape(CURRENTS.size, TRIALS).sum(1)
    return counts, seconds, int(round(PULSE / dt)) * drive.size


def ours_curve(dt: float, m0: np.ndarray, pool=None) -> tuple[np.ndarray, float, int]:
    drive = np.repeat(CURRENTS, TRIALS)
    runner = FusedLLGS(DEVICE, dt, seed=11)
    pulse = Pulse(PULSE, relax=0.0)
    m = np.ascontiguousarray(m0, np.float32)
    start = time.perf_counter()
    m, _ = runner.run(m, drive, pulse)
    seconds = time.perf_counter() - start
    counts = (m[2] < 0).reshape(CURRENTS.size, TRIALS).sum(1)
    return counts, seconds, runner.steps(pulse) * drive.size


def initial_states(seed: int) -> np.ndarray:
    runner = FusedLLGS(DEVICE, 1e-12, seed=seed)
    return runner.initial_states(CURRENTS.size * TRIALS).astype(np.float64)


def i50(counts: np.ndarray) -> tuple[float, float]:
    fit = fit_sigmoid(CURRENTS, counts / TRIALS, TRIALS)
    return fit.i_bias, fit.i_bias_err


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
    runner = FusedLLGS(DEVICE, dt, seed=5)
    m = np.ascontiguousarray(np.tile([[0.0], [0.0], [1.0]], (1, n)), np.float32)
    m, _ = runner.run(m, np.zeros(n), Pulse(4e-9, relax=0.0))
    samples = []
    for _ in range(20):
        m, _ = runner.run(m, np.zeros(n), Pulse(0.5e-9, relax=0.0))
        samples.append(float((m[0] ** 2 + m[1] ** 2).mean()))
    return float(np.mean(samples))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=cpu_native.default_threads())
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--ours-dt", type=float, default=2e-12)
    parser.add_argument("--cmtj-dt", type=float, default=0.5e-12)
    parser.add_argument("--converge", action="store_true",
                        help="only the I50 of both codes at decreasing dt (do they agree?)")
    parser.add_argument("--equilibrium", action="store_true")
    args = parser.parse_args()
    cpu_native.set_threads(args.threads)
    print(f"device mtj-000 (constant STT efficiency), Delta = {DEVICE.barrier():.1f} kT; "
          f"{args.threads} core(s) each: kernel threads / cmtj processes; {uptime()}")
    with multiprocessing.get_context("fork").Pool(args.threads) as pool:
        m0 = initial_states(1)
        if args.converge:
            for name, run, steps in (("ours", ours_curve, (4e-12, 2e-12, 1e-12)),
                                     ("cmtj", cmtj_curve, (1e-12, 0.5e-12))):
                for dt in steps:
                    counts, seconds, _ = run(dt, m0, pool)
                    centre, err = i50(counts)
                    print(f"{name} dt = {dt * 1e12:g} ps: I50 = {centre * 1e6:.3f} +- "
                          f"{err * 1e6:.3f} uA ({seconds:.1f} s)", flush=True)
            return
        if args.equilibrium:
            target = boltzmann_transverse(DEVICE.barrier())
            for name, measure, dt in (("ours", ours_equilibrium, args.ours_dt),
                                      ("cmtj", cmtj_equilibrium, args.cmtj_dt)):
                value = measure(dt)
                print(f"{name} dt = {dt * 1e12:g} ps: <mx^2+my^2> = {value / target:.3f} x "
                      f"Boltzmann", flush=True)
        ours_curve(args.ours_dt, m0)  # compile or load outside the timing
        rows: dict[str, list] = {"ours": [], "cmtj": []}
        for _ in range(args.repeats):  # interleaved
            rows["cmtj"].append(cmtj_curve(args.cmtj_dt, m0, pool))
            rows["ours"].append(ours_curve(args.ours_dt, m0))
    print(f"\n20 currents x {TRIALS} trials, {PULSE * 1e9:g} ns pulse, same initial states, "
          f"{args.threads} core(s) each:")
    best = {}
    for name, runs in rows.items():
        counts, _, steps = runs[0]
        seconds = min(r[1] for r in runs)
        best[name] = seconds
        centre, err = i50(counts)
        dt = args.ours_dt if name == "ours" else args.cmtj_dt
        print(f"{name:>5}: dt = {dt * 1e12:g} ps, time to curve {seconds:7.2f} s, "
              f"{steps / seconds / args.threads:.3g} junction-steps/s per core, "
              f"I50 = {centre * 1e6:.3f} +- {err * 1e6:.3f} uA")
    (a, ea), (b, eb) = i50(rows["ours"][0][0]), i50(rows["cmtj"][0][0])
    sigma = abs(a - b) / np.hypot(ea, eb)
    print(f"I50 difference {abs(a - b) * 1e6:.3f} uA = {sigma:.1f} sigma "
          f"({'agree' if sigma < 2 else 'DO NOT agree'} within 2 sigma)")
    print(f"speed-up to the same curve on the same cores: {best['cmtj'] / best['ours']:.1f}x; "
          f"{uptime()}")


if __name__ == "__main__":
    main()

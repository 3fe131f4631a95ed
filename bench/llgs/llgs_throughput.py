"""Junction-steps per second of the fused LLGS kernels, side by side in one process.

CPU (numba's machine code, run by simulators/llgs_kernels/cpu_native.py): 1 and 2 threads
taking turns at each batch size, the best of ``--repeats`` rounds each (the scaling), beside
the torch reference (compiled, the same batch) for the ratio; CPU seconds are printed too,
since a shared machine steals wall time. CUDA (Triton), when present: >= 1e6 trajectories
and the 20 x 100 x 30 ns curve of bench/llgs/llgs_vs_cmtj.py.

    python bench/llgs/llgs_throughput.py [--sizes 10000 100000] [--width 2e-9] [--repeats 5]
        [--no-reference]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from machine_load import uptime

from simulators.llgs_kernels import FusedLLGS, cpu_native, cuda_present
from simulators.llgs_pulse import Pulse
from simulators.macrospin import macrospin_preset
from simulators.psw import simulate_psw

DEVICE = macrospin_preset("mtj-000")
DT = 5e-12


def fused_rate(n: int, width: float, backend: str = "numba", device_name: str = "cpu"):
    runner = FusedLLGS(DEVICE, DT, seed=3, device_name=device_name, backend=backend)
    m = runner.initial_states(n)
    drive = np.full(n, 20e-6)
    runner.run(m, drive, Pulse(0.1e-9, relax=0.0))  # compile or load, warm the caches
    if backend == "triton":
        import torch

        torch.cuda.synchronize()
    start, cpu = time.perf_counter(), time.process_time()
    runner.run(m, drive, Pulse(width, relax=0.0))
    if backend == "triton":
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    steps = runner.steps(Pulse(width, relax=0.0)) * n
    return steps / wall, steps / cpu


def reference_rate(n: int, width: float) -> tuple[float, float]:
    import torch

    from simulators.llgs import LLGSIntegrator, chunked_steps, thermal_initial_states

    integrator = LLGSIntegrator(DEVICE, DT)
    gen = torch.Generator().manual_seed(3)
    m = thermal_initial_states(DEVICE, n, gen)
    drive = np.full(n, 20e-6)
    integrator.run(m, drive, Pulse(0.1e-9, relax=0.0), gen)
    start, cpu = time.perf_counter(), time.process_time()
    integrator.run(m, drive, Pulse(width, relax=0.0), gen)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    steps = chunked_steps(width, DT) * n
    return steps / wall, steps / cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--width", type=float, default=2e-9)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    cores = cpu_native.default_threads()
    print(f"mtj-000 at 20 uA, dt 5 ps, {args.width * 1e9:g} ns; kernel threads up to {cores}; "
          f"{uptime()}")
    for n in args.sizes:
        rows = {}
        for _ in range(args.repeats):  # the thread counts take turns: a busy minute hits both
            for threads in sorted({1, cores}):
                cpu_native.set_threads(threads)
                name = f"numba {threads} thread(s)"
                rows[name] = max(rows.get(name, (0.0, 0.0)), fused_rate(n, args.width))
        cpu_native.set_threads(cores)
        if not args.no_reference:
            rows["torch reference (compiled)"] = reference_rate(n, args.width)
        for name, (wall, cpu) in rows.items():
            print(f"  n = {n:>9}: {name:<28} {wall:.3g} junction-steps/s "
                  f"({cpu:.3g} per CPU-second)")
        if cores > 1:
            one, many = rows["numba 1 thread(s)"][0], rows[f"numba {cores} thread(s)"][0]
            print(f"  n = {n:>9}: scaling 1 -> {cores} threads: {many / one:.2f}x")
    if cuda_present():
        for n in (1_000_000, 4_000_000):
            wall, _ = fused_rate(n, args.width, "triton", "cuda")
            print(f"  CUDA n = {n:>9}: triton {wall:.3g} junction-steps/s")
        currents = np.linspace(14e-6, 26e-6, 20)
        simulate_psw(DEVICE, currents, 30e-9, 100, device_name="cuda")  # compile
        times = [simulate_psw(DEVICE, currents, 30e-9, 100, device_name="cuda").seconds
                 for _ in range(5)]
        print(f"  CUDA 20 x 100 x 30 ns curve: {min(times) * 1e3:.1f} ms (best of 5)")
    else:
        print("  no CUDA device here: the Triton kernel is not timed")
    print(f"  {uptime()}")


if __name__ == "__main__":
    main()

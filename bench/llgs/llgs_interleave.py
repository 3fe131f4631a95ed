"""The CPU LLGS kernel compiled with each LLVM interleave count, side by side in one process
(fresh compiles, no disk cache): junction-steps per CPU-second, best of the repeats, 1 and 2
threads. CPU seconds rather than wall time, since a shared machine steals wall time.

    python bench/llgs/llgs_interleave.py [--counts 1 2] [--n 10000] [--width 1e-9] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ["SPINHIL_NUMBA_CACHE"] = "0"  # one compile per interleave count, none shared

import numba  # noqa: E402
import numpy as np  # noqa: E402
from kernel_copies import best_rates, kernel_copy  # noqa: E402
from machine_load import uptime  # noqa: E402

from simulators.llgs_kernels import FusedLLGS, pulse_fractions  # noqa: E402
from simulators.llgs_kernels.junctions import junction_arrays  # noqa: E402
from simulators.llgs_pulse import Pulse  # noqa: E402
from simulators.macrospin import macrospin_preset  # noqa: E402

DEVICE = macrospin_preset("mtj-000")
DT = 5e-12


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--width", type=float, default=1e-9)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n = args.n
    params, shared = junction_arrays(DEVICE, np.full(n, 20e-6), DT)
    start = FusedLLGS(DEVICE, DT, seed=3).initial_states(n)
    shapes = pulse_fractions(Pulse(args.width, relax=0.0), DT)
    kernels = {count: kernel_copy(f"interleave {count}", INTERLEAVE=count)
               for count in args.counts}
    print(f"mtj-000 at 20 uA, dt 5 ps, {args.width * 1e9:g} ns, n = {n}; {uptime()}")
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        best = best_rates(kernels, start, (params, shared, shapes, 1, 2, 0, 0, DT),
                          args.repeats, clock=time.process_time)
        for count, rate in best.items():
            print(f"  {threads} thread(s), interleave {count}: {rate:.3g} junction-steps per "
                  f"CPU-second")
    print(f"  {uptime()}")


if __name__ == "__main__":
    main()

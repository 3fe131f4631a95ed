"""Where the CPU LLGS kernel's time goes: the kernel beside copies of it with parts of the
step taken out, side by side in one process (fresh compiles, one thread, best of the repeats):

- the kernel as it runs (one Philox4x32-10 call and three Box-Muller pairs per two RK4
  steps);
- Philox computed in 32-bit lanes, as before 2026-12-02 (the same words, packed back into
  32-bit lanes after every round);
- Philox4x32-7 (the fewest rounds Salmon et al., SC 2011, Table 2, found Crush-resistant:
  no safety margin);
- no Philox: Box-Muller fed with the counters themselves (not random: a cost, not a kernel);
- no noise: RK4 and the renormalisation only;
- numba's full fastmath (reciprocal and square-root estimates, reassociation: the kernel's
  flags before 2026-12-07, whose vector lanes and scalar remainder differed in the last
  bits) and no FMA contraction (every product rounded before its sum): what the kernel's
  FASTMATH costs or saves;
- with ``--also``, other versions of the kernel's source (an older commit's), as they are.

Not kernels to run physics with: the copies (bench/llgs/kernel_copies.py) replace lines of
simulators/llgs_kernels/cpu.py's source and exist to time its parts.

    python bench/llgs/llgs_kernel_parts.py [--n 20000] [--width 2e-9] [--repeats 5] [--cpu-time]
        [--also OLD_CPU_PY ...]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ["SPINHIL_NUMBA_CACHE"] = "0"  # fresh compiles: no variant shares another's cache

import numba  # noqa: E402
import numpy as np  # noqa: E402
from kernel_copies import best_rates, kernel_copy  # noqa: E402
from machine_load import uptime  # noqa: E402

from simulators.llgs_kernels import FusedLLGS  # noqa: E402
from simulators.llgs_pulse import Pulse  # noqa: E402
from simulators.macrospin import macrospin_preset  # noqa: E402

DEVICE = macrospin_preset("mtj-000")
DT = 5e-12
DRAW = """        w0, w1, w2, w3 = _philox(U32(trajectory0 + j), counter, STREAM, U32_ZERO, k0, k1)
        a0, a1, a2, b0, b1, b2 = _thermal_normals(w0, w1, w2, w3)
"""
PHILOX_NOW = (
    "    a0, a1, a2, a3 = _philox_words(U64(c0), U64(c1), U64(c2), U64(c3), U64(k0), U64(k1))\n"
    "    return U32(a0), U32(a1), U32(a2), U32(a3)\n")
PHILOX_32 = """    for _ in range(10):
        p0 = ROUND_A * U64(c0)
        p1 = ROUND_B * U64(c2)
        c0, c1, c2, c3 = U32(U32(p1 >> SHIFT32) ^ c1 ^ k0), U32(p1), \\
            U32(U32(p0 >> SHIFT32) ^ c3 ^ k1), U32(p0)
        k0 = U32(k0 + U32(KEY_A))
        k1 = U32(k1 + U32(KEY_B))
    return c0, c1, c2, c3
"""
PHILOX_7 = """    a0, a1, a2, a3 = U64(c0), U64(c1), U64(c2), U64(c3)
    q0, q1 = U64(k0), U64(k1)
    for _ in range(7):
        p0 = ROUND_A * a0
        p1 = ROUND_B * a2
        a0, a1, a2, a3 = (p1 >> SHIFT32) ^ a1 ^ q0, p1 & MASK32, \\
            (p0 >> SHIFT32) ^ a3 ^ q1, p0 & MASK32
        q0 = (q0 + KEY_A) & MASK32
        q1 = (q1 + KEY_B) & MASK32
    return U32(a0), U32(a1), U32(a2), U32(a3)
"""
PHILOX_NAMES = (  # the constants the written-out rounds use
    "from simulators.llgs_kernels.philox import STREAM_THERMAL_FIELD, philox4x32_10",
    "from simulators.llgs_kernels.philox import (KEY_A, KEY_B, MASK32, ROUND_A, ROUND_B, "
    "SHIFT32, STREAM_THERMAL_FIELD, philox4x32_10)")
FLAGS = 'FASTMATH = {"nnan", "ninf", "nsz", "contract"}\n'
VARIANTS = {
    "kernel (Philox4x32-10)": [],
    "Philox in 32-bit lanes": [PHILOX_NAMES, (PHILOX_NOW, PHILOX_32)],
    "Philox4x32-7": [PHILOX_NAMES, (PHILOX_NOW, PHILOX_7)],
    "no Philox": [(DRAW, DRAW.replace(
        "_philox(U32(trajectory0 + j), counter, STREAM, U32_ZERO, k0, k1)",
        "U32(trajectory0 + j), counter, U32(j), U32(7)"))],
    "no noise (RK4 only)": [(DRAW, """        a0 = _uniform(U32(trajectory0 + j)) - HALF
        a1 = _uniform(U32(counter + U32(j))) - HALF
        a2 = a0 * a1
        b0, b1, b2 = a1, a2, a0
""")],
    "full fastmath": [(FLAGS, "FASTMATH = True\n")],
    "no FMA contraction": [(FLAGS, 'FASTMATH = {"nnan", "ninf", "nsz"}\n')],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--width", type=float, default=2e-9)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cpu-time", action="store_true",
                        help="junction-steps per CPU-second: a shared machine steals wall time")
    parser.add_argument("--also", type=Path, nargs="*", default=[], metavar="CPU_PY",
                        help="other versions of simulators/llgs_kernels/cpu.py to time beside "
                             "(e.g. git show REV:simulators/llgs_kernels/cpu.py > old.py)")
    args = parser.parse_args()
    numba.set_num_threads(1)
    runner = FusedLLGS(DEVICE, DT, seed=7)
    start = runner.initial_states(args.n)
    params, shared, shapes = runner._prepare(np.full(args.n, 20e-6),
                                             Pulse(args.width, relax=0.0), None)
    print(f"mtj-000 at 20 uA, dt 5 ps, {args.width * 1e9:g} ns, n = {args.n}, one thread; "
          f"{uptime()}")
    kernels = {name: kernel_copy(name, replacements)
               for name, replacements in VARIANTS.items()}
    kernels.update({str(path): kernel_copy(str(path), source_file=path) for path in args.also})
    best = best_rates(kernels, start, (params, shared, shapes, *runner.key, 0, 0, DT),
                      args.repeats, time.process_time if args.cpu_time else time.perf_counter)
    full = best["kernel (Philox4x32-10)"]
    clock = "CPU-" if args.cpu_time else ""
    for name, rate in best.items():
        print(f"  {name:<24} {rate:.3g} junction-steps per {clock}second, {1e9 / rate:5.1f} "
              f"{clock}ns per junction-step ({rate / full:.2f}x the kernel)")
    print(f"  {uptime()}")


if __name__ == "__main__":
    main()

"""The CPU LLGS kernel built for each SIMD width this CPU runs, and older versions of its
source beside it: whether a trajectory's bits depend on its lane, whether the widths agree,
and the speed of each version at each width.

Each width is a new process with numba's NUMBA_CPU_FEATURES set to the host's features with
some changed (numba reads it at import; the vector width is fixed then), compiling fresh
copies of each source (bench/llgs/kernel_copies.py, numba's dispatcher, no disk cache). In each:

- the lane sweep of tests/simulators/test_llgs_kernels.py (the test's own function): the
  batches that put trajectories in every lane of a vector and in the loop's scalar
  remainder, and how many of them differ in any bit from the one-batch run;
- a digest of the one-batch run's bits (equal digests: equal bits);
- the step loop's divisions, square roots, reciprocal estimates and FMAs, by the registers
  they run on (numba's assembly of the loop);
- junction-steps per CPU-second (a shared machine steals wall time), one thread, best of
  ``--repeats`` rounds in which the versions take turns (mtj-000 at 20 uA, 5 ps,
  ``--width``, ``--n`` trajectories).

    git show 8f92ac3:simulators/llgs_kernels/cpu.py > old.py
    python bench/llgs/llgs_simd_widths.py [--also old.py] [--n 20000] [--width 2e-9] [--repeats 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import runpy
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from machine_load import uptime

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests" / "simulators" / "test_llgs_kernels.py"
BUILDS = {  # name: (host features it needs, changes to the host's features)
    "host": ((), ""),
    "AVX-512, 16 lanes": (("avx512f",), ",-prefer-256-bit"),
    "AVX-512, 8 lanes": (("avx512f",), ",+prefer-256-bit"),
    "AVX2 + FMA": (("avx2", "fma"), ",-avx512f"),
    "SSE4.2, no FMA": (("sse4.2",), ",-avx"),
}
VECTOR_OPS = re.compile(r"\b(v?div[sp]s|v?sqrt[sp]s|vfn?m(?:add|sub)\d+[sp]s|v?rcp\w*|"
                        r"v?rsqrt\w*)\b.*?\b([xyz]mm)")


def _operation(mnemonic: str, register: str) -> str:
    """'fma ymm', 'div scalar', 'rcp-estimate zmm', ...: what an instruction computes, on
    which vector registers (or one lane: scalar)."""
    kind = ("fma" if mnemonic.startswith("vf") else "rsqrt-estimate" if "rsqrt" in mnemonic
            else "rcp-estimate" if "rcp" in mnemonic else "sqrt" if "sqrt" in mnemonic
            else "div")
    return f"{kind} {'scalar' if mnemonic.endswith('ss') else register}"


def worker(sources: list[str], n: int, width: float, repeats: int) -> dict:
    """In a process built for one width: each source's lane sweep, digest, registers and
    speed."""
    os.environ["SPINHIL_NUMBA_CACHE"] = "0"
    import numba
    import numpy as np
    from kernel_copies import best_rates, kernel_copy

    from simulators.llgs_kernels import FusedLLGS, cpu_native
    from simulators.llgs_pulse import Pulse
    from simulators.macrospin import macrospin_preset

    numba.set_num_threads(1)
    tests = runpy.run_path(str(TESTS))
    sweep, batches = tests["_lane_sweep"], len(tests["LANE_OFFSETS"]) * len(tests["LANE_LENGTHS"])
    kernels = {source: kernel_copy(source, source_file=Path(source)) for source in sources}
    rows = {}
    for source, integrate in kernels.items():
        m, worst, differing = sweep(integrate)
        loop = integrate.__globals__["_block_steps"]
        ops = Counter(_operation(match.group(1), match.group(2))
                      for line in loop.inspect_asm(loop.signatures[0]).splitlines()
                      if (match := VECTOR_OPS.search(line)))
        rows[source] = {"differing": len(differing),
                        "digest": hashlib.sha256(m.tobytes() + worst.tobytes()).hexdigest()[:12],
                        "ops": dict(sorted(ops.items()))}
    runner = FusedLLGS(macrospin_preset("mtj-000"), 5e-12, seed=7)
    start = runner.initial_states(n)
    params, shared, shapes = runner._prepare(np.full(n, 20e-6), Pulse(width, relax=0.0), None)
    rates = best_rates(kernels, start, (params, shared, shapes, *runner.key, 0, 0, 5e-12),
                       repeats, clock=time.process_time)
    for source, rate in rates.items():
        rows[source]["rate"] = rate
    return {"cpu": cpu_native.target_cpu()[0], "batches": batches, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--also", type=Path, nargs="*", default=[], metavar="CPU_PY",
                        help="other versions of simulators/llgs_kernels/cpu.py")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--width", type=float, default=2e-9)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    kernel = str(ROOT / "simulators" / "llgs_kernels" / "cpu.py")
    sources = [kernel, *(str(path.resolve()) for path in args.also)]
    if args.worker:
        print(json.dumps(worker(sources, args.n, args.width, args.repeats)))
        return
    import llvmlite.binding as llvm

    host = llvm.get_host_cpu_features()
    print(f"{llvm.get_host_cpu_name()}, {args.n} trajectories x {args.width * 1e9:g} ns, one "
          f"thread; {uptime()}")
    names = {kernel: "kernel", **{str(p.resolve()): str(p) for p in args.also}}
    for build, (needs, change) in BUILDS.items():
        missing = [feature for feature in needs if not host.get(feature)]
        if missing:
            print(f"{build}: skipped, this CPU lacks {', '.join(missing)}")
            continue
        env = {**os.environ, "NUMBA_CPU_FEATURES": host.flatten() + change,
               "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench" / "llgs")])}
        env.pop("NUMBA_CPU_NAME", None)
        out = subprocess.run([sys.executable, __file__, "--worker", "--also", *map(str, args.also),
                              "--n", str(args.n), "--width", str(args.width), "--repeats",
                              str(args.repeats)], env=env, capture_output=True, text=True,
                             check=True).stdout.splitlines()[-1]
        result = json.loads(out)
        first = result["rows"][kernel]["rate"]
        print(f"{build} ({result['cpu']}{change}):")
        for source, row in result["rows"].items():
            ops = ", ".join(f"{count} {op}" for op, count in row["ops"].items())
            print(f"  {names[source]}: lanes differ in {row['differing']} of "
                  f"{result['batches']} batches; bits {row['digest']}; "
                  f"{1e9 / row['rate']:.2f} CPU-ns per junction-step ({row['rate'] / first:.2f}x "
                  f"the kernel)\n    step loop: {ops}")
    print(f"  {uptime()}")


if __name__ == "__main__":
    main()

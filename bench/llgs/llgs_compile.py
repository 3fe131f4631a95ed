"""When torch.compile pays for itself in the torch LLGS integrator (the reference that the
Boltzmann check, the telegraph neuron and ``LLGSBank(backend="torch")`` run), and what the
fused kernel (``LLGSBank``'s default on the CPU) gives beside it: the first call of a new
process (compiling, or loading an on-disk cache) and the steady per-call time of one write
pulse per trajectory, each mode in its own new process, at several batch sizes.

The cross-over printed is the number of calls at which the compiled run has caught up with
eager: its extra first-call time over the per-call time it saves.

    python bench/llgs/llgs_compile.py [--preset mtj-000] [--sizes 100 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = """
import json, sys, time
import numpy as np, torch
from simulators.llgs import LLGSIntegrator, Pulse, thermal_initial_states
from simulators.llgs_kernels import FusedLLGS
from simulators.macrospin import macrospin_preset
preset, n, width, calls = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
fused = sys.argv[5] == "fused"
device = macrospin_preset(preset)
start = time.perf_counter()
drive = np.full(n, 0.8 * device.critical_current())
if fused:
    kernel = FusedLLGS(device, device.default_dt, seed=1)
else:
    integrator = LLGSIntegrator(device)
    gen = torch.Generator().manual_seed(1)
times = []
for k in range(calls + 1):
    if fused:
        kernel.run(kernel.initial_states(n, k * n), drive, Pulse(width), trajectory0=k * n)
    else:
        integrator.run(thermal_initial_states(device, n, gen), drive, Pulse(width), gen)
    times.append(time.perf_counter() - start)
    start = time.perf_counter()
print(json.dumps({"first": times[0], "steady": float(np.median(times[1:]))}))
"""


def measure(preset: str, n: int, width: float, calls: int, mode: str) -> dict:
    env = {**os.environ, "SPINHIL_LLGS_COMPILE": "0" if mode == "eager" else "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, preset, str(n), str(width), str(calls),
                          mode], env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="mtj-000")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000, 100000])
    parser.add_argument("--width", type=float, default=30e-9)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    for mode in ("compiled", "fused"):  # the on-disk caches filled once
        measure(args.preset, 100, 1e-9, 1, mode)
    print(f"{args.preset}, {args.width * 1e9:g} ns pulse, torch {torch_version()}, "
          f"{os.cpu_count()} CPUs")
    print("seconds: first call (with set-up) / each further call")
    print(f"{'n':>8} {'eager':>15} {'compiled':>15} {'eager/comp':>10} {'break-even':>11} "
          f"{'fused':>15} {'comp/fused':>10}")
    for n in args.sizes:
        eager, comp, fused = (measure(args.preset, n, args.width, args.calls, mode)
                              for mode in ("eager", "compiled", "fused"))
        gain = eager["steady"] - comp["steady"]
        extra = comp["first"] - comp["steady"] - (eager["first"] - eager["steady"])
        even = f"{max(extra, 0) / gain:.1f}" if gain > 0 else "never"
        cells = [f"{m['first']:.2f}/{m['steady']:.3f}" for m in (eager, comp, fused)]
        print(f"{n:>8} {cells[0]:>15} {cells[1]:>15} {eager['steady'] / comp['steady']:>10.2f} "
              f"{even:>11} {cells[2]:>15} {comp['steady'] / fused['steady']:>10.1f}")


def torch_version() -> str:
    import torch

    return torch.__version__


if __name__ == "__main__":
    main()

"""Boltzmann check of every LLGS preset at its default step (and at any other dt):
<m_x^2 + m_y^2> simulated against the exact Boltzmann average.

    python bench/llgs/neuron_defaults.py                       # every preset at its default dt
    python bench/llgs/neuron_defaults.py --presets mtj-000 --dt 5ps,2.5ps,1ps
"""

from __future__ import annotations

import argparse
import time

from hil.units import parse_quantity
from simulators.equilibrium import measure_boltzmann
from simulators.macrospin import PRESETS


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--dt", default=None, help="comma-separated steps (default: each "
                        "preset's own)")
    parser.add_argument("--trajectories", type=int, default=1000)
    parser.add_argument("--backend", default="auto", help="auto (the integrator the preset's "
                        "runs take), numba or torch")
    parser.add_argument("--settle", default=None, help="default: five relaxation times, "
                        "at least 5 ns (simulators/equilibrium.py)")
    parser.add_argument("--average", default=None, help="default: three relaxation times, "
                        "at least 20 ns")
    args = parser.parse_args()
    settle = None if args.settle is None else parse_quantity(args.settle, "s", "ns")
    average = None if args.average is None else parse_quantity(args.average, "s", "ns")
    for name in args.presets.split(","):
        device = PRESETS[name]
        steps = ([parse_quantity(d, "s", "ps") for d in args.dt.split(",")] if args.dt
                 else [device.default_dt])
        for dt in steps:
            start = time.perf_counter()
            check = measure_boltzmann(device, dt, args.trajectories, settle=settle,
                                      average=average, backend=args.backend)
            print(f"{name:<14} dt {dt * 1e12:5.2f} ps  <m_x^2+m_y^2> {check.simulated:.5f} "
                  f"+- {check.simulated_err:.5f}  Boltzmann {check.exact:.5f}  "
                  f"{check.relative_error:+.2%} +- {check.simulated_err / check.exact:.2%}  "
                  f"{'pass' if check.passes else 'FAIL'}  {check.backend}  "
                  f"{time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()

"""Whether a change to the CPU kernel's noise moves the switching curve: I50 of
bench/llgs/llgs_vs_cmtj.py's curve (mtj-000, 20 currents x 100 trials, 30 ns at 2 ps) over many
seeds, for the kernel as it is and for other versions of its source, from the same initial
states with the same seeds. Prints each version's mean I50 with its standard error and the
paired difference against the current kernel (each seed's two curves share nothing but the
initial states, so the difference's error is about sqrt(2) times one version's).

    python bench/llgs/llgs_seed_spread.py [--seeds 16] --also OLD_CPU_PY ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from kernel_copies import kernel_copy
from llgs_vs_cmtj import CURRENTS, DEVICE, PULSE, TRIALS, i50, initial_states
from machine_load import uptime

from simulators.llgs_kernels import FusedLLGS
from simulators.llgs_pulse import Pulse

DT = 2e-12


def curve_i50(integrate, seed: int, m0: np.ndarray) -> float:
    """I50 (A) of one curve through ``integrate`` (cpu.integrate's contract)."""
    drive = np.repeat(CURRENTS, TRIALS)
    runner = FusedLLGS(DEVICE, DT, seed=seed)
    params, shared, shapes = runner._prepare(drive, Pulse(PULSE, relax=0.0), None)
    m = np.ascontiguousarray(m0, np.float32).copy()
    integrate(m, params, shared, shapes, *runner.key, 0, 0, DT, np.zeros(drive.size, np.float32))
    return i50((m[2] < 0).reshape(CURRENTS.size, TRIALS).sum(1))[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=16)
    parser.add_argument("--also", type=Path, nargs="+", required=True, metavar="CPU_PY",
                        help="other versions of simulators/llgs_kernels/cpu.py "
                             "(git show REV:simulators/llgs_kernels/cpu.py > old.py)")
    args = parser.parse_args()
    print(f"mtj-000, {CURRENTS.size} currents x {TRIALS} trials, {PULSE * 1e9:g} ns at "
          f"{DT * 1e12:g} ps, seeds 100..{99 + args.seeds}; {uptime()}")
    kernels = {"the kernel": kernel_copy("the kernel")}
    kernels.update({str(path): kernel_copy(str(path), source_file=path) for path in args.also})
    m0 = initial_states(3)
    values = {name: np.array([curve_i50(integrate, 100 + seed, m0)
                              for seed in range(args.seeds)]) * 1e6
              for name, integrate in kernels.items()}
    root = np.sqrt(args.seeds)
    for name, v in values.items():
        line = f"  {name:<28} I50 {v.mean():.4f} +- {v.std(ddof=1) / root:.4f} uA"
        if name != "the kernel":
            d = values["the kernel"] - v
            line += f"; the kernel minus this: {d.mean():+.4f} +- {d.std(ddof=1) / root:.4f} uA"
        print(line)


if __name__ == "__main__":
    main()

"""Wall time of the command-line P_sw curve in a new process (process start included):

    hil simulate psw --preset mtj-000 --pulse-width 30ns --currents 8uA:24uA:17 --trials 400

``--first`` also times the very first run on a new machine: the kernel caches (numba's and
the machine code's, both under ``NUMBA_CACHE_DIR``) pointed at an empty folder, so the kernel
is compiled once (the runs after it load machine code).
Prints every run, the median, the CPU seconds of the runs and the load (``uptime``) beside
them; on a shared machine compare the CPU seconds, on a quiet one the wall time.

    python bench/llgs/llgs_cli.py [--repeats 5] [--first]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from machine_load import uptime

COMMAND = ["simulate", "psw", "--preset", "mtj-000", "--pulse-width", "30ns",
           "--currents", "8uA:24uA:17", "--trials", "400"]


def timed_run(env: dict[str, str]) -> tuple[float, float, str]:
    """(wall s, CPU s of the child, the line with the curve's own timing)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "hil.cli", *COMMAND], env=env, check=True,
                         capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--first", action="store_true",
                        help="also time a first run with an empty numba cache")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root)
    print(f"hil {' '.join(COMMAND)}; {os.cpu_count()} CPUs; {uptime()}")
    if args.first:
        with tempfile.TemporaryDirectory() as cache:
            wall, cpu, line = timed_run(dict(env, NUMBA_CACHE_DIR=cache))
            print(f"first run (empty numba cache): {wall:.2f} s wall, {cpu:.2f} s CPU  | {line}")
            print(f"  {uptime()}")
    timed_run(env)  # make sure the cache is warm
    walls, cpus = [], []
    for k in range(args.repeats):
        wall, cpu, line = timed_run(env)
        walls.append(wall)
        cpus.append(cpu)
        print(f"run {k + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU  | {line}")
    print(f"median: {statistics.median(walls):.2f} s wall, {statistics.median(cpus):.2f} s CPU; "
          f"{uptime()}")


if __name__ == "__main__":
    main()

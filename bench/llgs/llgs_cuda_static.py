"""What the CUDA kernel costs, read from its machine code where no GPU is at hand: Triton
compiles simulators/llgs_kernels/cuda.py for an NVIDIA architecture (ptxas and cuobjdump come
with Triton's wheel), and this prints the registers per thread, the local memory, and the SASS
instructions of the step loop (one junction-step per thread per iteration). The loop skips its
thermal-field block (one Philox call, three Box-Muller pairs: two steps' normals,
simulators/llgs_kernels/normals.py) on every odd step but a run's first, so a junction-step
issues the loop's instructions less half that block's.

The issue-rate bound printed beside is arithmetic, not a measurement: an SM issues at most
four warp-instructions per cycle (128 thread-instructions), so ``SMs x 128 x clock /
instructions per step`` junction-steps/s is the most any launch can reach; latency,
occupancy and the special-function units only lower it. Run bench/llgs/llgs_throughput.py on a
GPU for the figure itself.

    python bench/llgs/llgs_cuda_static.py [--arch 90] [--sms 132] [--clock 1.98e9]
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import tempfile
from pathlib import Path

import triton
from triton.backends.nvidia.compiler import get_ptxas

from simulators.llgs_kernels.cuda import BLOCK, compile_for

INSTRUCTION = re.compile(r"\s+/\*([0-9a-f]{4,})\*/\s+(.*?);")
BRANCH = re.compile(r"BRA.*?0x([0-9a-f]+)")


def step_loop(sass: str) -> tuple[list[str], int]:
    """The instructions of the largest backward-branching loop (the kernel's step loop) and
    how many of them a forward branch inside it skips (the thermal-field block)."""
    code = [(int(m.group(1), 16), m.group(2).strip())
            for m in map(INSTRUCTION.match, sass.splitlines()) if m]
    index = {address: k for k, (address, _) in enumerate(code)}
    branches = [(k, index[target]) for k, (address, text) in enumerate(code)
                for target in [int(b.group(1), 16) for b in [BRANCH.search(text)] if b]
                if target in index]
    _, first, last = max((k - target, target, k) for k, target in branches if target < k)
    skipped = [target - k - 1 for k, target in branches if first <= k < target <= last]
    if len(skipped) != 1:
        raise SystemExit(f"the step loop has {len(skipped)} forward branches; this bench "
                         "reads a loop with one (the thermal-field block)")
    return [text for _, text in code[first:last + 1]], skipped[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arch", type=int, default=90, help="sm_XX (90: H100, H200)")
    parser.add_argument("--sms", type=int, default=132, help="streaming multiprocessors")
    parser.add_argument("--clock", type=float, default=1.98e9, help="boost clock, Hz")
    args = parser.parse_args()
    kernel = compile_for(args.arch)
    cuobjdump = Path(get_ptxas(args.arch).path).with_name("cuobjdump")
    with tempfile.TemporaryDirectory() as folder:
        cubin = Path(folder) / "kernel.cubin"
        cubin.write_bytes(kernel.asm["cubin"])
        usage = subprocess.run([cuobjdump, "--dump-resource-usage", cubin], capture_output=True,
                               text=True, check=True).stdout
        sass = subprocess.run([cuobjdump, "-sass", cubin], capture_output=True, text=True,
                              check=True).stdout
    loop, noise_block = step_loop(sass)
    per_step = len(loop) - noise_block / 2
    kinds = collections.Counter(re.sub(r"^@!?U?P\w+\s+", "", text).split()[0].split(".")[0]
                                for text in loop)
    resources = re.search(r"REG:\d+ STACK:\d+ SHARED:\d+ LOCAL:\d+", usage).group(0)
    print(f"sm_{args.arch}, Triton {triton.__version__}, {BLOCK} trajectories per program: "
          f"{resources}")
    print(f"step loop: {len(loop)} SASS instructions, of which the thermal-field block "
          f"{noise_block} (every other step): {per_step:g} per junction-step")
    print("  " + ", ".join(f"{name} {count}" for name, count in kinds.most_common(12)))
    bound = args.sms * 128 * args.clock / per_step
    print(f"issue-rate bound at {args.sms} SMs x {args.clock / 1e9:.2f} GHz: {bound:.2e} "
          f"junction-steps/s (a ceiling, not a measurement)")


if __name__ == "__main__":
    main()

"""Private copies of the CPU LLGS kernel (simulators/llgs_kernels/cpu.py) for benchmarks,
and their speeds measured side by side: bench/llgs/llgs_interleave.py,
bench/llgs/llgs_kernel_parts.py.

A copy is the kernel's source with some lines replaced and module constants set, compiled
afresh (callers set SPINHIL_NUMBA_CACHE=0 before importing numba). Not kernels to run physics
with: they exist to time the kernel's choices and parts.
"""

from __future__ import annotations

import importlib.util
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

KERNEL = Path(__file__).resolve().parents[2] / "simulators" / "llgs_kernels" / "cpu.py"
_FOLDER = tempfile.TemporaryDirectory(prefix="kernel-copies-")


def kernel_copy(name: str, replacements=(), source_file: Path = KERNEL,
                **constants) -> Callable[..., None]:
    """The ``integrate`` of a copy of the kernel (or of another version of its source, e.g.
    an older commit's) with each (old, new) text replaced and the module constants set (e.g.
    INTERLEAVE=1); exits if a text to replace is gone."""
    source = Path(source_file).read_text()
    for old, new in replacements:
        if old not in source:
            sys.exit(f"{name}: the kernel's source no longer has the text this bench replaces")
        source = source.replace(old, new)
    folder = Path(_FOLDER.name)
    path = folder / f"cpu_copy_{len(list(folder.iterdir()))}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for constant, value in constants.items():
        setattr(module, constant, value)
    return module.integrate


def best_rates(kernels: dict, start: np.ndarray, inputs: tuple, repeats: int,
               clock: Callable[[], float] = time.perf_counter) -> dict:
    """Junction-steps per second of ``clock`` of each kernel, the best of ``repeats`` rounds
    that run every kernel once in turn (so a busy minute slows all alike). ``inputs`` are
    integrate's arguments after m and before worst; each kernel is compiled first."""
    n, n_steps = start.shape[1], inputs[2].shape[0]
    params, shared, shapes, *rest = inputs
    for integrate in kernels.values():
        integrate(start.copy(), params, shared, shapes[:4], *rest, np.zeros(n, np.float32))
    best = dict.fromkeys(kernels, 0.0)
    for _ in range(repeats):
        for name, integrate in kernels.items():
            m = start.copy()
            begin = clock()
            integrate(m, *inputs, np.zeros(n, np.float32))
            best[name] = max(best[name], n * n_steps / (clock() - begin))
    return best

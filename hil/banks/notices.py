"""What a run on the LLGS integrators should say before a wait that looks like a hang: the
CPU kernel's one-time compile, the torch integrator's first-use compile."""

from __future__ import annotations

import os

from simulators.llgs_kernels import choose_backend, resolve_device
from simulators.macrospin import macrospin_preset


def llgs_integrator(preset: str, device_name: str = "auto") -> str | None:
    """The integrator a preset's runs take (numba, triton or torch); None for a bad name
    (refused later, with its field)."""
    try:
        return choose_backend(resolve_device(device_name), macrospin_preset(preset))
    except ValueError:
        return None


def kernel_compile_notice(preset: str, device_name: str = "auto") -> list[str]:
    """One line before the CPU LLGS kernel compiles (first use on a machine, 5-60 s), none
    when its machine code is cached or another integrator runs."""
    if llgs_integrator(preset, device_name) != "numba":
        return []
    from simulators.llgs_kernels.cpu_native import machine_code_ready

    if machine_code_ready():
        return []
    return ["LLGS: compiling the CPU kernel for this machine (once, about 5-60 s; then "
            "loaded from the disk cache)"]


def llgs_training_notices(preset: str) -> list[str]:
    """Before an LLGS training run: the kernel's compile (calibration sweeps and neurons)
    and, for physics the kernel lacks, the torch integrator's first-use compile."""
    lines = kernel_compile_notice(preset)
    if llgs_integrator(preset) == "torch" and os.environ.get("SPINHIL_LLGS_COMPILE", "1") != "0":
        lines.append("LLGS: the neurons' torch integrator compiles on first use (up to a "
                     "minute on two cores, then from torch's disk cache; "
                     "SPINHIL_LLGS_COMPILE=0 runs it eagerly)")
    return lines

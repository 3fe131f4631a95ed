"""The allowed range of the simulators' physical arguments, checked before anything is
allocated: a value outside is refused with :class:`OutOfRange`, which names the field and
the range (``hil`` turns it into its ``ConfigError`` for the command line), and a legal run
that will take long says what it costs before it starts (:class:`CostWarning`).

The LLGS ranges come from what one integration holds: a pulse is cut into steps of dt and
the fused kernels keep a table of the pulse's shape per step (12 bytes a step), so a pulse
may last at most ``MAX_LLGS_STEPS`` steps (50 us at mtj-000's 2.5 ps); one batch holds at
most ``MAX_TRAJECTORIES`` trajectories (about 150 bytes each in the kernels' arrays).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable

import numpy as np

MAX_LLGS_STEPS = 20_000_000  # steps of dt in one pulse or run (240 MB of pulse-shape table)
MAX_TRAJECTORIES = 4_000_000  # trajectories in one batch (about 0.6 GB of kernel arrays)
MAX_TRIALS = 1_000_000  # pulses per current of one P_sw curve
MAX_NEURONS = 100_000  # neurons of one simulated bank
LONG_SECONDS = 10.0  # a run estimated this long says its cost before it starts
KERNEL_RATE = 1e8  # junction-steps/s of the fused CPU kernel on 2 cores, loaded
# (bench/RESULTS.md: 1.1-2.3e8 on this project's 2-core machine; the torch integrator is slower)
STEP_FLOOR = 1.2e-6  # s per step with a few trajectories (3 x 1.2e6 steps of 3 us: 1.5 s)

_PREFIXES = ((1e-15, "f"), (1e-12, "p"), (1e-9, "n"), (1e-6, "u"), (1e-3, "m"), (1.0, ""),
             (1e3, "k"), (1e6, "M"), (1e9, "G"))


class OutOfRange(ValueError):
    """A physical argument outside its allowed range; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class CostWarning(UserWarning):
    """A legal run that will take long: the message says how long, before it starts."""


def si(value: float, unit: str) -> str:
    """``value`` with an SI prefix: si(5e-5, "s") == "50 us"."""
    if unit == "" or value == 0 or not math.isfinite(value):
        return f"{value:g}{' ' + unit if unit else ''}"
    scale, prefix = _PREFIXES[0]
    for scale_, prefix_ in _PREFIXES:
        if abs(value) >= scale_ * (1 - 1e-9):
            scale, prefix = scale_, prefix_
    return f"{value / scale:.4g} {prefix}{unit}"


def check_range(field: str, value: float, low: float, high: float, unit: str = "",
                why: str = "", low_open: bool = False) -> float:
    """``value`` (finite) in [low, high], or (low, high] with ``low_open``; else refused
    naming the field, the value and the range."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise OutOfRange(field, f"{field} = {value!r} is not a number")
    ok = math.isfinite(value) and (low < value if low_open else low <= value) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise OutOfRange(field, f"{field} = {si(float(value), unit)} is outside the allowed "
                         f"range {bracket}{si(low, unit)}, {si(high, unit)}]"
                         + (f" ({why})" if why else ""))
    return float(value)


def check_count(field: str, value: int, low: int, high: int, why: str = "") -> int:
    """A whole number in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise OutOfRange(field, f"{field} = {value!r} is not a whole number")
    if not low <= value <= high:
        raise OutOfRange(field, f"{field} = {value} is outside the allowed range [{low}, "
                         f"{high}]" + (f" ({why})" if why else ""))
    return int(value)


def check_finite(field: str, values: Iterable[float] | np.ndarray, unit: str = "") -> np.ndarray:
    """Every value finite (a NaN or an infinity in an array is refused by name)."""
    array = np.asarray(values, float)
    if not np.all(np.isfinite(array)):
        raise OutOfRange(field, f"{field}: every value must be a finite number of {unit or 'units'}"
                         f", got {float(array[~np.isfinite(array)][0])}")
    return array


def check_llgs_steps(field: str, duration: float, dt: float) -> int:
    """The steps of dt covering ``duration`` (``field``'s time, rise, fall and relax
    included), refused beyond ``MAX_LLGS_STEPS`` with the longest time allowed at this dt."""
    check_range("dt", dt, 0.0, 1e-9, "s", "an LLGS step", low_open=True)
    steps = duration / dt
    if not math.isfinite(steps) or steps > MAX_LLGS_STEPS:
        longest = si(MAX_LLGS_STEPS * dt, "s")
        raise OutOfRange(field, f"{field}: {si(duration, 's')} at dt = {si(dt, 's')} is "
                         f"{steps:.3g} LLGS steps; allowed range (0, {longest}] at this dt "
                         f"(at most {MAX_LLGS_STEPS:.0e} steps in one integration)")
    return max(1, math.ceil(steps - 1e-9))


def llgs_seconds(steps: int, trajectories: int) -> float:
    """About how long ``steps`` x ``trajectories`` take on the fused CPU kernel on 2 cores:
    a floor per step (a few trajectories cannot fill the vectors) plus the junction-steps
    at the kernel's rate."""
    return float(steps) * (STEP_FLOOR + float(trajectories) / KERNEL_RATE)


def llgs_cost(steps: int, trajectories: int, what: str) -> str | None:
    """What an LLGS run of ``steps`` x ``trajectories`` costs, when that is long enough to
    say (``LONG_SECONDS``); None for a short one."""
    seconds = llgs_seconds(steps, trajectories)
    if seconds < LONG_SECONDS:
        return None
    shown = f"{seconds:.0f} s" if seconds < 120 else (
        f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h")
    return (f"{what}: {steps:,} steps x {trajectories:,} trajectories "
            f"({float(steps) * trajectories:.2g} junction-steps), about {shown} on the fused "
            "CPU kernel on 2 cores (longer on the torch integrator)")


def warn_cost(steps: int, trajectories: int, what: str) -> None:
    """``CostWarning`` with ``llgs_cost``'s message, for a long run, before it starts."""
    message = llgs_cost(steps, trajectories, what)
    if message is not None:
        warnings.warn(message, CostWarning, stacklevel=3)

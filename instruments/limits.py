"""Safety limits of the devices under test, checked before anything is sent.

The limits themselves are checked when made: a number (or a quantity with units, from a lab
file), positive, finite and inside the instrument that enforces it (Keithley 6221 +-105 mA and
its longest hardware-timed pulse, two ARB points at 1 mHz = 500 s; Keithley 2400 +-210 V).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import Any


class LimitError(ValueError):
    """A setting beyond a device limit; names the field and the allowed range."""


@dataclass(frozen=True)
class SafetyLimits:
    """Per-device limits (SI). Defaults suit paper 002's 0.5 um Ta/CoFeB bars."""

    max_pulse_current: float = 0.75e-3  # A
    max_read_current: float = 100e-6  # A, above this a read may disturb the state
    max_pulse_width: float = 10e-3  # s
    compliance_voltage: float = 10.0  # V
    max_field: float = 0.1  # T, coil

    def __post_init__(self) -> None:
        for name, (high, unit) in LIMIT_RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise LimitError(f"{name} = {value!r} is not a number in {unit}")
            if not (math.isfinite(value) and 0 < value <= high):
                raise LimitError(f"{name} = {value:g} {unit} is outside the allowed range "
                                 f"(0, {high:g}] {unit} ({LIMIT_SOURCES[name]})")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], where: str = "lab file") -> SafetyLimits:
        """Limits from a lab file's [limits] table: numbers in SI units, or strings with
        their own units ("0.75 mA", "10 ms"); every field named in the error."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise LimitError(f"{where}: limit {unknown[0]!r} unknown; allowed: {sorted(names)}")
        values = {}
        for name, value in raw.items():
            try:
                values[name] = _si(value, LIMIT_RANGES[name][1])
            except ValueError as err:
                raise LimitError(f"{where}: {name} = {value!r}: {err}") from None
        try:
            return cls(**values)
        except LimitError as err:
            raise LimitError(f"{where}: {err}") from None

    def check(self, field: str, value: float, high: float, low: float | None = None,
              unit: str = "") -> float:
        """``value`` if within [low, high] (low defaults to -high), else a LimitError naming
        ``field``, the value and the allowed range in ``unit``; every named check below is one."""
        low = -high if low is None else low
        if not low <= value <= high:
            raise LimitError(f"{field} = {value:g} {unit} is outside the allowed range "
                             f"[{low:g}, {high:g}] {unit} (safety limit)".replace("  ", " "))
        return value

    def pulse_current(self, value: float) -> float:
        """A write or reset pulse (A), either sign, within +-max_pulse_current."""
        return self.check("pulse current", value, self.max_pulse_current, unit="A")

    def read_current(self, value: float) -> float:
        """A read current (A), either sign, within +-max_read_current: more may disturb
        the state it reads."""
        return self.check("read current", value, self.max_read_current, unit="A")

    def pulse_width(self, value: float) -> float:
        """A pulse's width (s), within [0, max_pulse_width]."""
        return self.check("pulse width", value, self.max_pulse_width, 0.0, "s")

    def compliance(self, value: float) -> float:
        """A compliance or source voltage (V), within [0, compliance_voltage]."""
        return self.check("compliance voltage", value, self.compliance_voltage, 0.0, "V")

    def field(self, value: float) -> float:
        """A coil field (T), either sign, within +-max_field."""
        return self.check("field", value, self.max_field, unit="T")


LIMIT_RANGES = {"max_pulse_current": (0.105, "A"), "max_read_current": (0.105, "A"),
                "max_pulse_width": (500.0, "s"), "compliance_voltage": (210.0, "V"),
                "max_field": (2.0, "T")}
LIMIT_SOURCES = {"max_pulse_current": "Keithley 6221: +-105 mA",
                 "max_read_current": "Keithley 6221: +-105 mA",
                 "max_pulse_width": "Keithley 6221: longest hardware-timed pulse",
                 "compliance_voltage": "Keithley 6221 105 V, 2400 210 V",
                 "max_field": "coil supply"}


@cache
def _units():
    import pint

    return pint.UnitRegistry()


def _si(value: Any, unit: str) -> float:
    """A lab-file number (already SI) or a quantity string, in SI ``unit``."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a number or a quantity in {unit}")
    if not isinstance(value, str):
        return float(value)
    registry = _units()
    try:
        quantity = registry.Quantity(value.strip())
    except Exception:
        raise ValueError(f"not a quantity like '0.75 m{unit}'") from None
    if quantity.dimensionless:
        raise ValueError(f"no unit: write it with its unit, e.g. '{value.strip()} {unit}'")
    try:
        return float(quantity.to({"A": "ampere", "s": "second", "V": "volt",
                                  "T": "tesla"}[unit]).magnitude)
    except Exception:
        raise ValueError(f"not in units of {unit}") from None

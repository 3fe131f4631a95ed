"""Safety limits of the devices under test, checked before anything is sent."""

from __future__ import annotations

from dataclasses import dataclass


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

    def check(self, field: str, value: float, high: float, low: float | None = None,
              unit: str = "") -> float:
        low = -high if low is None else low
        if not low <= value <= high:
            raise LimitError(f"{field} = {value:g} {unit} is outside the allowed range "
                             f"[{low:g}, {high:g}] {unit} (safety limit)".replace("  ", " "))
        return value

    def pulse_current(self, value: float) -> float:
        return self.check("pulse current", value, self.max_pulse_current, unit="A")

    def read_current(self, value: float) -> float:
        return self.check("read current", value, self.max_read_current, unit="A")

    def pulse_width(self, value: float) -> float:
        return self.check("pulse width", value, self.max_pulse_width, 0.0, "s")

    def compliance(self, value: float) -> float:
        return self.check("compliance voltage", value, self.compliance_voltage, 0.0, "V")

    def field(self, value: float) -> float:
        return self.check("field", value, self.max_field, unit="T")

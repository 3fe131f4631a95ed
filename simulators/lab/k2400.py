"""Emulator of the Keithley 2400 SourceMeter (Model 2400 User's Manual)."""

from __future__ import annotations

from simulators.lab.base import LabInstrument
from simulators.lab.chip import Chip, LabClock
from simulators.lab.scpi import boolean, choice, fmt, number


class Keithley2400Emulator(LabInstrument):
    """Drives the coil: the in-plane field is coil_constant * current (T/A)."""

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C30   Mar 17 2006 09:29:29/A02  /K/J"

    def __init__(self, chip: Chip, clock: LabClock, coil_constant: float = 0.01,
                 coil_resistance: float = 2.0) -> None:
        self.coil_constant = coil_constant
        self.coil_resistance = coil_resistance
        super().__init__(chip, clock)

    def reset(self) -> None:
        self.output = False
        self.source_function = "VOLT"
        self.source_current = 0.0
        self.source_voltage = 0.0
        self.compliance_voltage = 21.0
        self.compliance_current = 1.05e-4
        self.generic: dict[str, str] = {}
        self._apply()

    def coil_current(self) -> float:
        if not self.output:
            return 0.0
        if self.source_function == "CURR":
            return min(abs(self.source_current),
                       self.compliance_voltage / self.coil_resistance) * (
                1 if self.source_current >= 0 else -1)
        current = self.source_voltage / self.coil_resistance
        return max(-self.compliance_current, min(self.compliance_current, current))

    def _apply(self) -> None:
        self.chip.field_x = self.coil_constant * self.coil_current()

    def _set(self, name: str, value) -> None:
        setattr(self, name, value)
        self._apply()

    def _read(self, args: str, query: bool):
        current = self.coil_current()
        voltage = current * self.coil_resistance
        self.clock.advance(1.0 / self.clock.line_frequency)
        return ",".join(fmt(v) for v in (voltage, current, 9.91e37, self.clock.seconds, 0))

    def commands(self):
        return {
            ":OUTPut[:STATe]": self._setting("output", boolean, lambda v: str(int(v))),
            ":SOURce:FUNCtion[:MODE]": self._setting("source_function", lambda a: choice(
                a, {"CURRent": "CURR", "VOLTage": "VOLT"})),
            ":SOURce:CURRent[:LEVel][:IMMediate][:AMPLitude]": self._setting(
                "source_current", lambda a: number(a, -1.05, 1.05), fmt),
            ":SOURce:VOLTage[:LEVel][:IMMediate][:AMPLitude]": self._setting(
                "source_voltage", lambda a: number(a, -210, 210), fmt),
            "[:SENSe]:VOLTage[:DC]:PROTection[:LEVel]": self._setting(
                "compliance_voltage", lambda a: number(a, -210, 210), fmt),
            "[:SENSe]:CURRent[:DC]:PROTection[:LEVel]": self._setting(
                "compliance_current", lambda a: number(a, -1.05, 1.05), fmt),
            ":READ": self._read,
            ":MEASure:*": self._read,
            ":FORMat:*": self._generic("format"),
            "[:SENSe]:*": self._generic("sense"),
            ":SOURce:*": self._generic("source"),
            ":SYSTem:*": self._generic("system"),
            ":TRIGger:*": self._generic("trigger"),
            ":ARM:*": self._generic("arm"),
            ":DISPlay:*": self._generic("display"),
            ":ROUTe:TERMinals": self._generic("terminals"),
            ":STATus:*": lambda a, q: "0" if q else None,
        }

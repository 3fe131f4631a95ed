"""Keithley 2400 as coil supply (field = coil_constant * I) or as bias-voltage source."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2400

from instruments.errors import InstrumentError
from instruments.guard import Guard2400
from instruments.keithley.base import SafeWriteMixin, _guarded, _within
from instruments.keithley.replies import COMMON_REPLIES
from instruments.limits import SafetyLimits

# the STATus data element's bit 3, "Compliance: set to 1 if in real compliance" (Model 2400
# User's Manual section 18, FORMat:ELEMents, the 24-bit status word)
COMPLIANCE_BIT = 1 << 3


@dataclass(frozen=True)
class CoilReading:
    """What the 2400 reads of its output: volts, amps, the compliance bit, the coil's field
    (amps x coil constant, T) and whether the output is on at all."""

    voltage: float
    current: float
    compliance: bool
    field: float
    on: bool


class FieldSupply(SafeWriteMixin, Keithley2400):
    """Keithley 2400 as coil supply (field = coil_constant * I) or as bias-voltage source."""

    def __init__(self, adapter, limits: SafetyLimits | None = None,
                 coil_constant: float = 0.01, **kwargs) -> None:
        if coil_constant <= 0:
            raise ValueError(f"coil_constant = {coil_constant:g} T/A must be > 0")
        self._limits = limits or SafetyLimits()
        self._coil_constant = coil_constant
        self.guard = Guard2400(lambda: self.limits, lambda: self.coil_constant)
        self.guard.name = kwargs.get("name", "Keithley 2400 SourceMeter")
        # what the run asked of the output: the field (T) of set_field, or None; and
        # whether it was turned on by set_field or set_bias_voltage (shutdown: off)
        self.field_set: float | None = None
        self.sourcing = False
        adapter = _guarded(adapter, self.guard, kwargs)
        super().__init__(adapter, **kwargs)
        self._device_limits()

    @property
    def coil_constant(self) -> float:
        """Field per coil current (T/A); the coil-current limit is max_field / this."""
        return self._coil_constant

    @coil_constant.setter
    def coil_constant(self, tesla_per_ampere: float) -> None:
        if not tesla_per_ampere > 0:
            raise ValueError(f"coil_constant = {tesla_per_ampere:g} T/A must be > 0")
        self._coil_constant = tesla_per_ampere
        self._device_limits()

    def max_coil_current(self) -> float:
        """The largest coil current allowed (A): max_field / coil_constant, and never above
        the 2400's 1.05 A (the top of its 1 A source range)."""
        return min(1.05, self.limits.max_field / self.coil_constant)

    def _device_limits(self) -> None:
        if not hasattr(self, "_coil_constant"):
            return
        current, voltage = self.max_coil_current(), self.limits.compliance_voltage
        self.source_current_values = [-current, current]
        self.compliance_current_values = [0.0, current]
        self.source_voltage_values = [-voltage, voltage]
        self.compliance_voltage_values = [0.0, voltage]

    source_current = Instrument.control(
        ":SOURCE:CURRENT?", ":SOURCE:CURRENT %g",
        """Control the coil current (A), within max_field / coil_constant.""",
        validator=_within("coil current", "A"), values=[-1.05, 1.05], dynamic=True,
    )
    compliance_current = Instrument.control(
        ":SENSE:CURRENT:PROTECTION?", ":SENSE:CURRENT:PROTECTION %g",
        """Control the current compliance (A) when sourcing voltage, within the coil limit.""",
        validator=_within("compliance current", "A"), values=[0, 1.05], dynamic=True,
    )
    source_voltage = Instrument.control(
        ":SOURCE:VOLTAGE?", ":SOURCE:VOLTAGE %g",
        """Control the source voltage (V), within the compliance-voltage limit.""",
        validator=_within("source voltage", "V"), values=[-210, 210], dynamic=True,
    )
    compliance_voltage = Instrument.control(
        ":SENSE:VOLTAGE:PROTECTION?", ":SENSE:VOLTAGE:PROTECTION %g",
        """Control the voltage compliance (V) when sourcing current, within the limit.""",
        validator=_within("compliance voltage", "V"), values=[0, 210], dynamic=True,
    )

    def set_field(self, field: float, compliance: float = 10.0) -> None:
        """Source the coil current for an in-plane field (T)."""
        self.limits.field(field)
        self.limits.compliance(compliance)
        self.source_mode = "current"
        self.compliance_voltage = compliance
        self.source_current_range_auto_enabled = True
        self.source_current = field / self.coil_constant
        self.enable_source()
        self.field_set, self.sourcing = float(field), True
        self.check_errors()  # also waits until the instrument has taken the settings

    def compliance_tripped(self) -> bool:
        """The source is in compliance now: ``[:SENSe[1]]:VOLTage:PROTection:TRIPped?`` (the
        current source at its voltage compliance) or ``...:CURRent:PROTection:TRIPped?``
        (the voltage source at its current compliance), Model 2400 User's Manual section
        18, SENSe1 subsystem ("1": in compliance)."""
        return (self.query(":SENS:VOLT:PROT:TRIP?", "flag")
                or self.query(":SENS:CURR:PROT:TRIP?", "flag"))

    def read_back(self) -> CoilReading:
        """One reading of the output as it is (no output: nothing flows, nothing is
        asked but OUTP?): ``:FORM:ELEM VOLT,CURR,STAT`` and ``:READ?`` (section 18,
        FORMat:ELEMents; the STATus element's bit 3 is set in real compliance)."""
        if not self.output_enabled():
            return CoilReading(0.0, 0.0, False, 0.0, False)
        self.write(":FORM:ELEM VOLT,CURR,STAT")
        voltage, current, status = self.query(":READ?", "readings", 3)
        return CoilReading(voltage, current, bool(int(status) & COMPLIANCE_BIT),
                           current * self.coil_constant, True)

    _replies = (*COMMON_REPLIES,
                (re.compile(r":?SOUR(?:CE)?:FUNC(?:TION)?(?::MODE)?\?$", re.I), "function"))
    RAMP_STEPS, RAMP_PAUSE = 30, 20e-3  # pymeasure's ramp_to_current: 30 steps, 20 ms apart

    def shutdown(self) -> None:
        """An output that is on ramps to zero first (as pymeasure's shutdown does: a coil's
        current is not cut), from the level the instrument reports; then output off,
        confirmed by OUTP?, whatever the ramp met (an unreadable reply, or a level the
        safety limits refuse, cuts the ramp short)."""
        try:
            if self.output_enabled():
                self._ramp_to_zero()
        except (InstrumentError, ValueError):  # unreadable, or a step beyond a limit
            pass
        finally:
            self.write(":OUTP OFF")
        self.confirm_output_off()
        self.field_set, self.sourcing = None, False
        self.isShutdown = True

    def _ramp_to_zero(self) -> None:
        function = self.query(":SOUR:FUNC?", "function")
        if function == "MEM":
            return
        level = self.query(f":SOUR:{function}?", "reading")
        for value in [level * (1 - k / self.RAMP_STEPS) for k in range(1, self.RAMP_STEPS + 1)]:
            if function == "CURR":
                self.source_current = value
            else:
                self.source_voltage = value
            self.pause(self.RAMP_PAUSE)

    def set_bias_voltage(self, voltage: float, compliance_current: float = 1e-4) -> None:
        """The 2400 as bias-voltage source: ``voltage`` (V, held to the compliance-voltage
        limit) with a current compliance (A, held to the coil-current limit), output on."""
        self.limits.compliance(abs(voltage))
        self.source_mode = "voltage"
        self.compliance_current = compliance_current
        self.source_voltage_range_auto_enabled = True
        self.source_voltage = voltage
        self.enable_source()
        self.field_set, self.sourcing = None, True
        self.check_errors()


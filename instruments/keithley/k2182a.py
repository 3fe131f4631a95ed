"""Keithley 2182A nanovoltmeter reading the Hall voltage: pymeasure's Keithley2182 driver
with the project's strict replies, and the 6221's partner in pulse delta (the 6221 drives
it over RS-232 and the trigger link: ``PulseSource.arm_pulse_delta``)."""

from __future__ import annotations

import re
import warnings

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2182
from pymeasure.instruments.validators import strict_discrete_set

from instruments.keithley.base import SafeWriteMixin
from instruments.keithley.k2000 import HallVoltmeter
from instruments.keithley.replies import COMMON_REPLIES
from instruments.limits import SafetyLimits


class Nanovoltmeter(SafeWriteMixin, Keithley2182):
    """Keithley 2182A on channel 1, DC volts (Model 2182/2182A User's Manual). A meter: it
    sources nothing, so no guard sits under it (the read current is the 6221's, under the
    6221's guard).

    The read path the cycle uses (``instruments.keithley.voltmeter``): ``voltage_nplc``
    (SENSe:VOLTage:NPLCycles), ``autozero_enabled`` (SYSTem:AZERo), ``line_frequency()``
    (SYSTem:LFRequency?), ``read_voltage()`` (READ?), the error queue and *ESR?."""

    _replies = (*COMMON_REPLIES, (re.compile(r":?(?:READ|FETC(?:H)?)\?$", re.I), "readings"))
    no_triggered_buffer = (
        "the voltmeter is a Keithley 2182A, whose driver has no triggered buffer: the "
        "hardware-timed routes are paced by the Model 2000's data-sheet trigger rates and "
        "read its SREal buffer, figures the 2182A's manual does not give for it")

    def __init__(self, adapter, limits: SafetyLimits | None = None, **kwargs) -> None:
        self._limits = limits or SafetyLimits()
        with warnings.catch_warnings():  # pymeasure 0.16's SCPIUnknownMixin FutureWarning
            warnings.simplefilter("ignore", FutureWarning)
            super().__init__(adapter, **kwargs)

    autozero_enabled = Instrument.control(
        ":SYST:AZER:STAT?", ":SYST:AZER:STAT %d", """Control autozero (SYSTem:AZERo; off
        is faster, at the cost of drift), the name the 2000's driver gives it.""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
    )
    line_frequency = HallVoltmeter.line_frequency  # :SYST:LFR?, 50 or 60, the same query

    def auto_line_frequency(self) -> None:
        """NPLC up to 50 at 50 Hz, 60 at 60 Hz (1 s), from the line frequency asked."""
        limit = self.line_frequency()
        self.voltage_nplc_values = self.temperature_nplc_values = (0.01, limit)

    def read_voltage(self) -> float:
        """One reading of channel 1 (READ?): one finite number, or a ReplyError."""
        return self.read_float(":READ?")

"""Keithley 2182A nanovoltmeter reading the Hall voltage: pymeasure's Keithley2182 driver
with the project's strict replies, and the 6221's partner in pulse delta (the 6221 drives
it over RS-232 and the trigger link: ``PulseSource.arm_pulse_delta``)."""

from __future__ import annotations

import re
import warnings

from pymeasure.instruments.keithley import Keithley2182

from instruments.keithley.base import SafeWriteMixin
from instruments.keithley.replies import COMMON_REPLIES
from instruments.limits import SafetyLimits


class Nanovoltmeter(SafeWriteMixin, Keithley2182):
    """Keithley 2182A on channel 1, DC volts (Model 2182/2182A User's Manual)."""

    _replies = (*COMMON_REPLIES, (re.compile(r":?(?:READ|FETC(?:H)?)\?$", re.I), "readings"))

    def __init__(self, adapter, limits: SafetyLimits | None = None, **kwargs) -> None:
        self._limits = limits or SafetyLimits()
        with warnings.catch_warnings():  # pymeasure 0.16's SCPIUnknownMixin FutureWarning
            warnings.simplefilter("ignore", FutureWarning)
            super().__init__(adapter, **kwargs)

    def read_voltage(self) -> float:
        """One reading of channel 1 (READ?): one finite number, or a ReplyError."""
        return self.read_float(":READ?")

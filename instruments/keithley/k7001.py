"""Keithley 7001 switch system routing one device at a time (card 1)."""

from __future__ import annotations

from pymeasure.instruments import Instrument
from pymeasure.instruments.validators import strict_range

from instruments.keithley.base import SafeWriteMixin
from instruments.limits import SafetyLimits


class SwitchCard(SafeWriteMixin, Instrument):
    """Keithley 7001-style switch card routing one device at a time (card 1)."""

    def __init__(self, adapter, limits: SafetyLimits | None = None, channels: int = 40,
                 **kwargs) -> None:
        self._limits = limits or SafetyLimits()
        self.channels = channels
        super().__init__(adapter, "Keithley 7001 switch", includeSCPI=False, **kwargs)

    closed_channels = Instrument.measurement(":ROUT:CLOS:STAT?", """Get the closed channel
        list (Model 7001 manual, ROUTe: CLOSe:STATe?; CLOSe? wants a channel list).""",
                                             get_process=lambda v: str(v))

    def select(self, device: int) -> None:
        """Route device ``device`` (0-based): open everything, then close its channel."""
        strict_range(device, [0, self.channels - 1])
        self.write(f":ROUT:OPEN ALL;:ROUT:CLOS (@1!{device + 1})")
        self.check_errors()

    def shutdown(self) -> None:
        self.write(":ROUT:OPEN ALL")
        super().shutdown()


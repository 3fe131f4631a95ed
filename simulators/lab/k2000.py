"""Emulator of the Keithley 2000 multimeter (Model 2000 User's Manual)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulators.lab.base import LabInstrument
from simulators.lab.scpi import ScpiError, boolean, choice, fmt, number

if TYPE_CHECKING:
    from simulators.lab.k6221 import Keithley6221Emulator


class Keithley2000Emulator(LabInstrument):
    """Reads the Hall voltage of the routed device with the 6221's current flowing."""

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2000,1234567,A20  /A02  "
    source: Keithley6221Emulator | None = None

    def reset(self) -> None:
        self.armed = False
        self.arm_source = "IMM"
        self.timer = 0.1
        self.trigger_delay = 0.0
        self.function = "VOLT:DC"
        self.nplc = 1.0
        self.autozero = True
        self.auto_range = True
        self.volt_range = 1000.0
        self.trigger_source = "IMM"
        self.trigger_count = 1
        self.sample_count = 1
        self.continuous = True
        self.display = True
        self.buffer: list[float] = []
        self.generic: dict[str, str] = {}

    def _measure(self) -> float:
        current = self.source.flowing() if self.source is not None else 0.0
        if self.source is not None:
            self.source._flush()
        integration = self.nplc / self.clock.line_frequency * (2.0 if self.autozero else 1.0)
        value = self.chip.hall_voltage(current, self.nplc)
        self.clock.advance(integration)
        if self.source is not None:
            self.source._flush()  # the read current flowed during the integration
        return value

    def _read(self, args: str, query: bool):
        self.buffer = [self._measure() for _ in range(self.sample_count * self.trigger_count)]
        return ",".join(fmt(v) for v in self.buffer)

    def timed_sample(self, start: float, end: float, current: float) -> None:
        """Readings whose timer instant falls in [start, end) see ``current``."""
        times = getattr(self, "sample_times", None)
        if not getattr(self, "armed", False) or not times:
            return
        while times and times[0] < end - 1e-15:
            if times[0] >= start - 1e-15:
                self.buffer.append(self.chip.hall_voltage(current, self.nplc))
            times.pop(0)
        if not times:
            self.armed = False

    def _fetch(self, args: str, query: bool):
        if not self.buffer:
            raise ScpiError(-221, "no reading to fetch")
        return ",".join(fmt(v) for v in self.buffer)

    def _init(self, args: str, query: bool):
        if self.arm_source == "TLIN" and self.trigger_source == "TIM":
            if self.sample_count * self.trigger_count > 1024:
                raise ScpiError(-221, "more readings than the 1024-reading buffer")
            self.buffer = []
            self.armed = True
            self.sample_times: list[float] = []
            return None
        if self.trigger_source == "TLIN":  # wait for trigger-link pulses (hardware-timed)
            if self.sample_count * self.trigger_count > 1024:
                raise ScpiError(-221, "more readings than the 1024-reading buffer")
            self.buffer = []
            self.armed = True
            return None
        self.buffer = [self._measure() for _ in range(self.sample_count * self.trigger_count)]
        return None

    def link_trigger(self, current: float, when: float) -> None:
        """A trigger-link pulse: one reading of the current flowing now (its integration
        lies inside the waveform's read window), or, armed on the link with the timer as
        trigger, the start of timed sampling."""
        if not getattr(self, "armed", False):
            return
        if self.arm_source == "TLIN" and self.trigger_source == "TIM":
            count = self.sample_count * self.trigger_count
            self.sample_times = [when + self.trigger_delay + k * self.timer
                                 for k in range(count)]
            return
        for _ in range(self.sample_count):
            self.buffer.append(self.chip.hall_voltage(current, self.nplc))
        if len(self.buffer) >= self.sample_count * self.trigger_count:
            self.armed = False

    def _configure(self, args: str, query: bool):
        return f'"{self.function}"' if query else None

    def commands(self):
        return {
            ":READ": self._read,
            ":FETCh": self._fetch,
            ":INITiate[:IMMediate]": self._init,
            ":INITiate:CONTinuous": self._setting("continuous", boolean, lambda v: str(int(v))),
            ":MEASure:VOLTage[:DC]": self._read,
            ":CONFigure[:VOLTage][:DC]": self._configure,
            "[:SENSe]:FUNCtion": self._configure,
            "[:SENSe]:VOLTage[:DC]:NPLCycles": self._setting(
                "nplc", lambda a: number(a, 0.01, 10), fmt),
            "[:SENSe]:VOLTage[:DC]:RANGe:AUTO": self._setting(
                "auto_range", boolean, lambda v: str(int(v))),
            "[:SENSe]:VOLTage[:DC]:RANGe[:UPPer]": self._setting(
                "volt_range", lambda a: number(a, 0, 1010), fmt),
            "[:SENSe]:VOLTage[:DC]:AVERage[:STATe]": self._generic("aver"),
            "[:SENSe]:VOLTage[:DC]:DIGits": self._generic("digits"),
            ":SYSTem:AZERo[:STATe]": self._setting("autozero", boolean, lambda v: str(int(v))),
            ":TRIGger[:SEQuence]:SOURce": self._setting("trigger_source", lambda a: choice(a, {
                "IMMediate": "IMM", "EXTernal": "EXT", "TIMer": "TIM", "MANual": "MAN",
                "BUS": "BUS", "TLINk": "TLIN"})),
            ":TRIGger[:SEQuence]:COUNt": self._setting(
                "trigger_count", lambda a: int(number(a, 1, 9999)), str),
            ":TRIGger[:SEQuence]:DELay": self._setting(
                "trigger_delay", lambda a: number(a, 0, 999999.999), fmt),
            ":TRIGger[:SEQuence]:TIMer": self._setting(
                "timer", lambda a: number(a, 1e-3, 999999.999), fmt),
            ":ARM[:SEQuence][:LAYer]:SOURce": self._setting("arm_source", lambda a: choice(a, {
                "IMMediate": "IMM", "EXTernal": "EXT", "TIMer": "TIM", "MANual": "MAN",
                "BUS": "BUS", "TLINk": "TLIN"})),
            ":SAMPle:COUNt": self._setting(
                "sample_count", lambda a: int(number(a, 1, 1024)), str),
            ":DISPlay:ENABle": self._setting("display", boolean, lambda v: str(int(v))),
            ":SYSTem:REMote": lambda a, q: None,
            ":SYSTem:LOCal": lambda a, q: None,
            ":SYSTem:BEEPer[:STATe]": self._generic("beep"),
            ":TRACe:CLEar": lambda a, q: None,
            ":TRACe:POINts": self._generic("trace_points"),
            ":TRACe:FEED": self._generic("trace_feed"),
            ":TRACe:FEED:CONTrol": self._generic("trace_control"),
            ":STATus:*": lambda a, q: "0" if q else None,
        }

"""Emulator of the Keithley 2182A nanovoltmeter (Model 2182/2182A User's Manual,
2182A-900-01), a third read path for small Hall signals (paper 004 read its devices with a
2182), and the 6221's partner in pulse delta.

Command table: the manual's SCPI reference for what a Hall-voltage reading uses: the
signal-oriented commands (READ?, FETCh?, MEASure:VOLTage?, CONFigure), SENSe (function,
channel, NPLC, per-channel range and auto range, digits, the digital filter: p. 3-8, 1 to
100 conversions, moving or repeating; SENSe:DATA), SYSTem (autozero, front autozero, line
sync, line frequency), the trigger model of the 2000 family (IMMediate, EXTernal, TIMer,
MANual, BUS; trigger count, delay, timer; sample count 1-1024), TRACe (1024 readings),
DISPlay:ENABle and STATus; anything else is -113 "Undefined header". Functions: DC volts
(wired to the Hall bar) and temperature (a thermocouple input the lab does not wire: a
settings conflict). Channel 1 ranges 10 mV-100 V (RANGe 0-120), channel 2 100 mV-10 V
(RANGe 0-12).

Pulse delta (6221 User's Manual section 5; 2182A User's Manual Appendix I): the 6221 sets
the 2182A up over RS-232 and triggers one A/D conversion per pulse through the trigger
link; :meth:`pulse_conversion` is that conversion.

Timing and noise: the stored pages give neither the 2182A's reading rates nor its noise;
*stated*: a conversion lasts its integration (N PLC at the line frequency) plus a second
integration when front autozero is on (the front autozero reference phase) plus 1 ms, and
its noise is 10 nV rms at 1 PLC on the Hall bar's signal, falling as 1 / sqrt(NPLC) (the
order of magnitude of a nanovoltmeter, 20x below the 2000's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import instruments.scpi as scpi
from simulators.lab.base import LabInstrument
from simulators.lab.strict import Refused, boolean, choice, number
from simulators.lab.units import nominal_unit

if TYPE_CHECKING:
    from simulators.lab.k6221 import Keithley6221Emulator

NOISE = 10e-9  # V rms at 1 PLC, stated
OVERHEAD = 1e-3  # s per conversion, stated
BUFFER_SIZE = 1024  # TRACe:POINts 2-1024, SAMPle:COUNt 1-1024
TRIGGER_COUNT_MAX = 9999
SOURCES = {"IMMediate": "IMM", "EXTernal": "EXT", "TIMer": "TIM", "MANual": "MAN", "BUS": "BUS"}
RANGES = {1: (0.01, 0.1, 1.0, 10.0, 100.0), 2: (0.1, 1.0, 10.0)}
RANGE_MAX = {1: 120.0, 2: 12.0}
NPLC_MAX = {60: 60.0, 50: 50.0}  # NPLC 0.01-60 at 60 Hz, 0.01-50 at 50 Hz (1 s)


def _fmt(value: float) -> str:
    return f"{value:+.9E}"


def _function_name(args: str) -> str:
    """:FUNCtion 'VOLTage[:DC]' | 'TEMPerature' (string data, nodes short or long)."""
    items = scpi.data_list(args) if args else ()
    if len(items) == 1 and items[0].kind == "string":
        nodes = tuple(items[0].word.strip().upper().lstrip(":").split(":"))
        for spec, name in (("VOLTage[:DC]", "VOLT:DC"), ("TEMPerature", "TEMP")):
            if scpi.header_matches(spec, nodes):
                return name
        raise Refused(-141)
    return choice(args, {"VOLTage[:DC]": "VOLT:DC", "TEMPerature": "TEMP"})


class Keithley2182AEmulator(LabInstrument):
    """Reads the Hall voltage of the routed device with the paired 6221's current."""

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2182A,1234567,C02  /A02  "
    source: Keithley6221Emulator | None = None
    unit = nominal_unit("2182A")

    def __init__(self, chip, clock, seed: int = 2182) -> None:
        self._noise = np.random.default_rng(seed)
        super().__init__(chip, clock)

    def reset(self) -> None:
        """*RST defaults: DC volts on channel 1, 5 PLC, auto range, 8 digits, filter off,
        autozero, front autozero and line sync on, one-shot, immediate trigger."""
        self.function, self.channel = "VOLT:DC", 1
        self.nplc = 5.0
        self.ranges = {1: 120.0, 2: 12.0}
        self.auto_range = {1: True, 2: True}
        self.digits = 8
        self.average, self.average_control, self.average_count = False, "MOV", 10
        self.autozero = self.front_autozero = self.line_sync = True
        self.display = True
        self.continuous = False
        self.trigger_source, self.trigger_count, self.trigger_delay = "IMM", 1, 0.0
        self.timer, self.sample_count = 0.1, 1
        self.trace_points, self.trace_feed, self.trace_control = 100, "SENS", "NEV"
        self.trace: list[float] = []
        self.readings: list[float] = []
        self.fresh = False

    # -- conversions ---------------------------------------------------------------------
    def _volts(self, current: float, nplc: float) -> float:
        """The Hall voltage for ``current`` as the chip gives it, the 2000's read noise
        taken out (an integration of 10^12 PLC), and this meter's own noise."""
        clean = self.chip.hall_voltage(current, 1e12)
        return clean + NOISE / np.sqrt(max(nplc, 1e-4)) * float(self._noise.standard_normal())

    def conversion_time(self) -> float:
        """One conversion (s) on this unit's timebase: N PLC at the line frequency,
        twice when front autozero is on, plus 1 ms (stated figures: module docstring)."""
        integration = self.nplc / self.clock.line_frequency
        return self.unit.seconds(integration * (2 if self.front_autozero else 1) + OVERHEAD)

    def pulse_conversion(self, current: float, aperture: float) -> float:
        """One A/D conversion the 6221 triggers in pulse delta, integrating ``aperture``
        seconds of the pulse."""
        return self._volts(current, aperture * self.clock.line_frequency)

    def _measure_now(self) -> None:
        if self.function != "VOLT:DC":
            raise Refused(-221, "the thermocouple input is not wired")
        self.clock.advance(self.unit.seconds(self.trigger_delay))
        current = self.source.flowing() if self.source is not None else 0.0
        count = self.average_count if self.average else 1
        values = []
        for _ in range(count):
            if self.source is not None:
                self.source._flush()
            self.clock.advance(self.conversion_time())
            values.append(self._volts(current, self.nplc))
        self._store(float(np.mean(values)))

    def _store(self, value: float) -> None:
        self.readings.append(value)
        self.fresh = True
        if self.trace_control == "NEXT":
            self.trace.append(value)
            if len(self.trace) >= self.trace_points:
                self.trace_control = "NEV"

    def _start(self) -> None:
        self.readings = []
        self.fresh = False
        if self.trigger_source != "IMM" and self.trigger_source != "TIM":
            raise Refused(-221, "waits for a trigger this lab does not give")
        if self.trigger_count * self.sample_count > BUFFER_SIZE:
            raise Refused(-221, "readings beyond the 1024-reading memory")
        for k in range(self.trigger_count):
            start = self.clock.seconds
            for _ in range(self.sample_count):
                self._measure_now()
            if self.trigger_source == "TIM" and k + 1 < self.trigger_count:
                self.clock.until(start + self.unit.seconds(self.timer))

    # -- commands ------------------------------------------------------------------------
    def _read(self) -> str:
        if self.continuous:
            raise Refused(-213)
        self._start()
        return self._fetch()

    def _fetch(self) -> str:
        if not self.readings:
            raise Refused(-230)
        return ",".join(_fmt(v) for v in self.readings)

    def _data(self, fresh: bool):
        def answer() -> str | None:
            if self.continuous:
                self._measure_now()
            if fresh and not self.fresh:
                return None  # waits for a reading that never comes: the query times out
            if not self.readings:
                raise Refused(-230)
            if fresh:
                self.fresh = False
            return _fmt(self.readings[-1])

        return self._query_only(answer)

    def _function(self, unit: scpi.Unit) -> str | None:
        if unit.query:
            return f'"{self.function}"'
        self.function = self._one(unit, lambda d: _function_name(d))
        return None

    def _range(self, channel: int):
        ranges, high = RANGES[channel], RANGE_MAX[channel]

        def handler(unit: scpi.Unit) -> str | None:
            if unit.query:
                return _fmt(self.ranges[channel])
            value = abs(self._one(unit, lambda d: number(d, -high, high)))
            self.ranges[channel] = next(r for r in ranges if value <= 1.2 * r)
            self.auto_range[channel] = False
            return None

        return handler

    def _auto_range(self, channel: int):
        def handler(unit: scpi.Unit) -> str | None:
            if unit.query:
                return str(int(self.auto_range[channel]))
            self.auto_range[channel] = self._one(unit, boolean)
            return None

        return handler

    def _nplc(self, text) -> float:
        return number(text, 0.01, NPLC_MAX.get(int(self.clock.line_frequency), 60.0),
                      default=5.0)

    def _count(self, text) -> int:
        return int(number(text, 1, TRIGGER_COUNT_MAX, default=1))

    def commands(self):
        # the driver's read path uses SENSe NPLCycles, SYSTem AZERo and LFRequency, READ?
        # (measurement queries: User's Manual Appendix H), the trigger model and TRACe
        # (section 7, "SCPI programming - triggering"); a header not below is -113
        s, onoff = self._setting, (lambda v: str(int(v)))
        sense = "[:SENSe[1]]"
        volt = sense + ":VOLTage[:DC]"
        status = self._status_register()
        return {
            ":READ": self._query_only(self._read),
            ":FETCh": self._query_only(self._fetch),
            ":MEASure:VOLTage[:DC]": self._query_only(
                lambda: (setattr(self, "function", "VOLT:DC"), self._read())[1]),
            ":CONFigure:VOLTage[:DC]": self._command_only(
                lambda u: setattr(self, "function", "VOLT:DC")),
            ":INITiate[:IMMediate]": self._command_only(lambda u: self._start()),
            ":INITiate:CONTinuous": s("continuous", boolean, onoff),
            ":ABORt": self._event(lambda: None),
            sense + ":FUNCtion": self._function,
            sense + ":CHANnel": s("channel", lambda a: int(number(a, 0, 2, default=1)), str),
            volt + ":NPLCycles": s("nplc", self._nplc, _fmt),
            volt + ":CHANnel1:RANGe[:UPPer]": self._range(1),
            volt + ":CHANnel1:RANGe:AUTO": self._auto_range(1),
            volt + ":CHANnel2:RANGe[:UPPer]": self._range(2),
            volt + ":CHANnel2:RANGe:AUTO": self._auto_range(2),
            volt + ":DIGits": s("digits", lambda a: int(number(a, 4, 8, default=8)), str),
            volt + ":DFILter[:STATe]": s("average", boolean, onoff),
            volt + ":DFILter:TCONtrol": s("average_control", lambda a: choice(
                a, {"MOVing": "MOV", "REPeat": "REP"})),
            volt + ":DFILter:COUNt": s("average_count", lambda a: int(number(
                a, 1, 100, default=10)), str),
            sense + ":DATA[:LATest]": self._data(fresh=False),
            sense + ":DATA:FRESh": self._data(fresh=True),
            ":SYSTem:AZERo[:STATe]": s("autozero", boolean, onoff),
            ":SYSTem:FAZero[:STATe]": s("front_autozero", boolean, onoff),
            ":SYSTem:LSYNc[:STATe]": s("line_sync", boolean, onoff),
            ":SYSTem:LFRequency": self._query_only(lambda: str(int(self.clock.line_frequency))),
            ":TRIGger[:SEQuence]:SOURce": s("trigger_source", lambda a: choice(a, SOURCES)),
            ":TRIGger[:SEQuence]:COUNt": s("trigger_count", self._count, str),
            ":TRIGger[:SEQuence]:DELay": s("trigger_delay", lambda a: number(
                a, 0, 99999.999, default=0.0), _fmt),
            ":TRIGger[:SEQuence]:TIMer": s("timer", lambda a: number(
                a, 1e-3, 999999.999, default=0.1), _fmt),
            ":SAMPle:COUNt": s("sample_count", lambda a: int(number(
                a, 1, BUFFER_SIZE, default=1)), str),
            ":TRACe:POINts": s("trace_points", lambda a: int(number(a, 2, BUFFER_SIZE)), str),
            ":TRACe:CLEar": self._event(lambda: self.trace.clear()),
            ":TRACe:FEED": s("trace_feed", lambda a: choice(
                a, {"SENSe[1]": "SENS", "CALCulate[1]": "CALC", "NONE": "NONE"})),
            ":TRACe:FEED:CONTrol": s("trace_control", lambda a: choice(
                a, {"NEXT": "NEXT", "NEVer": "NEV"})),
            ":TRACe:DATA": self._query_only(lambda: ",".join(_fmt(v) for v in self.trace)),
            ":DISPlay:ENABle": s("display", boolean, onoff),
            ":STATus:MEASurement[:EVENt]": status, ":STATus:OPERation[:EVENt]": status,
            ":STATus:QUEStionable[:EVENt]": status, ":STATus:PRESet": self._event(lambda: None),
            ":STATus:QUEue:CLEar": self._event(self.errors.clear),
        }

"""Emulator of the Keithley 2000 multimeter (Model 2000 User's Manual, 2000-900-01).

Command table: the manual's SCPI reference (section 5: signal-oriented commands, SENSe,
SYSTem, TRACe, TRIGger, SAMPle, FORMat, DISPlay, STATus tables) for what a Hall-voltage
measurement uses; anything else is -113 "Undefined header". The trigger model is the one of
section 4, Fig. 4-11 (remote operation): idle -> control source (IMMediate, EXTernal,
TIMer, MANual, BUS; no TLINk source and no arm layer) -> delay -> device action (one
reading) -> output trigger -> another sample? (the sample counter loops back to the delay,
bypassing the control source) -> another trigger? (back to the control source).
EXTernal is the EXT TRIG input of the trigger link (or *TRG / GET over the bus).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulators.lab.base import LabInstrument
from simulators.lab.strict import ScpiError, boolean, choice, number
from simulators.lab.units import K2000Times, nominal_unit

if TYPE_CHECKING:
    from simulators.lab.k6221 import Keithley6221Emulator

BUFFER_SIZE = 1024  # TRACe:POINts 2-1024, SAMPle:COUNt 1-1024 (section 5, TRACe / SAMPle)
TRIGGER_COUNT_MAX = 9999  # TRIGger:COUNt 1-9999 or INF (section 5, Trigger subsystem)
SOURCES = {"IMMediate": "IMM", "EXTernal": "EXT", "TIMer": "TIM", "MANual": "MAN", "BUS": "BUS"}
# FORMat subsystem (section 5, Table 5-4 and ":FORMat subsystem", pp. 5-28 to 5-31): the
# format of readings sent over the bus (FETCh?, READ?, TRACe:DATA?); every other reply
# stays ASCII. Binary: IEEE-754 single (SREal, 32 bits) or double (DREal, 64 bits), each
# reading conversion preceded by a 2-byte header, the ASCII characters "#0" (Fig. 5-2,
# Fig. 5-3); NORMal byte order sends the sign/exponent byte first, SWAPped the reverse
# (the header is never swapped). ELEMents READing, CHANnel, UNITs: units exist in ASCII
# only; the query lists READ,CHAN,UNIT with empty places for elements off ("READ,,", as
# the Model 2700 manual describes the 2000's answer).
FORMATS = {"ASCii": "ASC", "SREal": "SRE", "DREal": "DRE"}
BINARY_BYTES = {"SRE": 4, "DRE": 8}
BLOCK_HEADER = b"#0"
BYTE_ORDERS = {"NORMal": "NORM", "SWAPped": "SWAP"}
ELEMENTS = {"READing": "READ", "CHANnel": "CHAN", "UNITs": "UNIT"}


TIMER_MIN = 1e-3  # s, TRIGger:TIMer from 1 ms (section 5, Trigger subsystem)
# What each operation costs: simulators/lab/units.py (K2000Times), from the Model 2000
# data sheet's reading rates (60 Hz figures; at 50 Hz an integration of N PLC is N x 20 ms),
# per unit drawn by serial number.


def _fmt(value: float) -> str:
    """The 2000's ASCII reading (FORMat:DATA ASCii, ELEMents READing): sign, 8 decimals."""
    return f"{value:+.8E}"


def _count(args: str, high: int) -> int:
    text = args.strip().upper()
    if text in ("INF", "INFINITY"):
        return -1  # infinite (TRIGger:COUNt INF)
    return int(number(args, 1, high))


class Keithley2000Emulator(LabInstrument):
    """Reads the Hall voltage of the routed device with the 6221's current flowing."""

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2000,1234567,A20  /A02  "
    source: Keithley6221Emulator | None = None
    unit = nominal_unit("2000")  # the virtual lab gives each instrument its drawn unit

    @property
    def times(self) -> K2000Times:
        return K2000Times(self.unit, self.clock.line_frequency)

    def reset(self) -> None:
        """*RST defaults (section 5, Table 5-2 and the subsystem tables, *RST column)."""
        self.function = "VOLT:DC"
        self.nplc = 1.0
        self.autozero = True
        self.auto_range = True
        self.volt_range = 1000.0
        self.digits = 7
        self.average = False
        self.trigger_source = "IMM"
        self.trigger_count = 1
        self.trigger_delay = 0.0
        self.delay_auto = True
        self.timer = 0.1
        self.sample_count = 1
        self.continuous = False  # *RST: one-shot (SYSTem:PRESet turns it on)
        self.display = True
        self.beeper = True
        self.format = "ASC"  # Table 5-4, *RST: ASCii
        self.byte_order = "SWAP"  # Table 5-4, *RST: SWAPped
        self.elements = ("READ",)  # Table 5-4, *RST: READing
        self.trace_points = 100
        self.trace_feed = "SENS"
        self.trace_control = "NEV"
        self.trace: list[float] = []
        self.readings: list[float] = []
        self.waiting = False  # in the trigger model, waiting at the control source
        self.triggers_left = 0
        self.ready_at = 0.0  # when the 2000 is back at the control source
        self.missed_triggers = 0  # triggers that came too soon (ignored: no reading)
        self._pending: list[list[float]] = []  # [start, end, charge] of integrations running

    # -- the device action --------------------------------------------------------------
    def _delay(self) -> float:
        return 0.0 if self.delay_auto else self.trigger_delay

    def _store(self, value: float) -> None:
        self.readings.append(value)
        if self.trace_control == "NEXT" and self.trace_feed == "SENS":
            self.trace.append(value)
            if len(self.trace) >= self.trace_points:
                self.trace_control = "NEV"  # buffer full: storage stops (TRACe:FEED:CONTrol)

    def _measure_now(self) -> None:
        """One delay + device action now, with the 6221's DC current flowing."""
        self.clock.advance(self.times.delay(self._delay()))
        current = self.source.flowing() if self.source is not None else 0.0
        if self.source is not None:
            self.source._flush()
        self.clock.advance(self.times.reading(self.nplc, self.autozero))
        if self.source is not None:
            self.source._flush()  # the read current flowed during the integration
        self._store(self.chip.hall_voltage(current, self.nplc))

    def _start(self) -> None:
        """Leave idle (INITiate): immediate and timer sources run now; external and bus
        sources wait at the control source for their triggers."""
        self.readings = []
        self._pending = []
        self.triggers_left = self.trigger_count
        if self.trigger_source in ("EXT", "BUS", "MAN"):
            self.waiting = True
            self.ready_at = self.clock.seconds
            return
        if self.trigger_count < 0 or self.sample_count * self.trigger_count > BUFFER_SIZE:
            raise ScpiError(-221, "readings beyond the 1024-reading memory")
        for k in range(self.trigger_count):
            start = self.clock.seconds
            for _ in range(self.sample_count):
                self._measure_now()
            if self.trigger_source == "TIM" and k + 1 < self.trigger_count:
                self.clock.until(start + self.times.delay(max(self.timer, TIMER_MIN)))

    # -- triggers --------------------------------------------------------------------
    def external_trigger(self, when: float) -> None:
        """A pulse on EXT TRIG (from the 6221's trigger link) at virtual time ``when``.

        Event detection happens only while operation waits at the control source (Fig.
        4-11); a trigger that arrives during the delay or device action of the previous one,
        or sooner than the maximum external trigger rate allows, finds no control source
        waiting and is lost: no reading (``missed_triggers`` counts them)."""
        if not self.waiting or self.trigger_source != "EXT":
            return
        self._accept_trigger(when)

    def _accept_trigger(self, when: float) -> None:
        t = self.times
        if when < self.ready_at - 1e-12:
            self.missed_triggers += 1
            return
        integration = t.integration(self.nplc)
        reading = t.reading(self.nplc, self.autozero)
        delay = t.delay(self._delay())
        begin = when + t.latency(self.autozero)
        for k in range(self.sample_count):
            start = begin + (k + 1) * delay + k * reading
            self._pending.append([start, start + integration, 0.0])
        end = begin + self.sample_count * (delay + reading)
        self.ready_at = max(end, when + t.external_interval())
        if self.triggers_left > 0:
            self.triggers_left -= 1
            if self.triggers_left == 0:
                self.waiting = False

    def observe(self, start: float, end: float, current: float) -> None:
        """The 6221 drives ``current`` over [start, end): integrations running then see it;
        each finished integration becomes a reading (its mean current times R_AHE)."""
        pending = self._pending  # in time order, one integration after the other
        while pending and pending[0][1] <= start:
            self._finish(pending.pop(0))  # ended before this point began (no current)
        for window in pending:
            if window[0] >= end:
                break
            window[2] += current * (min(end, window[1]) - max(start, window[0]))
        while pending and pending[0][1] <= end + 1e-15:
            self._finish(pending.pop(0))

    def _finish(self, window: list[float]) -> None:
        mean = window[2] / (window[1] - window[0])
        self._store(self.chip.hall_voltage(mean, self.nplc))

    def settle(self) -> None:
        """Integrations still running when the 6221's waveform ends see the DC level."""
        if self._pending:
            current = self.source.flowing() if self.source is not None else 0.0
            self.observe(self.clock.seconds, max(w[1] for w in self._pending), current)

    def bus_trigger(self) -> None:
        if self.waiting and self.trigger_source in ("EXT", "BUS"):
            self._accept_trigger(self.clock.seconds)
            self.clock.until(self.ready_at)
            self.settle()

    def operation_complete(self) -> None:
        self.settle()

    # -- commands ---------------------------------------------------------------------
    def _initiate(self, args: str, query: bool):
        if query:
            raise ScpiError(-113, "INIT?")
        if self.waiting:
            raise ScpiError(-213, "already initiated")
        self._start()
        return None

    def _abort(self, args: str, query: bool):
        self.settle()
        self.waiting = False
        self.triggers_left = 0
        return None

    def _read(self, args: str, query: bool):
        """READ? = ABORt, INITiate, FETCh? (section 5, signal-oriented commands). With the
        external or bus source the reading never comes: the query times out, as on the
        bench."""
        if self.continuous:
            raise ScpiError(-213, "READ? with continuous initiation on")
        self._abort("", False)
        self._start()
        if self.waiting:
            return None
        return self._fetch("", True)

    def _fetch(self, args: str, query: bool):
        if not query:
            raise ScpiError(-113, "FETC")
        self.settle()
        if not self.readings:
            raise ScpiError(-230, "no reading to fetch")
        return self._reading_data(self.readings)

    def _trace_data(self, args: str, query: bool):
        if not query:
            raise ScpiError(-113, "TRAC:DATA")
        self.settle()
        return self._reading_data(self.trace)

    def binary_layout(self) -> np.dtype | None:
        """The record of one reading conversion in the binary formats (None in ASCII)."""
        if self.format == "ASC":
            return None
        order = ">" if self.byte_order == "NORM" else "<"
        value = f"{order}f{BINARY_BYTES[self.format]}"
        fields = [("header", "S2"), ("reading", value)]
        if "CHAN" in self.elements:
            fields.append(("channel", value))
        return np.dtype(fields)

    def _reading_data(self, values: list[float]) -> str | bytes:
        """Readings as the FORMat settings send them (section 5, :FORMat subsystem)."""
        layout = self.binary_layout()
        if layout is None:
            units = "VDC" if "UNIT" in self.elements else ""
            channel = ("," + "0" + ("INTCHAN" if units else "")) if "CHAN" in self.elements \
                else ""  # Fig. 5-1: 0 = no channel (no scanner card)
            return ",".join(_fmt(v) + units + channel for v in values)
        records = np.zeros(len(values), dtype=layout)
        records["header"] = BLOCK_HEADER
        records["reading"] = values
        return records.tobytes()

    def _elements(self, args: str, query: bool):
        if query:
            return ",".join(e if e in self.elements else "" for e in ELEMENTS.values())
        chosen = {choice(item, ELEMENTS) for item in args.split(",")}
        self.elements = tuple(e for e in ELEMENTS.values() if e in chosen)  # sent in order
        return None

    def _trace_clear(self, args: str, query: bool):
        if self.trace_control == "NEXT" and self.waiting:
            raise ScpiError(-221, "buffer storing")
        self.trace = []
        return None

    def _trace_free(self, args: str, query: bool):
        used = 16 * len(self.trace)
        return f"{16 * BUFFER_SIZE - used},{used}"

    def _function(self, args: str, query: bool):
        if query:
            return f'"{self.function}"'
        name = choice(args, {"VOLTage[:DC]": "VOLT:DC", "VOLTage:AC": "VOLT:AC",
                             "CURRent[:DC]": "CURR:DC", "CURRent:AC": "CURR:AC",
                             "RESistance": "RES", "FRESistance": "FRES",
                             "FREQuency": "FREQ", "PERiod": "PER", "TEMPerature": "TEMP",
                             "DIODe": "DIOD", "CONTinuity": "CONT"})
        if name != "VOLT:DC":
            raise ScpiError(-221, f"{name}: only DC volts are wired to the Hall bar")
        self._change_function(name)
        return None

    def _change_function(self, name: str) -> None:
        if name != self.function:
            self.clock.advance(self.times.function_change)
        self.function = name

    def _configure(self, args: str, query: bool):
        if query:
            return f'"{self.function}"'
        self._change_function("VOLT:DC")
        return None

    def _range(self, args: str, query: bool):
        if query:
            return _fmt(self.volt_range)
        value = number(args, 0, 1010)
        upper = next(r for r in (0.1, 1.0, 10.0, 100.0, 1000.0) if value <= r * 1.01)
        if upper != self.volt_range:
            self.clock.advance(self.times.range_change)
        self.volt_range = upper
        self.auto_range = False
        return None

    def _measure(self, args: str, query: bool):
        if not query:
            raise ScpiError(-113, "MEAS")
        self._change_function("VOLT:DC")
        return self._read(args, query)

    def commands(self):
        onoff = lambda v: str(int(v))  # noqa: E731
        return {
            # signal-oriented commands (section 5)
            ":READ": self._read,
            ":FETCh": self._fetch,
            ":MEASure:VOLTage[:DC]": self._measure,
            ":CONFigure:VOLTage[:DC]": self._configure,
            ":CONFigure": self._configure,
            # trigger model (section 4 Fig. 4-11; section 5 Trigger subsystem)
            ":INITiate[:IMMediate]": self._initiate,
            ":INITiate:CONTinuous": self._setting("continuous", boolean, onoff),
            ":ABORt": self._abort,
            ":TRIGger[:SEQuence]:SOURce": self._setting(
                "trigger_source", lambda a: choice(a, SOURCES)),
            ":TRIGger[:SEQuence]:COUNt": self._setting(
                "trigger_count", lambda a: _count(a, TRIGGER_COUNT_MAX),
                lambda v: "9.9E37" if v < 0 else str(v)),
            ":TRIGger[:SEQuence]:DELay": self._delay_setting,
            ":TRIGger[:SEQuence]:DELay:AUTO": self._setting("delay_auto", boolean, onoff),
            ":TRIGger[:SEQuence]:TIMer": self._setting(
                "timer", lambda a: number(a, TIMER_MIN, 999999.999, default=0.1), _fmt),
            ":TRIGger[:SEQuence]:SIGNal": lambda a, q: self.bus_trigger(),
            ":SAMPle:COUNt": self._setting(
                "sample_count", lambda a: int(number(a, 1, BUFFER_SIZE, default=1)), str),
            # SENSe (section 5, Table 5-6)
            "[:SENSe]:FUNCtion": self._function,
            "[:SENSe]:VOLTage[:DC]:NPLCycles": self._setting(
                "nplc", lambda a: number(a, 0.01, 10, default=1.0), _fmt),
            "[:SENSe]:VOLTage[:DC]:RANGe[:UPPer]": self._range,
            "[:SENSe]:VOLTage[:DC]:RANGe:AUTO": self._setting("auto_range", boolean, onoff),
            "[:SENSe]:VOLTage[:DC]:DIGits": self._setting(
                "digits", lambda a: int(number(a, 4, 7, default=7)), str),
            "[:SENSe]:VOLTage[:DC]:AVERage[:STATe]": self._setting("average", boolean, onoff),
            # SYSTem (section 5, Table 5-8)
            ":SYSTem:AZERo[:STATe]": self._setting("autozero", boolean, onoff),
            ":SYSTem:BEEPer[:STATe]": self._setting("beeper", boolean, onoff),
            ":SYSTem:LFRequency": lambda a, q: str(int(self.clock.line_frequency)),
            ":SYSTem:VERSion": lambda a, q: "1991.0",
            ":SYSTem:REMote": lambda a, q: None,  # RS-232 only, accepted on any interface
            ":SYSTem:LOCal": lambda a, q: None,
            # TRACe: the 1024-reading buffer (section 5, Table 5-9)
            ":TRACe:CLEar": self._trace_clear,
            ":TRACe:FREE": self._trace_free,
            ":TRACe:POINts": self._setting(
                "trace_points", lambda a: int(number(a, 2, BUFFER_SIZE)), str),
            ":TRACe:FEED": self._setting("trace_feed", lambda a: choice(
                a, {"SENSe[1]": "SENS", "CALCulate[1]": "CALC", "NONE": "NONE"})),
            ":TRACe:FEED:CONTrol": self._setting("trace_control", lambda a: choice(
                a, {"NEXT": "NEXT", "NEVer": "NEV"})),
            ":TRACe:DATA": self._trace_data,
            # FORMat (section 5, Table 5-4): ASCII or IEEE-754 binary readings
            ":FORMat[:DATA]": self._setting("format", lambda a: choice(a, FORMATS)),
            ":FORMat:BORDer": self._setting("byte_order", lambda a: choice(a, BYTE_ORDERS)),
            ":FORMat:ELEMents": self._elements,
            # DISPlay, STATus
            ":DISPlay:ENABle": self._setting("display", boolean, onoff),
            ":STATus:MEASurement[:EVENt]": lambda a, q: "0",
            ":STATus:OPERation[:EVENt]": lambda a, q: "0",
            ":STATus:QUEStionable[:EVENt]": lambda a, q: "0",
            ":STATus:PRESet": lambda a, q: None,
            ":STATus:QUEue:CLEar": lambda a, q: self.errors.clear(),
        }

    def _delay_setting(self, args: str, query: bool):
        if query:
            return _fmt(self.trigger_delay)
        self.trigger_delay = number(args, 0, 999999.999, default=0.0)
        self.delay_auto = False  # a delay sent turns auto delay off (section 5, DELay)
        return None

"""Emulator of the Keithley 2000 multimeter (Model 2000 User's Manual, 2000-900-01).

Command table: the manual's SCPI reference (section 5: signal-oriented commands, SENSe,
SYSTem, TRACe, TRIGger, SAMPle, FORMat, DISPlay, STATus tables) for what a Hall-voltage
measurement uses, CALCulate1-3 (Table 5-2), DISPlay:TEXT (Table 5-3), SYSTem:PRESet and
the ohms functions on the same terminals; anything else is -113 "Undefined header". The
trigger model is the one of section 4, Fig. 4-11 (remote operation): idle -> control
source (IMMediate, EXTernal,
TIMer, MANual, BUS; no TLINk source and no arm layer) -> delay -> device action (one
reading) -> output trigger -> another sample? (the sample counter loops back to the delay,
bypassing the control source) -> another trigger? (back to the control source).
EXTernal is the EXT TRIG input of the trigger link (or *TRG / GET over the bus).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

import instruments.scpi as scpi
from simulators.lab.base import LabInstrument
from simulators.lab.strict import Refused, ScpiError, boolean, choice, number
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

# Functions (section 5, SENSe subsystem, :FUNCtion <name>): every one the 2000 has is a word
# it knows; the Hall bar is wired to DC volts and, through the same terminals, to the two
# resistance functions. Each function keeps its own NPLC, range, digits and filter (the
# SENSe table lists them per function: [:SENSe[1]]:<function>:NPLCycles ...).
FUNCTIONS = {"VOLTage[:DC]": "VOLT:DC", "VOLTage:AC": "VOLT:AC", "CURRent[:DC]": "CURR:DC",
             "CURRent:AC": "CURR:AC", "RESistance": "RES", "FRESistance": "FRES",
             "FREQuency": "FREQ", "PERiod": "PER", "TEMPerature": "TEMP", "DIODe": "DIOD",
             "CONTinuity": "CONT"}
# Upper range limits of the wired functions (SENSe :RANGe[:UPPer]: DCV 0 to 1010 V on the
# 100 mV-1000 V ranges; ohms 0 to 120 MOhm on the 100 Ohm-100 MOhm ranges) and the test
# current of each ohms range (data sheet, "Resistance": 1 mA on 100 Ohm and 1 kOhm, 100 uA on
# 10 kOhm, 10 uA on 100 kOhm and 1 MOhm, 700 nA above).
RANGES = {"VOLT:DC": (0.1, 1.0, 10.0, 100.0, 1000.0),
          "RES": (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8),
          "FRES": (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)}
RANGE_MAX = {"VOLT:DC": 1010.0, "RES": 120e6, "FRES": 120e6}
TEST_CURRENT = {1e2: 1e-3, 1e3: 1e-3, 1e4: 1e-4, 1e5: 1e-5, 1e6: 1e-5, 1e7: 7e-7, 1e8: 7e-7}
FILTER_COUNT_MAX = 100  # :AVERage:COUNt 1 to 100 (section 5, :AVERage commands, p. 5-46)
FILTER_TYPES = {"REPeat": "REP", "MOVing": "MOV"}
MATH_LIMIT = 100e6  # CALCulate :KMATh factors and CALC3 limits, -100e6 to 100e6 (Table 5-2)
DISPLAY_CHARACTERS = 12  # DISPlay:TEXT:DATA, 12 characters at most (Table 5-3)


@dataclass
class FunctionConfig:
    """One function's own settings, their *RST values (section 5, SENSe table; the filter:
    :AVERage commands, p. 5-46: state OFF, type REPeat, count 10)."""

    upper: float
    nplc: float = 1.0
    auto: bool = True
    digits: int = 7
    average: bool = False
    tcontrol: str = "REP"
    count: int = 10


@dataclass
class MathSettings:
    """CALCulate1 (mX+b, percent), CALCulate2 (statistics of the buffer) and CALCulate3
    (limit test), their *RST values (section 5, Table 5-2)."""

    format: str = "PERC"
    m: float = 1.0
    b: float = 0.0
    percent: float = 1.0
    state: bool = False
    statistic: str = "MEAN"
    statistic_on: bool = False
    statistic_result: float | None = None
    upper: float = 1.0
    lower: float = -1.0
    limit_on: bool = False
    failed: list[bool] = field(default_factory=list)

    def apply(self, reading: float) -> float:
        """CALC1: mX+b or percent (X / target x 100) when its state is on."""
        if not self.state or self.format == "NONE":
            return reading
        if self.format == "MXB":
            return self.m * reading + self.b
        return reading / self.percent * 100.0 if self.percent else 9.9e37
# What each operation costs: simulators/lab/units.py (K2000Times), from the Model 2000
# data sheet's reading rates (60 Hz figures; at 50 Hz an integration of N PLC is N x 20 ms),
# per unit drawn by serial number.


def _fmt(value: float) -> str:
    """The 2000's ASCII reading (FORMat:DATA ASCii, ELEMents READing): sign, 8 decimals."""
    return f"{value:+.8E}"


def _function_name(args: str) -> str:
    """:FUNCtion <name>: the function as string data, 'VOLTage:DC' (section 5, SENSe
    :FUNCtion), its nodes in the manual's short or long form; as character data too."""
    items = scpi.data_list(args) if args else ()
    if len(items) == 1 and items[0].kind == "string":
        nodes = tuple(items[0].word.strip().upper().lstrip(":").split(":"))
        for spec, name in FUNCTIONS.items():
            if scpi.header_matches(spec, nodes):
                return name
        raise ScpiError(-141, f"{items[0].word!r} is no function of the 2000")
    return choice(args, FUNCTIONS)


def math_number(args: str) -> float:
    """A CALCulate constant or limit, within the range the 2000 keeps (MATH_LIMIT)."""
    return number(args, -MATH_LIMIT, MATH_LIMIT)


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
        """What this unit's operations take (``K2000Times``: its drawn timebase and
        overheads, at the lab's line frequency): every cost the emulator charges comes from here."""
        return K2000Times(self.unit, self.clock.line_frequency)

    def reset(self) -> None:
        """*RST defaults (section 5, Table 5-2 and the subsystem tables, *RST column)."""
        self.function = "VOLT:DC"
        self.configs = {name: FunctionConfig(upper=RANGES[name][-1]) for name in RANGES}
        self.autozero = True
        self.trigger_source = "IMM"
        self.trigger_count = 1
        self.trigger_delay = 0.0
        self.delay_auto = True
        self.timer = 0.1
        self.sample_count = 1
        self.continuous = False  # *RST: one-shot (SYSTem:PRESet turns it on)
        self.display = True
        self.display_text = ""  # DISPlay:TEXT:DATA, *RST "" and STATe OFF (Table 5-3)
        self.display_text_on = False
        self.beeper = True
        self.math = MathSettings()  # CALCulate1-3 (Table 5-2), their *RST values
        self.stack: list[float] = []  # the moving filter's stack of conversions
        self.fresh = False  # a reading not yet returned by SENSe:DATA:FRESh?
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

    @property
    def config(self) -> FunctionConfig:
        """The present function's own settings (range, NPLC, digits, filter): each
        function keeps its own, as the 2000 does (section 5, SENSe)."""
        return self.configs[self.function]

    @property
    def nplc(self) -> float:
        """The present function's integration time in power-line cycles."""
        return self.config.nplc

    def _store(self, value: float) -> None:
        self.readings.append(value)
        self.fresh = True
        calculated = self.math.apply(value)
        if self.math.limit_on:  # CALC3 tests the CALC1 result (Table 5-2)
            self.math.failed.append(not self.math.lower <= calculated <= self.math.upper)
        feed = {"SENS": value, "CALC": calculated}.get(self.trace_feed)
        if self.trace_control == "NEXT" and feed is not None:
            self.trace.append(feed)
            if len(self.trace) >= self.trace_points:
                self.trace_control = "NEV"  # buffer full: storage stops (TRACe:FEED:CONTrol)

    def _sample(self, current: float) -> float:
        """One conversion of the present function: the Hall voltage for the 6221's current,
        or, in ohms, the Hall terminals' voltage over the range's test current (what the
        chip model gives; the test current's torque on the device is not modelled)."""
        if self.function == "VOLT:DC":
            return self.chip.hall_voltage(current, self.nplc)
        upper = self.config.upper
        if self.config.auto:  # auto range: the lowest range that holds the reading
            estimate = abs(self.chip.hall_resistance())
            upper = next((r for r in RANGES[self.function] if estimate <= 1.2 * r), upper)
        test = TEST_CURRENT[upper]
        return self.chip.hall_voltage(test, self.nplc) / test

    def _conversions(self, pending: int = 0) -> int:
        """Conversions behind the next reading (section 3, "Filter", Fig. 3-1): one with the
        filter off; the repeating filter fills its stack anew for every reading; the moving
        filter fills it once, then adds one conversion a reading. ``pending``: conversions
        already scheduled that will enter the stack first."""
        config = self.config
        if not config.average:
            return 1
        if config.tcontrol == "REP":
            return config.count
        return max(1, config.count - min(config.count, len(self.stack) + pending))

    def _convert(self, value: float, last: bool) -> None:
        """A conversion into the filter; the reading when it completes one."""
        config = self.config
        if not config.average:
            self._store(value)
            return
        self.stack = (self.stack + [value])[-config.count:]
        if last:
            self._store(float(np.mean(self.stack)))
            if config.tcontrol == "REP":
                self.stack = []

    def _measure_now(self) -> None:
        """One delay + device action now, with the 6221's DC current flowing."""
        self.clock.advance(self.times.delay(self._delay()))
        count = self._conversions()
        for k in range(count):
            current = self.source.flowing() if self.source is not None else 0.0
            if self.source is not None:
                self.source._flush()
            self.clock.advance(self.times.reading(self.nplc, self.autozero))
            if self.source is not None:
                self.source._flush()  # the read current flowed during the integration
            self._convert(self._sample(current), k == count - 1)

    def _start(self) -> None:
        """Leave idle (INITiate): immediate and timer sources run now; external and bus
        sources wait at the control source for their triggers."""
        self.readings = []
        self._pending = []
        self.stack = []
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
        end = when + t.latency(self.autozero)
        pending = len(self._pending)
        for _ in range(self.sample_count):
            end += delay
            count = self._conversions(pending)
            for k in range(count):  # [start, end, charge, completes a reading]
                self._pending.append([end, end + integration, 0.0, k == count - 1])
                end += reading
            pending += count
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

    def _finish(self, window: list) -> None:
        mean = window[2] / (window[1] - window[0])
        self._convert(self._sample(mean), window[3])

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
        name = _function_name(args)
        if name not in RANGES:
            raise ScpiError(-221, f"{name}: only DC volts and ohms are wired to the Hall bar")
        self._change_function(name)
        return None

    def _change_function(self, name: str) -> None:
        if name != self.function:
            self.clock.advance(self.times.function_change)
            self.stack = []
        self.function = name

    def _configure(self, name: str | None):
        """:CONFigure[:<function>]: the function with its *RST settings; the query names
        the function (section 5, signal-oriented commands)."""

        def handler(args: str, query: bool):
            if query:
                if name is not None:
                    raise ScpiError(-113, "CONF:<function>?")
                return f'"{self.function}"'
            if name is not None:
                self._change_function(name)
                self.configs[name] = FunctionConfig(upper=RANGES[name][-1])
            return None

        return handler

    def _per_function(self, name: str, key: str, parse, show):
        """One function's own setting ([:SENSe[1]]:<function>:<setting>)."""

        def handler(args: str, query: bool):
            config = self.configs[name]
            if query and args:  # "? MINimum|MAXimum|DEFault": the value it stands for
                if scpi.data_list(args)[0].kind != "char":
                    raise Refused(-108)
                return show(parse(args))
            if query:
                return show(getattr(config, key))
            setattr(config, key, parse(args))
            if name == self.function:
                self.stack = []  # a new filter setting restarts the filter
            return None

        return handler

    def _range(self, name: str):
        ranges, high = RANGES[name], RANGE_MAX[name]

        def handler(args: str, query: bool):
            config = self.configs[name]
            if query:
                return _fmt(config.upper)
            value = number(args, 0, high)
            upper = next(r for r in ranges if value <= r * high / ranges[-1])
            if upper != config.upper and name == self.function:
                self.clock.advance(self.times.range_change)
            config.upper, config.auto = upper, False
            return None

        return handler

    def _measure(self, name: str):
        def handler(args: str, query: bool):
            if not query:
                raise ScpiError(-113, "MEAS")
            self._configure(name)("", False)
            return self._read(args, query)

        return handler

    # -- SENSe:DATA, CALCulate, DISPlay:TEXT, SYSTem:PRESet ---------------------------
    def _data(self, fresh: bool):
        """[:SENSe[1]]:DATA[:LATest]? the last reading; :DATA:FRESh? a reading not
        returned before, waiting for one (section 5, SENSe subsystem). With continuous
        initiation the 2000 is always measuring: a reading is taken now; otherwise a fresh
        reading that never comes leaves the query unanswered (it times out, as on the
        bench)."""

        def answer() -> str | None:
            self.settle()
            if self.continuous and (fresh or not self.readings):
                self._measure_now()
            if fresh and not self.fresh:
                return None
            if not self.readings:
                raise Refused(-230)
            if fresh:
                self.fresh = False  # only FRESh? consumes a reading
            return _fmt(self.readings[-1])

        return self._query_only(answer)

    def _calc_data(self) -> str:
        self.settle()
        if not self.readings:
            raise Refused(-230)
        return _fmt(self.math.apply(self.readings[-1]))

    def _statistic(self) -> str | None:
        """CALC2:IMMediate: the selected statistic of the buffer's readings (Table 5-2)."""
        self.settle()
        if self.math.statistic == "NONE" or not self.math.statistic_on:
            return None
        if not self.trace:
            raise Refused(-230)
        values = np.asarray(self.trace)
        self.math.statistic_result = float({
            "MEAN": np.mean, "MAX": np.max, "MIN": np.min,
            "SDEV": lambda v: np.std(v, ddof=1) if len(v) > 1 else 0.0}[
                self.math.statistic](values))
        return _fmt(self.math.statistic_result)

    def _statistic_now(self, args: str, query: bool):
        if args:
            raise Refused(-108)
        result = self._statistic()
        return result if query else None

    def _statistic_data(self) -> str:
        if self.math.statistic_result is None:
            raise Refused(-230)
        return _fmt(self.math.statistic_result)

    def _limit_failed(self) -> str:
        """CALC3:LIMit:FAIL? 1 if a reading failed since the test was cleared."""
        self.settle()
        return str(int(any(self.math.failed)))

    def _math(self, key: str, parse, show):
        def handler(args: str, query: bool):
            if query:
                return show(getattr(self.math, key))
            setattr(self.math, key, parse(args))
            return None

        return handler

    def _display_text(self, unit):
        if unit.query:
            return f'"{self.display_text}"'
        data = self._one(unit, lambda d: d)
        if data.kind != "string":
            raise Refused(-104)
        if len(data.word) > DISPLAY_CHARACTERS:
            raise Refused(-223)
        self.display_text = data.word
        return None

    def preset(self) -> None:
        """SYSTem:PRESet: the *RST settings but continuous initiation on and every
        function's filter on, moving (section 5, SYSTem and SENSe tables, :SYST:PRES
        column)."""
        self.reset()
        self.continuous = True
        for config in self.configs.values():
            config.average, config.tcontrol = True, "MOV"

    def commands(self):
        onoff = lambda v: str(int(v))  # noqa: E731
        return {
            # signal-oriented commands (section 5)
            ":READ": self._read,
            ":FETCh": self._fetch,
            ":MEASure:VOLTage[:DC]": self._measure("VOLT:DC"),
            ":MEASure:RESistance": self._measure("RES"),
            ":MEASure:FRESistance": self._measure("FRES"),
            ":CONFigure:VOLTage[:DC]": self._configure("VOLT:DC"),
            ":CONFigure:RESistance": self._configure("RES"),
            ":CONFigure:FRESistance": self._configure("FRES"),
            ":CONFigure": self._configure(None),
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
            "[:SENSe[1]]:DATA[:LATest]": self._data(fresh=False),
            "[:SENSe[1]]:DATA:FRESh": self._data(fresh=True),
            **self._function_commands(),
            # CALCulate1-3 (section 5, Table 5-2)
            ":CALCulate[1]:FORMat": self._math("format", lambda a: choice(
                a, {"NONE": "NONE", "MXB": "MXB", "PERCent": "PERC"}), str),
            ":CALCulate[1]:KMATh:MMFactor": self._math("m", math_number, _fmt),
            ":CALCulate[1]:KMATh:MBFactor": self._math("b", math_number, _fmt),
            ":CALCulate[1]:KMATh:PERCent": self._math("percent", math_number, _fmt),
            ":CALCulate[1]:STATe": self._math("state", boolean, onoff),
            ":CALCulate[1]:DATA": self._query_only(self._calc_data),
            ":CALCulate2:FORMat": self._math("statistic", lambda a: choice(
                a, {"MEAN": "MEAN", "SDEViation": "SDEV", "MAXimum": "MAX",
                    "MINimum": "MIN", "NONE": "NONE"}), str),
            ":CALCulate2:STATe": self._math("statistic_on", boolean, onoff),
            ":CALCulate2:IMMediate": self._statistic_now,
            ":CALCulate2:DATA": self._query_only(self._statistic_data),
            ":CALCulate3:LIMit[1]:UPPer[:DATA]": self._math("upper", math_number, _fmt),
            ":CALCulate3:LIMit[1]:LOWer[:DATA]": self._math("lower", math_number, _fmt),
            ":CALCulate3:LIMit[1]:STATe": self._math("limit_on", boolean, onoff),
            ":CALCulate3:LIMit[1]:FAIL": self._query_only(self._limit_failed),
            ":CALCulate3:LIMit[1]:CLEar[:IMMediate]": self._event(lambda: self.math.failed.clear()),
            # SYSTem (section 5, Table 5-8)
            ":SYSTem:AZERo[:STATe]": self._setting("autozero", boolean, onoff),
            ":SYSTem:BEEPer[:STATe]": self._setting("beeper", boolean, onoff),
            ":SYSTem:LFRequency": self._query_only(  # query only (Table 5-8)
                lambda: str(int(self.clock.line_frequency))),
            ":SYSTem:VERSion": self._query_only(lambda: "1991.0"),
            ":SYSTem:PRESet": self._event(self.preset),
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
            ":DISPlay[:WINDow[1]]:TEXT:DATA": self._display_text,
            ":DISPlay[:WINDow[1]]:TEXT:STATe": self._setting("display_text_on", boolean, onoff),
            ":STATus:MEASurement[:EVENt]": lambda a, q: "0",
            ":STATus:OPERation[:EVENt]": lambda a, q: "0",
            ":STATus:QUEStionable[:EVENt]": lambda a, q: "0",
            ":STATus:PRESet": lambda a, q: None,
            ":STATus:QUEue:CLEar": lambda a, q: self.errors.clear(),
        }

    def _function_commands(self) -> dict:
        """Each wired function's own NPLC, range, digits and filter (section 5, SENSe
        table; the filter's :AVERage commands, p. 5-46)."""
        table = {}
        onoff = lambda v: str(int(v))  # noqa: E731
        for spelled, name in (("VOLTage[:DC]", "VOLT:DC"), ("RESistance", "RES"),
                              ("FRESistance", "FRES")):
            node = f"[:SENSe[1]]:{spelled}"
            per = self._per_function
            table.update({
                node + ":NPLCycles": per(name, "nplc", lambda a: number(
                    a, 0.01, 10, default=1.0), _fmt),
                node + ":RANGe[:UPPer]": self._range(name),
                node + ":RANGe:AUTO": per(name, "auto", boolean, onoff),
                node + ":DIGits": per(name, "digits", lambda a: int(number(
                    a, 4, 7, default=7)), str),
                node + ":AVERage[:STATe]": per(name, "average", boolean, onoff),
                node + ":AVERage:TCONtrol": per(name, "tcontrol", lambda a: choice(
                    a, FILTER_TYPES), str),
                node + ":AVERage:COUNt": per(name, "count", lambda a: int(number(
                    a, 1, FILTER_COUNT_MAX, default=10)), str),
            })
        return table

    def _delay_setting(self, args: str, query: bool):
        if query:
            return _fmt(self.trigger_delay)
        self.trigger_delay = number(args, 0, 999999.999, default=0.0)
        self.delay_auto = False  # a delay sent turns auto delay off (section 5, DELay)
        return None

"""Emulator of the Keithley 2400 SourceMeter, as strict as the instrument.

Every header, parameter range, *RST default and reply format below is from the Model 2400
User's Manual (2400S-900-01 Rev. K): section 17 "Common commands", section 18 "SCPI command
reference" (the subsystem command tables, e.g. Table 18-11 TRIGger, and their *RST
column), section 11 "Triggering" (trigger model: arm layer with IMMediate, TIMer,
MANual, BUS, TLINk, NSTest, PSTest, BSTest; trigger layer IMMediate and TLINk only; trigger
link lines 1-4), section 9 "Data store" (TRACe, 1-2500 readings), section 10 "Sweep operation"
(SWEep:POINts 2-2500, LIST up to 100 points), Appendix B "Status and error messages"
(Table B-1: the messages, word for word). Anything else queues the manual's error: -113
"Undefined header" for an unknown header, -222 "Parameter data out of range", -224 "Illegal
parameter value", -109 "Missing parameter", -108 "Parameter not allowed", -104 "Data type
error", -138 "Suffix not allowed" (the 2400 takes no units), +803 "Not permitted with OUTPUT
off". A program message is read with the SCPI path rule (instruments.scpi, the leaf both the
guard and the emulators use). The coil: B = coil_constant * I.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import instruments.scpi as scpi
from simulators.lab.base import StrictInstrument
from simulators.lab.chip import Chip, LabClock
from simulators.lab.strict import ERRORS_2400, Refused, _bool, _choice, _num, _out
from simulators.lab.units import K2400Times, nominal_unit

OVERFLOW = 9.91e37  # "9.91e37": no reading (section 18, FORMat: NAN / overflow)
MAX_POINTS = 2500  # TRACe:POINts, SWEep:POINts, ARM x TRIG count
I_MAX, V_MAX = 1.05, 210.0  # specifications: +-1.05 A, +-210 V


def _line_frequency(text: str) -> int:
    value = _num(50, 60, 60)(text)
    if value not in (50, 60):
        raise Refused(-222)
    return int(value)


def _autozero(text: str) -> bool:
    """:SYSTem:AZERo[:STATe] ON|OFF|<b>|ONCE (Table 18-9): ONCE zeroes once and leaves
    auto zero off; the query answers 1 or 0 (a 2400 answers "1" after *RST, as pymeasure's
    device tests read it)."""
    data = scpi.datum(text) if not isinstance(text, scpi.Data) else text
    if data.kind == "char" and data.word == "ONCE":
        return False
    return _bool(text)


# Auto source delay (section 3, "Source delay", Table 3-4; the 2400 Series Quick Results
# Guide: "1ms, 2ms or 3ms depending on which current range and source function"): 3 ms on the
# 1 uA range, 2 ms on 10 uA, 1 ms from 100 uA up, 2 ms sourcing current on the 1 A range (the
# per-range figures as the SourceMeter family's table gives them, Model 2450 Reference Manual
# 2-111). A 2400 after *RST (100 uA range) answers SOUR:DEL? 0.001 with auto delay on.
AUTO_DELAYS = ((1.05e-6, 3e-3), (1.05e-5, 2e-3), (1.05e-1, 1e-3))


SENSE_FUNCTIONS = {"VOLTage[:DC]": "VOLT:DC", "CURRent[:DC]": "CURR:DC", "RESistance": "RES"}
ELEMENTS = ("VOLT", "CURR", "RES", "TIME", "STAT")  # fixed order of a reading (FORMat:ELEMents)
ARM_SOURCES = {"IMMediate": "IMM", "TLINk": "TLIN", "TIMer": "TIM", "MANual": "MAN",
               "BUS": "BUS", "NSTest": "NST", "PSTest": "PST", "BSTest": "BST"}
TRIGGER_SOURCES = {"IMMediate": "IMM", "TLINk": "TLIN"}  # "Only IMMediate and TLINk"


class Keithley2400Emulator(StrictInstrument):
    """Drives the coil: the in-plane field is coil_constant * current (T/A)."""

    errors_text = ERRORS_2400  # Model 2400 Appendix B, Table B-1 (the 7001 the same)
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C30   Mar 17 2006 09:29:29/A02  /K/J"
    unit = nominal_unit("2400")  # the virtual lab gives each instrument its drawn unit

    def __init__(self, chip: Chip, clock: LabClock, coil_constant: float = 0.01,
                 coil_resistance: float = 2.0) -> None:
        self.coil_constant = coil_constant
        self.coil_resistance = coil_resistance
        self.buffer: list[list[float]] = []
        self.latest: list[list[float]] = []
        super().__init__(chip, clock)

    # -- *RST (section 18 tables, *RST column) ----------------------------------------
    def reset(self) -> None:
        self.output = False
        self.settings: dict[str, object] = {
            "source_function": "VOLT", "source_current": 0.0, "source_voltage": 0.0,
            "trig_current": 0.0, "trig_voltage": 0.0,
            "current_range": 1.05e-4, "current_range_auto": True,
            "voltage_range": 21.0, "voltage_range_auto": True,
            "current_mode": "FIX", "voltage_mode": "FIX",
            "current_start": 0.0, "current_stop": 0.0, "current_step": 0.0,
            "current_center": 0.0, "current_span": 0.0,
            "voltage_start": 0.0, "voltage_stop": 0.0, "voltage_step": 0.0,
            "voltage_center": 0.0, "voltage_span": 0.0, "voltage_protection": V_MAX,
            "source_delay": 0.0, "source_delay_auto": True, "clear_auto": False,
            "clear_auto_mode": "ALW", "sweep_ranging": "BEST", "sweep_spacing": "LIN",
            "sweep_points": MAX_POINTS, "sweep_direction": "UP", "sweep_cabort": "NEV",
            "ttl_level": 15, "ttl_bsize": 3, "ttl_clear_auto": True, "ttl_delay": 1e-4,
            "compliance_current": 1.05e-4, "compliance_voltage": 21.0,
            "current_rsync": False, "voltage_rsync": False,
            "concurrent": True, "sense_current_range": 1.05e-4,
            "sense_current_range_auto": True, "sense_voltage_range": 21.0,
            "sense_voltage_range_auto": True, "resistance_mode": "AUTO",
            "resistance_range": 2.1e5, "resistance_range_auto": True,
            "offset_compensated": False, "current_nplc": 1.0, "voltage_nplc": 1.0,
            "resistance_nplc": 1.0, "average": False, "average_control": "REP",
            "average_count": 10, "output_mode": "NORM", "output_enable": False,
            "terminals": "FRON", "arm_count": 1, "arm_source": "IMM", "arm_timer": 0.1,
            "arm_direction": "ACC", "arm_input_line": 1, "arm_output_line": 2,
            "arm_output": "NONE", "trigger_count": 1, "trigger_delay": 0.0,
            "trigger_source": "IMM", "trigger_direction": "ACC", "trigger_input_line": 1,
            "trigger_output_line": 2, "trigger_input": "NONE", "trigger_output": "NONE",
            "format_data": "ASC", "byte_order": "SWAP", "status_format": "ASC",
            "display": True, "digits": 6, "autozero": True, "beeper": True,
            # auto-detected mains (:SYSTem:LFRequency:AUTO ON): the lab's own line frequency
            "line_frequency": int(self.clock.line_frequency), "line_frequency_auto": True,
            "remote_sense": False,
            "guard": "CABL", "calc3_format": "MEAN", "trace_feed": "SENS",
            "timestamp_format": "ABS",
        }
        self.sense_on = {"VOLT:DC", "CURR:DC"}
        self.elements = list(ELEMENTS)
        self.list_current: list[float] = [0.0]
        self.list_voltage: list[float] = [0.0]
        if not hasattr(self, "trace_points"):  # TRACe is not affected by *RST (section 18)
            self.trace_points, self.feed_control = 100, "NEV"
        self._apply()

    # -- physics -------------------------------------------------------------------------
    @property
    def source_function(self) -> str:
        """What the 2400 sources (``:SOUR:FUNC``): ``CURR``, ``VOLT`` or ``MEM``."""
        return str(self.settings["source_function"])

    @property
    def source_current(self) -> float:
        """The programmed source current (A), whether or not the output is on."""
        return float(self.settings["source_current"])

    @property
    def source_voltage(self) -> float:
        """The programmed source voltage (V), whether or not the output is on."""
        return float(self.settings["source_voltage"])

    def load(self) -> tuple[float, float]:
        """The coil's resistance (ohm) now and the factor between the output and its
        programmed level (both 1:1 unless the lab's fault schedule says otherwise)."""
        scheduled = self.chip.scheduled
        if scheduled is None:
            return self.coil_resistance, 1.0
        now = self.clock.seconds
        return (scheduled.coil_resistance(self.coil_resistance, now),
                scheduled.supply_scale(now))

    def _wanted(self) -> tuple[float, float]:
        """The current the source would drive into the coil unclamped, and the coil's
        resistance."""
        resistance, scale = self.load()
        if self.source_function == "CURR":
            return self.source_current * scale, resistance
        if self.source_function == "VOLT":
            return self.source_voltage * scale / resistance, resistance
        return 0.0, resistance  # source memory sweeps are not emulated: nothing flows

    def compliance(self) -> str | None:
        """Which protection holds the output: "VOLT" (the current source at its voltage
        compliance), "CURR" (the voltage source at its current compliance) or None
        (section 18, [:SENSe[1]]:<function>:PROTection:TRIPped?)."""
        if not self.output:
            return None
        current, resistance = self._wanted()
        if self.source_function == "CURR" and abs(current) * resistance > float(
                self.settings["compliance_voltage"]):
            return "VOLT"
        if self.source_function == "VOLT" and abs(current) > float(
                self.settings["compliance_current"]):
            return "CURR"
        return None

    def coil_current(self) -> float:
        """The current the coil carries (A), B = coil_constant x this: none with the output
        off; the programmed current, or V / R, held by the compliance (section 18, SENSe
        protection), as a real supply into the coil's resistance would."""
        if not self.output:
            return 0.0
        current, resistance = self._wanted()
        if self.source_function == "CURR":
            limit = float(self.settings["compliance_voltage"]) / resistance
        else:
            limit = float(self.settings["compliance_current"])
        return max(-limit, min(limit, current))

    def coil_field(self) -> float:
        """The coil's field now (T): what the chip's devices feel while the output is on."""
        return self.coil_constant * self.coil_current()

    def _apply(self) -> None:
        self.chip.field_x = self.coil_field()
        self.chip.coil = self.coil_field

    def recalled(self) -> None:
        self.output = False  # *RCL: the output goes off (section 17, *RCL)

    # -- outputs, sense functions, lists, format ------------------------------------------
    def _output(self, unit: scpi.Unit) -> str | None:
        if unit.query:
            return _out(self.output)
        self.output = bool(self._one(unit, _bool))
        return None

    def _source_clear(self) -> None:
        self.output = False

    def _sense_function(self, on: bool):
        def handler(unit: scpi.Unit) -> str | None:
            if unit.query:
                names = sorted(self.sense_on) if on else sorted(
                    set(SENSE_FUNCTIONS.values()) - self.sense_on)
                return ",".join(f'"{n}"' for n in names)
            params = unit.params()
            if not params:
                raise Refused(-109)
            for text in params:
                name = self._function_name(text)
                (self.sense_on.add if on else self.sense_on.discard)(name)
            return None

        return handler

    @staticmethod
    def _function_name(text: str) -> str:
        if text[:1] not in "'\"" or text[-1:] != text[:1]:
            raise Refused(-224)  # <name> is string data: 'CURRent[:DC]'
        nodes = tuple(text[1:-1].strip().upper().lstrip(":").split(":"))
        for spec, name in SENSE_FUNCTIONS.items():
            if scpi.header_matches(spec, nodes):
                return name
        raise Refused(-224)

    def _all_functions(self, on: bool):
        def action() -> None:
            self.sense_on = set(SENSE_FUNCTIONS.values()) if on else set()

        return self._action(action)

    def _function_state(self, unit: scpi.Unit) -> str:
        if not unit.query:
            raise Refused(-113)
        return _out(self._one(unit, self._function_name) in self.sense_on)

    def _list(self, attribute: str, high: float, append: bool = False):
        """SOURce:LIST:CURRent|VOLTage <NRf list>: up to 100 points (section 10)."""

        def handler(unit: scpi.Unit) -> str | None:
            values = getattr(self, attribute)
            if unit.query:
                return ",".join(_out(v) for v in values)
            params = unit.params()
            if not params:
                raise Refused(-109)
            new = [_num(-high, high)(p) for p in params]
            total = (values if append else []) + new
            if len(total) > 100:
                raise Refused(-223)
            setattr(self, attribute, total)
            return None

        return handler

    def _elements(self, unit: scpi.Unit) -> str | None:
        if unit.query:
            return ",".join(self.elements)
        params = unit.params()
        if not params:
            raise Refused(-109)
        chosen = {_choice({"VOLTage": "VOLT", "CURRent": "CURR", "RESistance": "RES",
                           "TIME": "TIME", "STATus": "STAT"})(p) for p in params}
        self.elements = [e for e in ELEMENTS if e in chosen]
        return None

    def _format_data(self, unit: scpi.Unit) -> str | None:
        if unit.query:
            return str(self.settings["format_data"])
        params = unit.params()
        kind = _choice({"ASCii": "ASC", "REAL": "REAL", "SREal": "SRE"})(params[0]) \
            if params else None
        if kind is None:
            raise Refused(-109)
        if len(params) > 1 and not (kind == "REAL" and params[1] == "32"):
            raise Refused(-224)
        self.settings["format_data"] = kind
        return None

    # -- the trigger model and readings (section 11) --------------------------------------
    def _counts(self, key: str, high: float, infinite: bool):
        def after() -> None:
            arm = self.settings["arm_count"]
            product = float(arm) * float(self.settings["trigger_count"])
            if product > MAX_POINTS and arm != math.inf:
                self.settings[key] = self._previous_count
                raise Refused(-221)

        parse = _num(1, high, 1, infinite=math.inf if infinite else None)

        def handler(unit: scpi.Unit) -> str | None:
            if unit.query:
                value = self.settings[key]
                return "+9.9e37" if value == math.inf else str(int(value))
            self._previous_count = self.settings[key]
            value = self._one(unit, parse)
            self.settings[key] = value if value == math.inf else int(value)
            after()
            return None

        return handler

    def _reading(self, static: bool = True) -> list[float]:
        """One source-delay-measure cycle, charged as Appendix A times it
        (simulators/lab/units.py, K2400Times)."""
        functions = len(self.sense_on) if self.settings["concurrent"] else 1
        self.clock.advance(K2400Times(self.unit).cycle(
            float(self.settings["current_nplc"]), float(self.settings["line_frequency"]),
            bool(self.settings["autozero"]), functions, self.source_function == "CURR",
            static, float(self.settings["source_delay"]),
            bool(self.settings["source_delay_auto"])))
        current = self.coil_current()
        coil, _ = self.load()
        voltage = current * coil
        resistance = coil if "RES" in self.sense_on else OVERFLOW
        # the STATus element's bit 3: "in real compliance" (section 18, FORMat:ELEMents)
        values = {"VOLT": voltage, "CURR": current, "RES": resistance,
                  "TIME": self.clock.seconds,
                  "STAT": float(8 if self.compliance() is not None else 0)}
        return [values[e] for e in ELEMENTS]

    def _levels(self) -> list[float]:
        """The source levels of one pass: fixed, linear/log sweep, or list (section 10)."""
        prefix = "current" if self.source_function == "CURR" else "voltage"
        key = f"source_{prefix}"
        mode = self.settings[f"{prefix}_mode"]
        count = int(self.settings["trigger_count"]) * int(
            1 if self.settings["arm_count"] == math.inf else self.settings["arm_count"])
        if mode == "LIST":
            values = self.list_current if prefix == "current" else self.list_voltage
        elif mode == "SWE":
            start = float(self.settings[f"{prefix}_start"])
            stop = float(self.settings[f"{prefix}_stop"])
            points = int(self.settings["sweep_points"])
            values = [start + (stop - start) * k / (points - 1) for k in range(points)]
        else:
            values = [float(self.settings[key])]
        return [values[k % len(values)] for k in range(count)]

    def _initiate(self) -> None:
        if self.settings["arm_source"] != "IMM" or self.settings["trigger_source"] != "IMM":
            self.latest = []  # waits for triggers that no emulated instrument sends
            return
        if not self.output:
            if not self.settings["clear_auto"]:
                raise Refused(803)
            self.output = True
        key = "source_current" if self.source_function == "CURR" else "source_voltage"
        bias = self.settings[key]
        self.latest = []
        levels = self._levels()
        static = not self.settings["clear_auto"] and len(set(levels)) == 1
        for level in levels:
            self.settings[key] = level
            self._apply()
            self.latest.append(self._reading(static))
        self.settings[key] = bias
        if self.settings["clear_auto"]:
            self.output = False
        if self.feed_control == "NEXT":
            room = self.trace_points - len(self.buffer)
            self.buffer += self.latest[:room]
            if len(self.buffer) >= self.trace_points:
                self.feed_control = "NEV"

    def _format(self, readings: list[list[float]]) -> str:
        keep = [ELEMENTS.index(e) for e in self.elements]
        return ",".join(_out(r[i]) for r in readings for i in keep)

    def _fetch(self) -> str:
        if not self.latest:
            raise Refused(-230)
        return self._format(self.latest)

    def _read(self) -> str:
        self._initiate()
        return self._fetch()

    def _measure(self, function: str | None):
        """:MEASure[:<function>]? = :CONFigure then :READ?; CONFigure turns the output on."""

        def handler(unit: scpi.Unit) -> str:
            if not unit.query:
                raise Refused(-113)
            if function is not None:
                self.sense_on = {function}
            for key in ("arm_count", "trigger_count"):
                self.settings[key] = 1
            self.settings["arm_source"] = self.settings["trigger_source"] = "IMM"
            self.output = True
            return self._read()

        return handler

    def _calc3(self) -> str:
        if not self.buffer:
            raise Refused(-230)
        columns = list(zip(*self.buffer, strict=True))
        stat = {"MEAN": lambda c: sum(c) / len(c), "MAX": max, "MIN": min,
                "PKPK": lambda c: max(c) - min(c),
                "SDEV": lambda c: (sum((x - sum(c) / len(c)) ** 2 for x in c)
                                   / max(1, len(c) - 1)) ** 0.5}[
            str(self.settings["calc3_format"])]
        return ",".join(_out(stat(columns[ELEMENTS.index(e)])) for e in ("VOLT", "CURR",
                                                                           "RES", "TIME"))

    def auto_delay(self) -> float:
        """The auto delay period for the present current range and source function."""
        sourcing_current = self.source_function == "CURR"
        span = float(self.settings["current_range" if sourcing_current
                                   else "sense_current_range"])
        for upper, delay in AUTO_DELAYS:
            if abs(span) <= upper:
                return delay
        return 2e-3 if sourcing_current else 1e-3  # the 1 A range

    def _source_delay(self, unit: scpi.Unit) -> str | None:
        """:SOURce:DELay <n> 0-999.9999 s (Table 18-7): sending one turns auto delay off;
        the query answers the delay in use, the auto period while auto delay is on."""
        parse = _num(0, 999.9999, 0.0)
        if unit.query:
            if unit.data:
                return self._setting("source_delay", parse)(unit)
            if self.settings["source_delay_auto"]:
                return _out(self.auto_delay())
            return _out(self.settings["source_delay"])
        self.settings["source_delay"] = self._one(unit, parse)
        self.settings["source_delay_auto"] = False
        return None

    def _trace_points(self, unit: scpi.Unit) -> str | None:
        if unit.query:
            return str(self.trace_points)
        self.trace_points = int(self._one(unit, _num(1, MAX_POINTS, 100)))
        return None

    def _feed_control(self, unit: scpi.Unit) -> str | None:
        if unit.query:
            return self.feed_control
        self.feed_control = self._one(unit, _choice({"NEXT": "NEXT", "NEVer": "NEV"}))
        return None

    def _build_table(self) -> list[tuple[str, Callable[[scpi.Unit], str | None]]]:
        s = self._setting
        S = ":SOURce[1]"
        sense = "[:SENSe[1]]"
        amps, volts = _num(-I_MAX, I_MAX, 0.0), _num(-V_MAX, V_MAX, 0.0)
        function = _choice({"VOLTage": "VOLT", "CURRent": "CURR", "MEMory": "MEM"})
        mode = _choice({"FIXed": "FIX", "SWEep": "SWE", "LIST": "LIST"})
        status = self._status_register()
        table: list[tuple[str, Callable[[scpi.Unit], str | None]]] = [
            # SOURce subsystem (section 18)
            (S + ":FUNCtion[:MODE]", s("source_function", function)),
            (S + ":CURRent[:LEVel][:IMMediate][:AMPLitude]", s("source_current", amps)),
            (S + ":CURRent[:LEVel]:TRIGgered[:AMPLitude]", s("trig_current", amps)),
            (S + ":CURRent:RANGe", s("current_range", _num(-I_MAX, I_MAX, 1.05e-4))),
            (S + ":CURRent:RANGe:AUTO", s("current_range_auto", _bool)),
            (S + ":CURRent:MODE", s("current_mode", mode)),
            (S + ":CURRent:STARt", s("current_start", amps)),
            (S + ":CURRent:STOP", s("current_stop", amps)),
            (S + ":CURRent:STEP", s("current_step", _num(-2 * I_MAX, 2 * I_MAX, 0.0))),
            (S + ":CURRent:CENTer", s("current_center", amps)),
            (S + ":CURRent:SPAN", s("current_span", _num(-2 * I_MAX, 2 * I_MAX, 0.0))),
            (S + ":VOLTage[:LEVel][:IMMediate][:AMPLitude]", s("source_voltage", volts)),
            (S + ":VOLTage[:LEVel]:TRIGgered[:AMPLitude]", s("trig_voltage", volts)),
            (S + ":VOLTage:RANGe", s("voltage_range", _num(-V_MAX, V_MAX, 21.0))),
            (S + ":VOLTage:RANGe:AUTO", s("voltage_range_auto", _bool)),
            (S + ":VOLTage:MODE", s("voltage_mode", mode)),
            (S + ":VOLTage:STARt", s("voltage_start", volts)),
            (S + ":VOLTage:STOP", s("voltage_stop", volts)),
            (S + ":VOLTage:STEP", s("voltage_step", _num(-2 * V_MAX, 2 * V_MAX, 0.0))),
            (S + ":VOLTage:CENTer", s("voltage_center", volts)),
            (S + ":VOLTage:SPAN", s("voltage_span", _num(-2 * V_MAX, 2 * V_MAX, 0.0))),
            (S + ":VOLTage:PROTection[:LEVel]", s("voltage_protection",
                                                  _num(20, V_MAX, V_MAX))),
            (S + ":DELay", self._source_delay),
            (S + ":DELay:AUTO", s("source_delay_auto", _bool)),
            (S + ":CLEar[:IMMediate]", self._action(self._source_clear)),
            (S + ":CLEar:AUTO", s("clear_auto", _bool)),
            (S + ":CLEar:AUTO:MODE", s("clear_auto_mode", _choice({"ALWays": "ALW",
                                                                    "TCOunt": "TCO"}))),
            (S + ":SWEep:RANGing", s("sweep_ranging", _choice(
                {"BEST": "BEST", "AUTO": "AUTO", "FIXed": "FIX"}))),
            (S + ":SWEep:SPACing", s("sweep_spacing", _choice(
                {"LINear": "LIN", "LOGarithmic": "LOG"}))),
            (S + ":SWEep:POINts", s("sweep_points", lambda t: int(_num(2, MAX_POINTS,
                                                                       MAX_POINTS)(t)))),
            (S + ":SWEep:DIRection", s("sweep_direction", _choice({"UP": "UP",
                                                                    "DOWn": "DOWN"}))),
            (S + ":SWEep:CABort", s("sweep_cabort", _choice(
                {"NEVer": "NEV", "EARLy": "EARL", "LATE": "LATE"}))),
            (S + ":LIST:CURRent", self._list("list_current", I_MAX)),
            (S + ":LIST:CURRent:APPend", self._list("list_current", I_MAX, append=True)),
            (S + ":LIST:CURRent:POINts", self._query_only(lambda: str(len(
                self.list_current)))),
            (S + ":LIST:VOLTage", self._list("list_voltage", V_MAX)),
            (S + ":LIST:VOLTage:APPend", self._list("list_voltage", V_MAX, append=True)),
            (S + ":LIST:VOLTage:POINts", self._query_only(lambda: str(len(
                self.list_voltage)))),
            (":SOURce2:TTL[:LEVel][:DEFault]", s("ttl_level", lambda t: int(_num(0, 15, 15)(t)))),
            (":SOURce2:TTL[:LEVel]:ACTual", self._query_only(lambda: str(
                self.settings["ttl_level"]))),
            (":SOURce2:BSIZe", s("ttl_bsize", lambda t: int(_num(3, 4, 3)(t)))),
            (":SOURce2:CLEar[:IMMediate]", self._action(lambda: None)),
            (":SOURce2:CLEar:AUTO", s("ttl_clear_auto", _bool)),
            (":SOURce2:CLEar:AUTO:DELay", s("ttl_delay", _num(0, 60, 1e-4))),
            # OUTPut subsystem (section 18)
            (":OUTPut[1][:STATe]", self._output),
            (":OUTPut[1]:SMODe", s("output_mode", _choice(
                {"HIMPedance": "HIMP", "NORMal": "NORM", "ZERO": "ZERO", "GUARd": "GUAR"}))),
            (":OUTPut[1]:ENABle[:STATe]", s("output_enable", _bool)),
            (":OUTPut[1]:ENABle:TRIPped", self._query_only(lambda: "0")),
            # SENSe1 subsystem (section 18)
            (sense + ":FUNCtion:CONCurrent", s("concurrent", _bool)),
            (sense + ":FUNCtion[:ON]", self._sense_function(True)),
            (sense + ":FUNCtion:OFF", self._sense_function(False)),
            (sense + ":FUNCtion[:ON]:ALL", self._all_functions(True)),
            (sense + ":FUNCtion:OFF:ALL", self._all_functions(False)),
            (sense + ":FUNCtion[:ON]:COUNt", self._query_only(lambda: str(len(
                self.sense_on)))),
            (sense + ":FUNCtion:OFF:COUNt", self._query_only(lambda: str(
                len(SENSE_FUNCTIONS) - len(self.sense_on)))),
            (sense + ":FUNCtion:STATe", self._function_state),
            (sense + ":CURRent[:DC]:PROTection[:LEVel]", s("compliance_current",
                                                           _num(-I_MAX, I_MAX, 1.05e-4))),
            (sense + ":CURRent[:DC]:PROTection:RSYNchronize", s("current_rsync", _bool)),
            (sense + ":CURRent[:DC]:PROTection:TRIPped", self._query_only(
                lambda: _out(self.compliance() == "CURR"))),
            (sense + ":VOLTage[:DC]:PROTection[:LEVel]", s("compliance_voltage",
                                                           _num(-V_MAX, V_MAX, 21.0))),
            (sense + ":VOLTage[:DC]:PROTection:RSYNchronize", s("voltage_rsync", _bool)),
            (sense + ":VOLTage[:DC]:PROTection:TRIPped", self._query_only(
                lambda: _out(self.compliance() == "VOLT"))),
            (sense + ":CURRent[:DC]:RANGe[:UPPer]", s("sense_current_range",
                                                      _num(-I_MAX, I_MAX, 1.05e-4))),
            (sense + ":CURRent[:DC]:RANGe:AUTO", s("sense_current_range_auto", _bool)),
            (sense + ":VOLTage[:DC]:RANGe[:UPPer]", s("sense_voltage_range",
                                                      _num(-V_MAX, V_MAX, 21.0))),
            (sense + ":VOLTage[:DC]:RANGe:AUTO", s("sense_voltage_range_auto", _bool)),
            (sense + ":RESistance:MODE", s("resistance_mode", _choice(
                {"MANual": "MAN", "AUTO": "AUTO"}))),
            (sense + ":RESistance:RANGe[:UPPer]", s("resistance_range",
                                                    _num(0, 2.1e8, 2.1e5))),
            (sense + ":RESistance:RANGe:AUTO", s("resistance_range_auto", _bool)),
            (sense + ":RESistance:OCOMpensated", s("offset_compensated", _bool)),
            (sense + ":CURRent[:DC]:NPLCycles", s("current_nplc", _num(0.01, 10, 1.0))),
            (sense + ":VOLTage[:DC]:NPLCycles", s("voltage_nplc", _num(0.01, 10, 1.0))),
            (sense + ":RESistance:NPLCycles", s("resistance_nplc", _num(0.01, 10, 1.0))),
            (sense + ":AVERage[:STATe]", s("average", _bool)),
            (sense + ":AVERage:TCONtrol", s("average_control", _choice(
                {"REPeat": "REP", "MOVing": "MOV"}))),
            (sense + ":AVERage:COUNt", s("average_count", lambda t: int(_num(1, 100,
                                                                              10)(t)))),
            (sense + ":DATA[:LATest]", self._query_only(self._fetch)),
            # ROUTe (section 18)
            (":ROUTe:TERMinals", s("terminals", _choice({"FRONt": "FRON", "REAR": "REAR"}))),
            # trigger model (Table 18-11, section 11)
            (":INITiate[:IMMediate]", self._command_only(lambda u: self._initiate())),
            (":ABORt", self._command_only(lambda u: None)),
            (":ARM[:SEQuence[1]][:LAYer[1]]:COUNt", self._counts("arm_count", MAX_POINTS,
                                                                   True)),
            (":ARM[:SEQuence[1]][:LAYer[1]]:SOURce", s("arm_source", _choice(ARM_SOURCES))),
            (":ARM[:SEQuence[1]][:LAYer[1]]:TIMer", s("arm_timer",
                                                      _num(0.001, 99999.99, 0.1))),
            (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:DIRection", s(
                "arm_direction", _choice({"SOURce": "SOUR", "ACCeptor": "ACC"}))),
            (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:ILINe", s(
                "arm_input_line", lambda t: int(_num(1, 4, 1)(t)))),
            (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:OLINe", s(
                "arm_output_line", lambda t: int(_num(1, 4, 2)(t)))),
            (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:OUTPut", s(
                "arm_output", _choice({"TENTer": "TENT", "TEXit": "TEX", "NONE": "NONE"}))),
            (":TRIGger:CLEar", self._command_only(lambda u: None)),
            (":TRIGger[:SEQuence[1]]:COUNt", self._counts("trigger_count", MAX_POINTS,
                                                           False)),
            (":TRIGger[:SEQuence[1]]:DELay", s("trigger_delay", _num(0, 999.9999, 0.0))),
            (":TRIGger[:SEQuence[1]]:SOURce", s("trigger_source", _choice(TRIGGER_SOURCES))),
            (":TRIGger[:SEQuence[1]][:TCONfigure]:DIRection", s(
                "trigger_direction", _choice({"SOURce": "SOUR", "ACCeptor": "ACC"}))),
            (":TRIGger[:SEQuence[1]][:TCONfigure]:ILINe", s(
                "trigger_input_line", lambda t: int(_num(1, 4, 1)(t)))),
            (":TRIGger[:SEQuence[1]][:TCONfigure]:OLINe", s(
                "trigger_output_line", lambda t: int(_num(1, 4, 2)(t)))),
            (":TRIGger[:SEQuence[1]][:TCONfigure]:INPut", s("trigger_input", _choice(
                {"SOURce": "SOUR", "DELay": "DEL", "SENSe": "SENS", "NONE": "NONE"}))),
            (":TRIGger[:SEQuence[1]][:TCONfigure]:OUTPut", s("trigger_output", _choice(
                {"SOURce": "SOUR", "DELay": "DEL", "SENSe": "SENS", "NONE": "NONE"}))),
            # measurement commands (section 18, "Signal oriented measurement commands")
            (":FETCh", self._query_only(self._fetch)),
            (":READ", self._query_only(self._read)),
            (":MEASure", self._measure(None)),
            (":MEASure:CURRent[:DC]", self._measure("CURR:DC")),
            (":MEASure:VOLTage[:DC]", self._measure("VOLT:DC")),
            (":MEASure:RESistance", self._measure("RES")),
            # CALCulate3 (buffer statistics, section 18)
            (":CALCulate3:FORMat", s("calc3_format", _choice(
                {"MEAN": "MEAN", "SDEViation": "SDEV", "MAXimum": "MAX", "MINimum": "MIN",
                 "PKPK": "PKPK"}))),
            (":CALCulate3:DATA", self._query_only(self._calc3)),
            # TRACe (section 18; data store, 1-2500 readings)
            (":TRACe:DATA", self._query_only(lambda: self._format(self.buffer))),
            (":TRACe:CLEar", self._command_only(lambda u: self.buffer.clear())),
            (":TRACe:FREE", self._query_only(lambda: f"{(MAX_POINTS - len(self.buffer)) * 40}"
                                             f",{len(self.buffer) * 40}")),
            (":TRACe:POINts", self._trace_points),
            (":TRACe:POINts:ACTual", self._query_only(lambda: str(len(self.buffer)))),
            (":TRACe:FEED", s("trace_feed", _choice(
                {"SENSe[1]": "SENS", "CALCulate[1]": "CALC", "CALCulate2": "CALC2"}))),
            (":TRACe:FEED:CONTrol", self._feed_control),
            (":TRACe:TSTamp:FORMat", s("timestamp_format", _choice(
                {"ABSolute": "ABS", "DELTa": "DELT"}))),
            # FORMat (section 18)
            (":FORMat[:DATA]", self._format_data),
            (":FORMat:ELEMents[:SENSe[1]]", self._elements),
            (":FORMat:BORDer", s("byte_order", _choice({"NORMal": "NORM",
                                                         "SWAPped": "SWAP"}))),
            (":FORMat:SREGister", s("status_format", _choice(
                {"ASCii": "ASC", "HEXadecimal": "HEX", "OCTal": "OCT", "BINary": "BIN"}))),
            # DISPlay (section 18)
            (":DISPlay:ENABle", s("display", _bool)),
            (":DISPlay:DIGits", s("digits", lambda t: int(_num(4, 7, 6)(t)))),
            # STATus (section 18)
            (":STATus:MEASurement[:EVENt]", status),
            (":STATus:MEASurement:ENABle", status),
            (":STATus:MEASurement:CONDition", status),
            (":STATus:OPERation[:EVENt]", status), (":STATus:OPERation:ENABle", status),
            (":STATus:OPERation:CONDition", status),
            (":STATus:QUEStionable[:EVENt]", status),
            (":STATus:QUEStionable:ENABle", status),
            (":STATus:QUEStionable:CONDition", status),
            (":STATus:PRESet", self._command_only(lambda u: None)),
            (":STATus:QUEue[:NEXT]", self._system_error("NEXT")),
            (":STATus:QUEue:CLEar", self._command_only(lambda u: self.errors.clear())),
            # SYSTem (section 18)
            (":SYSTem:ERRor[:NEXT]", self._system_error("NEXT")),
            (":SYSTem:ERRor:ALL", self._system_error("ALL")),
            (":SYSTem:ERRor:COUNt", self._system_error("COUNT")),
            (":SYSTem:ERRor:CODE[:NEXT]", self._system_error("CODE")),
            (":SYSTem:VERSion", self._query_only(lambda: "1996.0")),
            (":SYSTem:AZERo[:STATe]", s("autozero", _autozero)),
            (":SYSTem:BEEPer[:STATe]", s("beeper", _bool)),
            (":SYSTem:LFRequency", s("line_frequency", _line_frequency)),
            (":SYSTem:LFRequency:AUTO", s("line_frequency_auto", _bool)),
            (":SYSTem:TIME", self._query_only(lambda: _out(self.clock.seconds))),
            (":SYSTem:RSENse", s("remote_sense", _bool)),
            (":SYSTem:GUARd", s("guard", _choice({"OHMS": "OHMS", "CABLe": "CABL"}))),
            (":SYSTem:PRESet", self._command_only(lambda u: self.reset())),
            (":SYSTem:LOCal", self._command_only(lambda u: None)),
            (":SYSTem:REMote", self._command_only(lambda u: None)),
            (":SYSTem:RWLock", self._command_only(lambda u: None)),
        ]
        return table

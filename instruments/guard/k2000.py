"""The guard of a Keithley 2000 multimeter (Model 2000 User's Manual, section 5, "SCPI
command reference").

A voltmeter sources nothing in its voltage functions, but in its resistance functions it
drives its own test current through the terminals it reads (2-wire ``RES`` from INPUT HI to
LO, 4-wire ``FRES`` from the source pair), and continuity and diode test do too: on a Hall
bar wired to those terminals that current flows through the device for as long as the 2000
measures. The test current per range (Model 2000 User's Manual, Appendix A
"Specifications", DC characteristics, column "test current"): 1 mA on the 100 ohm and 1 kohm
ranges, 100 uA on 10 kohm, 10 uA on 100 kohm and 1 Mohm, 700 nA (in parallel with 10 Mohm)
on 10 and 100 Mohm; continuity 1 mA (its one 1 kohm range); diode test 1 mA, 100 uA or
10 uA. A range is chosen by the expected reading, up to 120 % of it (section 3, "Range":
up-ranging at 120 %), and autoranging may go down to the 100 ohm range on a low-resistance
device (down-ranging at 10 % of range), so an ohms function on auto counts as 1 mA.

Rule (SafetyLimits, SI), on every state the 2000 may hold: the test current of the
function it may be in, on every range it may hold (auto: the largest), at most the device's
max_read_current, the continuous current a read may pass (the 6221's DC limit with its
output on). Voltage, current, frequency, period and temperature source nothing. Refused
before a byte is sent, as on the sources: a header not in the manual's tables below, a
command given parameters it does not take, ``*RCL`` (a stored setup the guard cannot
see), and any line that would leave the 2000 in an ohms function or range beyond the limit.
Behind a 7002 the limit is the routed device's (``k7002.Route``), and no relay moves while
the 2000 may drive a test current.
"""

from __future__ import annotations

from dataclasses import dataclass

from instruments import scpi
from instruments.guard.base import STATUS_TABLE, SourceGuard, Tracked, bounded
from instruments.guard.grammar import flag_reply, number_reply
from instruments.limits import LimitError

# The 2000's functions as :SENSe:FUNCtion names them (section 5, SENSe subsystem, Table 5-6),
# the manual's spelling -> the name the 2000 answers with.
FUNCTIONS = {"VOLTage[:DC]": "VOLT:DC", "VOLTage:AC": "VOLT:AC", "CURRent[:DC]": "CURR:DC",
             "CURRent:AC": "CURR:AC", "RESistance": "RES", "FRESistance": "FRES",
             "FREQuency": "FREQ", "PERiod": "PER", "TEMPerature": "TEMP", "DIODe": "DIOD",
             "CONTinuity": "CONT"}
OHMS_RANGES = (1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8)  # ohm, RES and FRES (Appendix A)
OHMS_MAX = 120e6  # RANGe 0 to 120e6 (section 5, SENSe: the expected reading)
OVERRANGE = 1.2  # a reading up to 120 % of range stays on that range (section 3, "Range")
TEST_CURRENT = {1e2: 1e-3, 1e3: 1e-3, 1e4: 1e-4, 1e5: 1e-5, 1e6: 1e-5, 1e7: 7e-7,
                1e8: 7e-7}  # A per ohms range (Appendix A, DC characteristics)
FIXED_TEST_CURRENT = {"CONT": 1e-3, "DIOD": 1e-3}  # continuity; diode test at its largest
PASSIVE = frozenset({"VOLT:DC", "VOLT:AC", "CURR:DC", "CURR:AC", "FREQ", "PER", "TEMP"})
OHMS = {"RES": "res", "FRES": "fres"}  # function -> the fields of its range


def function_reply(text: str) -> str:
    """``:SENS:FUNC?`` -> ``"VOLT:DC"`` (a quoted name, section 5 SENSe); anything else
    raises."""
    name = text.strip()
    if len(name) < 2 or name[0] != '"' or name[-1] != '"' or \
            name[1:-1] not in FUNCTIONS.values():
        raise ValueError("not a function name of the 2000")
    return name[1:-1]


def range_reply(text: str) -> float:
    """``:SENS:RES:RANG?`` -> one of the seven ohms ranges (NR3); anything else raises."""
    value = number_reply(text)
    if value not in TEST_CURRENT:
        raise ValueError("not an ohms range of the 2000 (100 ohm to 100 Mohm)")
    return value


def function_named(data: scpi.Data) -> str:
    """The function a ``:FUNCtion`` parameter names: string data ('VOLTage:DC', nodes in
    short or long form) or character data, as the 2000 reads it; else refused."""
    if data.kind == "string":
        nodes = tuple(data.word.strip().upper().lstrip(":").split(":"))
    elif data.kind == "char":
        nodes = (data.word,)
    else:
        raise scpi.ScpiSyntaxError(-104, "Data type error")
    for spec, name in FUNCTIONS.items():
        if scpi.header_matches(spec, nodes):
            return name
    raise scpi.ScpiSyntaxError(-141, "Invalid character data (no function of the 2000)")


@dataclass
class State2000(Tracked):
    """What the 2000 may hold, as the guard tracks it: the function and each ohms function's
    range and autorange (None: unknown, which every check treats as the worst case)."""
    function: str | None = None
    res_range: float | None = None
    res_auto: bool | None = None
    fres_range: float | None = None
    fres_auto: bool | None = None


_FUNCTION_SETTINGS = ("NPLCycles", "n"), ("RANGe[:UPPer]", "n"), ("RANGe:AUTO", "b"), \
    ("DIGits", "n"), ("AVERage[:STATe]", "b"), ("AVERage:TCONtrol", "c"), \
    ("AVERage:COUNt", "n")


def _function_table() -> list[tuple[str, str, str | None]]:
    """Each function's own settings (section 5, SENSe table: [:SENSe[1]]:<function>:...);
    an ohms function's range and autorange have handlers."""
    table = []
    for spelled in ("VOLTage[:DC]", "VOLTage:AC", "CURRent[:DC]", "CURRent:AC", "RESistance",
                    "FRESistance"):
        ohms = spelled in ("RESistance", "FRESistance")
        for setting, kind in _FUNCTION_SETTINGS:
            handler = None
            if ohms and setting.startswith("RANGe"):
                handler = "_auto" if setting.endswith("AUTO") else "_range"
            table.append((f"[:SENSe[1]]:{spelled}:{setting}", kind, handler))
    return table


class Guard2000(SourceGuard):
    """Keithley 2000 reading the Hall voltage (Model 2000 User's Manual, section 5: the
    signal-oriented commands, SENSe, CALCulate1-3, DISPlay, FORMat, STATus, SYSTem, TRACe,
    TRIGger and SAMPle tables)."""

    model = "Keithley 2000"
    table = [
        # signal-oriented commands (section 5): CONFigure and MEASure set a function with
        # its *RST settings (autorange on)
        (":CONFigure", "q", None),
        *((f":CONFigure:{spelled}", "", "_configure") for spelled in FUNCTIONS),
        *((f":MEASure:{spelled}", "q", "_configure") for spelled in FUNCTIONS),
        (":READ", "q", None), (":FETCh", "q", None),
        # trigger model (section 4 Fig. 4-11; section 5 Trigger and SAMPle subsystems)
        (":INITiate[:IMMediate]", "", None), (":INITiate:CONTinuous", "b", None),
        (":ABORt", "", None),
        (":TRIGger[:SEQuence[1]]:SOURce", "c", None), (":TRIGger[:SEQuence[1]]:COUNt", "n", None),
        (":TRIGger[:SEQuence[1]]:DELay", "n", None),
        (":TRIGger[:SEQuence[1]]:DELay:AUTO", "b", None),
        (":TRIGger[:SEQuence[1]]:TIMer", "n", None), (":TRIGger[:SEQuence[1]]:SIGNal", "", None),
        (":SAMPle:COUNt", "n", None),
        # SENSe (section 5, Table 5-6)
        ("[:SENSe[1]]:FUNCtion", "c+", "_function"),
        ("[:SENSe[1]]:DATA[:LATest]", "q", None), ("[:SENSe[1]]:DATA:FRESh", "q", None),
        *_function_table(),
        ("[:SENSe[1]]:CONTinuity:THReshold", "n", None),
        # CALCulate1-3 (Table 5-2)
        (":CALCulate[1]:FORMat", "c", None), (":CALCulate[1]:KMATh:MMFactor", "n", None),
        (":CALCulate[1]:KMATh:MBFactor", "n", None), (":CALCulate[1]:KMATh:PERCent", "n", None),
        (":CALCulate[1]:STATe", "b", None), (":CALCulate[1]:DATA", "q", None),
        (":CALCulate2:FORMat", "c", None), (":CALCulate2:STATe", "b", None),
        (":CALCulate2:IMMediate", "", None), (":CALCulate2:DATA", "q", None),
        (":CALCulate3:LIMit[1]:UPPer[:DATA]", "n", None),
        (":CALCulate3:LIMit[1]:LOWer[:DATA]", "n", None),
        (":CALCulate3:LIMit[1]:STATe", "b", None), (":CALCulate3:LIMit[1]:FAIL", "q", None),
        (":CALCulate3:LIMit[1]:CLEar[:IMMediate]", "", None),
        # DISPlay (Table 5-3), FORMat (Table 5-4), TRACe (Table 5-9)
        (":DISPlay:ENABle", "b", None), (":DISPlay[:WINDow[1]]:TEXT:DATA", "s", None),
        (":DISPlay[:WINDow[1]]:TEXT:STATe", "b", None),
        (":FORMat[:DATA]", "c", None), (":FORMat:BORDer", "c", None),
        (":FORMat:ELEMents", "c+", None),
        (":TRACe:CLEar", "", None), (":TRACe:FREE", "q", None), (":TRACe:POINts", "n", None),
        (":TRACe:FEED", "c", None), (":TRACe:FEED:CONTrol", "c", None),
        (":TRACe:DATA", "q", None),
        # STATus, SYSTem (Table 5-8)
        *STATUS_TABLE,
        (":SYSTem:AZERo[:STATe]", "b", None), (":SYSTem:BEEPer[:STATe]", "b", None),
        (":SYSTem:LFRequency", "q", None), (":SYSTem:PRESet", "", "_preset"),
        (":SYSTem:REMote", "", None), (":SYSTem:LOCal", "", None),
    ]
    readback = [
        ("function", ":SENS:FUNC?", function_reply),
        ("res_range", ":SENS:RES:RANG?", range_reply),
        ("res_auto", ":SENS:RES:RANG:AUTO?", flag_reply),
        ("fres_range", ":SENS:FRES:RANG?", range_reply),
        ("fres_auto", ":SENS:FRES:RANG:AUTO?", flag_reply),
    ]
    invariants = [(frozenset({"function", "res_range", "res_auto", "fres_range",
                              "fres_auto"}), "_rule_test_current")]
    read_only: frozenset[str] = frozenset()  # no output: *ESR? confirms every setting
    switches_off = {"function": "VOLT:DC"}  # back to DC volts only takes the current away
    query_handlers = frozenset({"_configure"})  # MEASure:<function>? sets the function

    def unknown_state(self) -> State2000:
        return State2000()

    def reset_state(self) -> State2000:
        """*RST (section 5, SENSe table, *RST column): DC volts; every function on autorange
        (the range value then is the 2000's own choice: the highest counts until read)."""
        return State2000("VOLT:DC", OHMS_RANGES[-1], True, OHMS_RANGES[-1], True)

    # -- handlers ----------------------------------------------------------------------------
    def _function(self, state: State2000, unit: scpi.Unit) -> None:
        if len(unit.data) != 1:
            raise scpi.ScpiSyntaxError(-108, "Parameter not allowed")
        state.function = function_named(unit.data[0])

    def _configure(self, state: State2000, unit: scpi.Unit) -> None:
        """CONFigure:<function> (and MEASure:<function>?): the function with its *RST
        settings, autorange on (section 5, signal-oriented commands)."""
        name = next(n for spec, n in FUNCTIONS.items()
                    if scpi.header_matches(spec, unit.nodes[1:]))
        state.function = name
        if name in OHMS:
            setattr(state, f"{OHMS[name]}_auto", True)
            setattr(state, f"{OHMS[name]}_range", OHMS_RANGES[-1])

    def _ohms_fields(self, unit: scpi.Unit) -> str:
        node = next(n for n in unit.nodes if n.startswith(("RES", "FRES")))
        return "fres" if node.startswith("FRES") else "res"

    def _range(self, state: State2000, unit: scpi.Unit) -> None:
        """RANGe <n>: the expected reading; the 2000 takes the lowest range that holds it
        (120 %) and turns autorange off. MIN, DEF, UP and DOWN count as the lowest range
        (the largest test current), MAX as the highest; a suffix read two ways, the lower."""
        number = scpi.numeric(unit.data[0], "OHM")
        if number.keyword == "MAX":
            expected = OHMS_MAX
        elif number.keyword is not None:
            expected = 0.0
        else:
            expected = min(number.values)
        if not 0.0 <= expected <= OHMS_MAX:
            raise LimitError(f"{self.model}: {unit.text!r} refused: the expected reading "
                             f"{expected:g} ohm is outside the allowed range [0, "
                             f"{OHMS_MAX:g}] ohm")
        fields = self._ohms_fields(unit)
        setattr(state, f"{fields}_range",
                next(r for r in OHMS_RANGES if expected <= r * OVERRANGE))
        setattr(state, f"{fields}_auto", False)

    def _auto(self, state: State2000, unit: scpi.Unit) -> None:
        """RANGe:AUTO: on, any range; off, the 2000 stays on the range autorange chose,
        unknown here until read back (section 3, "Autoranging")."""
        fields = self._ohms_fields(unit)
        on = scpi.boolean(unit.data[0])
        if not on and any(a is not False for a in self.possible(f"{fields}_auto")):
            setattr(state, f"{fields}_range", None)
        setattr(state, f"{fields}_auto", on)

    def _preset(self, state: State2000, unit: scpi.Unit) -> None:
        self._reset(state)

    # -- the rule ----------------------------------------------------------------------------
    def test_current(self, function: str | None, possible) -> tuple[float, str]:
        """The largest test current the 2000 may drive in ``function`` with its ranges as
        ``possible`` gives them, and why (an unknown function or range counts as 1 mA)."""
        largest = max(TEST_CURRENT.values())
        if function in PASSIVE:
            return 0.0, "sources nothing"
        if function in FIXED_TEST_CURRENT:
            return FIXED_TEST_CURRENT[function], "its one test current"
        if function not in OHMS:
            return largest, "an unknown function"
        fields = OHMS[function]
        if any(auto is not False for auto in possible(f"{fields}_auto")):
            return largest, "autorange may reach the 100 ohm range"
        ranges = possible(f"{fields}_range")
        if any(r not in TEST_CURRENT for r in ranges):
            return largest, "its range unknown"
        worst = min(ranges)
        return TEST_CURRENT[worst], f"the {worst:g} ohm range"

    def _rule_test_current(self, possible, text: str) -> None:
        """Every function the 2000 may be in drives at most the read current."""
        limit = self.limits().max_read_current
        for function in possible("function"):
            current, why = self.test_current(function, possible)
            if current > 0.0:
                bounded(self.model, f"test current of {function or 'its function'} ({why})",
                        current, limit, "A", 0.0, text[:80],
                        " (max_read_current: the 2000 drives it through the device it "
                        "reads; Model 2000 User's Manual, Appendix A, test current per range)")

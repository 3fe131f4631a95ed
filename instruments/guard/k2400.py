"""The guard of a Keithley 2400 (Model 2400 User's Manual, section 18, "SCPI command
reference").

Rules (SafetyLimits, SI), on every state the source may hold:
- 2400: every current the instrument may hold (level, triggered level, sweep start/stop,
  list, current compliance) within max_field / coil_constant; every voltage within
  compliance_voltage; while the output may be on, the active function's level known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from instruments import scpi
from instruments.guard.base import (
    STATUS_TABLE,
    LimitsSource,
    SourceGuard,
    Tracked,
    Unconfirmed,
    bounded,
)
from instruments.guard.grammar import flag_reply, list_reply, number_reply, word_reply
from instruments.limits import LimitError

I_2400, V_2400 = 1.05, 210.0  # Model 2400 User's Manual, specifications: +-1.05 A, +-210 V


@dataclass
class State2400(Tracked):
    """What the 2400 may hold, as the guard tracks it: function, levels, sweep and output (None:
    unknown, which every check treats as the worst case)."""
    function: str | None = None
    current: float | None = None
    voltage: float | None = None
    current_triggered: float | None = None
    voltage_triggered: float | None = None
    current_start: float | None = None
    current_stop: float | None = None
    voltage_start: float | None = None
    voltage_stop: float | None = None
    current_list: tuple | None = None
    voltage_list: tuple | None = None
    current_mode: str | None = None
    voltage_mode: str | None = None
    compliance_current: float | None = None
    compliance_voltage: float | None = None
    output: bool | None = None


CURRENT_FIELDS = ("current", "current_triggered", "current_start", "current_stop")
VOLTAGE_FIELDS = ("voltage", "voltage_triggered", "voltage_start", "voltage_stop")


class Guard2400(SourceGuard):
    """Keithley 2400 as coil supply or bias source (Model 2400 User's Manual, section 18
    SCPI command reference: SOURce, SENSe, OUTPut, TRACe, TRIGger/ARM, FORMat, SYSTem...)."""

    model = "Keithley 2400"
    _S = "[:SOURce[1]]"

    def __init__(self, limits: LimitsSource, coil_constant: Callable[[], float]) -> None:
        self.coil_constant = coil_constant
        super().__init__(limits)

    table = [
        (_S + ":FUNCtion[:MODE]", "c", "_function"), (_S + ":FUNCtion:SHAPe", "c", None),
        (_S + ":CURRent[:LEVel][:IMMediate][:AMPLitude]", "n", "_level"),
        (_S + ":CURRent[:LEVel]:TRIGgered[:AMPLitude]", "n", "_level"),
        (_S + ":CURRent:STARt", "n", "_level"), (_S + ":CURRent:STOP", "n", "_level"),
        (_S + ":CURRent:CENTer", "n", "_centre"), (_S + ":CURRent:SPAN", "n", "_span"),
        (_S + ":CURRent:STEP", "n", "_step"), (_S + ":CURRent:MODE", "c", "_mode"),
        (_S + ":CURRent:RANGe", "n", None), (_S + ":CURRent:RANGe:AUTO", "b", None),
        (_S + ":VOLTage[:LEVel][:IMMediate][:AMPLitude]", "n", "_level"),
        (_S + ":VOLTage[:LEVel]:TRIGgered[:AMPLitude]", "n", "_level"),
        (_S + ":VOLTage:STARt", "n", "_level"), (_S + ":VOLTage:STOP", "n", "_level"),
        (_S + ":VOLTage:CENTer", "n", "_centre"), (_S + ":VOLTage:SPAN", "n", "_span"),
        (_S + ":VOLTage:STEP", "n", "_step"), (_S + ":VOLTage:MODE", "c", "_mode"),
        (_S + ":VOLTage:RANGe", "n", None), (_S + ":VOLTage:RANGe:AUTO", "b", None),
        (_S + ":VOLTage:PROTection[:LEVel]", "n", None),
        (_S + ":LIST:CURRent", "n+", "_list"), (_S + ":LIST:CURRent:APPend", "n+", "_list"),
        (_S + ":LIST:CURRent:POINts", "q", None),
        (_S + ":LIST:VOLTage", "n+", "_list"), (_S + ":LIST:VOLTage:APPend", "n+", "_list"),
        (_S + ":LIST:VOLTage:POINts", "q", None),
        (_S + ":SWEep:RANGing", "c", None), (_S + ":SWEep:SPACing", "c", None),
        (_S + ":SWEep:POINts", "n", None), (_S + ":SWEep:DIRection", "c", None),
        (_S + ":SWEep:CABort", "c", None),
        (_S + ":DELay", "n", None), (_S + ":DELay:AUTO", "b", None),
        (_S + ":CLEar[:IMMediate]", "", "_output_off"), (_S + ":CLEar:AUTO", "b", None),
        (_S + ":CLEar:AUTO:MODE", "c", None),
        (":SOURce2:TTL[:LEVel][:DEFault]", "n", None), (":SOURce2:TTL[:LEVel]:ACTual", "q", None),
        (":SOURce2:BSIZe", "n", None), (":SOURce2:TTL4:MODE", "c", None),
        (":SOURce2:TTL4:BSTate", "b", None),
        (":SOURce2:CLEar[:IMMediate]", "", None), (":SOURce2:CLEar:AUTO", "b", None),
        (":SOURce2:CLEar:AUTO:DELay", "n", None),
        (":OUTPut[1][:STATe]", "b", "_output"), (":OUTPut[1]:SMODe", "c", None),
        (":OUTPut[1]:ENABle[:STATe]", "b", None), (":OUTPut[1]:ENABle:TRIPped", "q", None),
        (":OUTPut[1]:INTerlock:STATe", "b", None), (":OUTPut[1]:INTerlock:TRIPped", "q", None),
        ("[:SENSe[1]]:CURRent[:DC]:PROTection[:LEVel]", "n", "_compliance_current"),
        ("[:SENSe[1]]:CURRent[:DC]:PROTection:TRIPped", "q", None),
        ("[:SENSe[1]]:CURRent[:DC]:PROTection:RSYNchronize", "b", None),
        ("[:SENSe[1]]:VOLTage[:DC]:PROTection[:LEVel]", "n", "_compliance_voltage"),
        ("[:SENSe[1]]:VOLTage[:DC]:PROTection:TRIPped", "q", None),
        ("[:SENSe[1]]:VOLTage[:DC]:PROTection:RSYNchronize", "b", None),
        ("[:SENSe[1]]:FUNCtion[:ON]", "c+", None), ("[:SENSe[1]]:FUNCtion:OFF", "c+", None),
        ("[:SENSe[1]]:FUNCtion[:ON]:ALL", "", None), ("[:SENSe[1]]:FUNCtion:OFF:ALL", "", None),
        ("[:SENSe[1]]:FUNCtion[:ON]:COUNt", "q", None),
        ("[:SENSe[1]]:FUNCtion:OFF:COUNt", "q", None),
        ("[:SENSe[1]]:FUNCtion:CONCurrent", "b", None),
        ("[:SENSe[1]]:FUNCtion:STATe", "qs", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe[:UPPer]", "n", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO", "b", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO:ULIMit", "n", None),
        ("[:SENSe[1]]:CURRent[:DC]:RANGe:AUTO:LLIMit", "n", None),
        ("[:SENSe[1]]:CURRent[:DC]:NPLCycles", "n", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe[:UPPer]", "n", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO", "b", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO:ULIMit", "n", None),
        ("[:SENSe[1]]:VOLTage[:DC]:RANGe:AUTO:LLIMit", "n", None),
        ("[:SENSe[1]]:VOLTage[:DC]:NPLCycles", "n", None),
        ("[:SENSe[1]]:RESistance:MODE", "c", None), ("[:SENSe[1]]:RESistance:OCOMpensated", "b",
                                                     None),
        ("[:SENSe[1]]:RESistance:RANGe[:UPPer]", "n", None),
        ("[:SENSe[1]]:RESistance:RANGe:AUTO", "b", None),
        ("[:SENSe[1]]:RESistance:RANGe:AUTO:ULIMit", "n", None),
        ("[:SENSe[1]]:RESistance:RANGe:AUTO:LLIMit", "n", None),
        ("[:SENSe[1]]:RESistance:NPLCycles", "n", None),
        ("[:SENSe[1]]:AVERage[:STATe]", "b", None), ("[:SENSe[1]]:AVERage:TCONtrol", "c", None),
        ("[:SENSe[1]]:AVERage:COUNt", "n", None), ("[:SENSe[1]]:DATA[:LATest]", "q", None),
        (":ROUTe:TERMinals", "c", None),
        (":INITiate[:IMMediate]", "", "_start"), (":ABORt", "", None),
        (":ARM[:SEQuence[1]][:LAYer[1]]:COUNt", "n", None),
        (":ARM[:SEQuence[1]][:LAYer[1]]:SOURce", "c", None),
        (":ARM[:SEQuence[1]][:LAYer[1]]:TIMer", "n", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:DIRection", "c", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:ILINe", "n", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:OLINe", "n", None),
        (":ARM[:SEQuence[1]][:LAYer[1]][:TCONfigure]:OUTPut", "c", None),
        (":TRIGger:CLEar", "", None),
        (":TRIGger[:SEQuence[1]]:COUNt", "n", None), (":TRIGger[:SEQuence[1]]:DELay", "n", None),
        (":TRIGger[:SEQuence[1]]:SOURce", "c", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:DIRection", "c", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:ILINe", "n", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:OLINe", "n", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:INPut", "c", None),
        (":TRIGger[:SEQuence[1]][:TCONfigure]:OUTPut", "c", None),
        (":FETCh", "q", None), (":READ", "q", "_start"),
        (":MEASure:CURRent[:DC]", "q", "_start"), (":MEASure:VOLTage[:DC]", "q", "_start"),
        (":MEASure:RESistance", "q", "_start"), (":MEASure", "q", "_start"),
        (":CALCulate3:FORMat", "c", None), (":CALCulate3:DATA", "q", None),
        (":CALCulate2:FEED", "c", None), (":CALCulate2:DATA", "q", None),
        (":CALCulate2:NULL:OFFSet", "n", None), (":CALCulate2:NULL:STATe", "b", None),
        (":TRACe:DATA", "q", None), (":TRACe:CLEar", "", None), (":TRACe:FREE", "q", None),
        (":TRACe:POINts", "n", None), (":TRACe:POINts:ACTual", "q", None),
        (":TRACe:FEED", "c", None), (":TRACe:FEED:CONTrol", "c", None),
        (":TRACe:TSTamp:FORMat", "c", None),
        (":FORMat[:DATA]", "c+", None), (":FORMat:ELEMents[:SENSe[1]]", "c+", None),
        (":FORMat:ELEMents:CALCulate", "c+", None), (":FORMat:BORDer", "c", None),
        (":FORMat:SREGister", "c", None), (":FORMat:SOURce2", "c", None),
        (":DISPlay:ENABle", "b", None), (":DISPlay:CNDisplay", "", None),
        (":DISPlay[:WINDow[1]]:TEXT[:DATA]", "s", None),
        (":DISPlay[:WINDow[1]]:TEXT:STATe", "b", None),
        (":DISPlay:WINDow2:TEXT[:DATA]", "s", None), (":DISPlay:WINDow2:TEXT:STATe", "b", None),
        (":DISPlay:DIGits", "n", None),
        *STATUS_TABLE,  # STATus and SYSTem:ERRor, the same in both manuals
        (":SYSTem:AZERo[:STATe]", "b", None),  # ON, OFF, <b> or ONCE (Table 18-9)
        (":SYSTem:BEEPer[:STATe]", "b", None),
        (":SYSTem:CLEar", "", None), (":SYSTem:KEY", "n", None), (":SYSTem:LFRequency", "n", None),
        (":SYSTem:LFRequency:AUTO", "b", None), (":SYSTem:TIME", "q", None),
        (":SYSTem:TIME:RESet", "", None), (":SYSTem:LOCal", "", None),
        (":SYSTem:REMote", "", None), (":SYSTem:RWLock", "", None), (":SYSTem:RSENse", "b", None),
        (":SYSTem:GUARd", "c", None), (":SYSTem:PRESet", "", "_preset"),
    ]
    readback = [
        ("output", ":OUTP?", flag_reply), ("function", ":SOUR:FUNC?", word_reply),
        ("current", ":SOUR:CURR?", number_reply), ("voltage", ":SOUR:VOLT?", number_reply),
        ("current_triggered", ":SOUR:CURR:TRIG?", number_reply),
        ("voltage_triggered", ":SOUR:VOLT:TRIG?", number_reply),
        ("current_start", ":SOUR:CURR:STAR?", number_reply),
        ("current_stop", ":SOUR:CURR:STOP?", number_reply),
        ("voltage_start", ":SOUR:VOLT:STAR?", number_reply),
        ("voltage_stop", ":SOUR:VOLT:STOP?", number_reply),
        ("current_list", ":SOUR:LIST:CURR?", list_reply),
        ("voltage_list", ":SOUR:LIST:VOLT?", list_reply),
        ("current_mode", ":SOUR:CURR:MODE?", word_reply),
        ("voltage_mode", ":SOUR:VOLT:MODE?", word_reply),
        ("compliance_current", ":SENS:CURR:PROT?", number_reply),
        ("compliance_voltage", ":SENS:VOLT:PROT?", number_reply),
    ]
    invariants = [
        (frozenset({"output", "function", "current", "voltage", "current_mode",
                    "voltage_mode", "current_start", "current_stop", "voltage_start",
                    "voltage_stop", "current_list", "voltage_list", "compliance_current",
                    "compliance_voltage"}), "_rule_output"),
    ]
    switches_off = {"output": False}

    def unknown_state(self) -> State2400:
        return State2400()

    def reset_state(self) -> State2400:
        """*RST (2400 User's Manual, section 18 tables, *RST column): source V at 0,
        21 V / 105 uA compliance, fixed mode, lists of one 0, output off."""
        return State2400("VOLT", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, (0.0,), (0.0,),
                         "FIX", "FIX", 105e-6, 21.0, False)

    def _max_current(self) -> float:
        return min(I_2400, self.limits().max_field / self.coil_constant())

    def _level(self, state: State2400, unit: scpi.Unit) -> None:
        node = next(n for n in unit.nodes if n.startswith(("CURR", "VOLT")))
        current = node.startswith("CURR")
        kind = "current" if current else "voltage"
        value = self.value(unit, "A" if current else "V", I_2400 if current else V_2400)
        last = unit.nodes[-1]
        if last.startswith("STAR"):
            name = f"{kind}_start"
        elif last.startswith("STOP"):
            name = f"{kind}_stop"
        elif any(n.startswith("TRIG") for n in unit.nodes):
            name = f"{kind}_triggered"
        else:
            name = kind
        self._check(name, value, unit)
        setattr(state, name, value)

    def _centre(self, state: State2400, unit: scpi.Unit) -> None:
        """CENTer and SPAN set STARt and STOP (section 10, sweep)."""
        kind = "current" if any(n.startswith("CURR") for n in unit.nodes) else "voltage"
        value = self.value(unit, "A" if kind == "current" else "V",
                           I_2400 if kind == "current" else V_2400)
        start, stop = getattr(state, f"{kind}_start"), getattr(state, f"{kind}_stop")
        self.derived(f"{kind}_start", f"{kind}_start", f"{kind}_stop")
        self.derived(f"{kind}_stop", f"{kind}_start", f"{kind}_stop")
        half = None if start is None or stop is None else abs(stop - start) / 2
        self._set_sweep(state, kind, None if half is None else (value - half, value + half),
                        unit)

    def _span(self, state: State2400, unit: scpi.Unit) -> None:
        kind = "current" if any(n.startswith("CURR") for n in unit.nodes) else "voltage"
        span = abs(self.value(unit, "A" if kind == "current" else "V",
                              2 * I_2400 if kind == "current" else 2 * V_2400))
        start, stop = getattr(state, f"{kind}_start"), getattr(state, f"{kind}_stop")
        self.derived(f"{kind}_start", f"{kind}_start", f"{kind}_stop")
        self.derived(f"{kind}_stop", f"{kind}_start", f"{kind}_stop")
        centre = None if start is None or stop is None else (start + stop) / 2
        self._set_sweep(state, kind, None if centre is None else (centre - span / 2,
                                                                  centre + span / 2), unit)

    def _set_sweep(self, state: State2400, kind: str, ends: tuple[float, float] | None,
                   unit: scpi.Unit) -> None:
        for name, value in zip((f"{kind}_start", f"{kind}_stop"), ends or (None, None),
                               strict=True):
            if value is not None:
                self._check(name, value, unit)
            setattr(state, name, value)

    def _step(self, state: State2400, unit: scpi.Unit) -> None:
        self.value(unit, "A" if any(n.startswith("CURR") for n in unit.nodes) else "V",
                   2 * V_2400)  # the points stay between STARt and STOP

    def _list(self, state: State2400, unit: scpi.Unit) -> None:
        current = unit.nodes[-1 if not unit.nodes[-1].startswith("APP") else -2].startswith(
            "CURR")
        name = "current_list" if current else "voltage_list"
        values = tuple(self.values(unit, "A" if current else "V", I_2400 if current
                                   else V_2400))
        if unit.nodes[-1].startswith("APP"):
            self.derived(name, name)
            values = (*(getattr(state, name) or (I_2400 if current else V_2400,)), *values)
        for value in values:
            self._check(name, value, unit)
        setattr(state, name, values)

    def _compliance_current(self, state: State2400, unit: scpi.Unit) -> None:
        state.compliance_current = self._check(
            "compliance_current", self.value(unit, "A", I_2400, default=105e-6), unit)

    def _compliance_voltage(self, state: State2400, unit: scpi.Unit) -> None:
        state.compliance_voltage = self._check(
            "compliance_voltage", self.value(unit, "V", V_2400, default=21.0), unit)

    def _check(self, name: str, value: float | None, unit: scpi.Unit | str) -> float:
        """A current within the coil's limit (max_field / coil_constant), a voltage within
        the compliance-voltage limit; compliances from 0."""
        text = unit if isinstance(unit, str) else unit.text
        why = "" if isinstance(unit, str) else self.reading(
            unit, "A" if name.startswith(("current", "compliance_current")) else "V")
        if name.startswith("current") or name == "compliance_current":
            label = {"current": "coil current", "compliance_current": "compliance current"}.get(
                name, f"coil current ({name.replace('_', ' ')})")
            return bounded(self.model, label, value, self._max_current(), "A",
                            0.0 if name.startswith("compliance") else None, text[:80], why)
        label = {"voltage": "source voltage", "compliance_voltage": "compliance voltage"}.get(
            name, f"source voltage ({name.replace('_', ' ')})")
        return bounded(self.model, label, value, self.limits().compliance_voltage, "V",
                        0.0 if name.startswith("compliance") else None, text[:80], why)

    def _function(self, state: State2400, unit: scpi.Unit) -> None:
        state.function = scpi.character(unit.data[0], {"CURRent": "CURR", "VOLTage": "VOLT"})

    def _mode(self, state: State2400, unit: scpi.Unit) -> None:
        mode = scpi.character(unit.data[0], {"FIXed": "FIX", "SWEep": "SWE", "LIST": "LIST"})
        setattr(state, "current_mode" if any(n.startswith("CURR") for n in unit.nodes)
                else "voltage_mode", mode)

    def _output(self, state: State2400, unit: scpi.Unit) -> None:
        state.output = scpi.boolean(unit.data[0])

    def _output_off(self, state: State2400, unit: scpi.Unit) -> None:
        state.output = False

    query_handlers = frozenset({"_start"})  # READ? and MEASure? are queries that start

    def _start(self, state: State2400, unit: scpi.Unit) -> None:
        """INIT, READ? and MEASure? start the source (with auto output-off, section 10, the
        output goes on for the sweep): checked as if the output were on. MEASure? is
        CONFigure and READ? (section 18, signal oriented measurement commands), and
        CONFigure switches the output on: it stays on afterwards."""
        picture = self._pic

        def worst(field: str) -> list:
            return [True] if field == "output" else picture.possible(field)

        def nominal(field: str) -> list:
            return [True] if field == "output" else [getattr(picture.nominal, field)]

        try:
            self._rule_output(worst, unit.text)
        except LimitError as err:
            self._rule_output(nominal, unit.text)
            raise Unconfirmed(str(err)) from None
        if unit.nodes[0].startswith("MEAS"):
            state.output = True

    def _preset(self, state: State2400, unit: scpi.Unit) -> None:
        self._reset(state)

    def _rule_output(self, possible, text: str) -> None:
        """With the output maybe on (or starting), what the active function sources must be
        known: the level of its mode and the other side's compliance."""
        if all(v is False for v in possible("output")):
            return
        for function in possible("function"):
            if function not in ("CURR", "VOLT"):
                raise LimitError(f"{self.model}: {text!r} refused: the source function is "
                                 "unknown with the output maybe on (send *RST or "
                                 ":SOUR:FUNC first)")
            kind = "current" if function == "CURR" else "voltage"
            needed = {"compliance_voltage" if kind == "current" else "compliance_current"}
            for mode in possible(f"{kind}_mode"):
                needed |= {"FIX": {kind}, "SWE": {f"{kind}_start", f"{kind}_stop"},
                           "LIST": {f"{kind}_list"}}.get(mode, {kind, f"{kind}_start",
                                                                f"{kind}_stop", f"{kind}_list"})
            for name in sorted(needed):
                for value in possible(name):
                    if value is None:
                        raise LimitError(
                            f"{self.model}: {text!r} refused: {name.replace('_', ' ')} "
                            "unknown with the output maybe on (set it first)")
                    for item in value if isinstance(value, tuple) else (value,):
                        self._check(name, item, text)

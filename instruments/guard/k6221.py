"""The guard of a Keithley 6221 (Model 6220/6221 Reference Manual, section 14 "SCPI tables").

Rules (SafetyLimits, SI), on every state the source may hold:
- 6221 DC level: |I| <= max_pulse_current; with the output maybe on, |I| <= max_read_current.
  A DC level above the read limit is never switched on: software cannot bound how long it
  stays on (bus, operating system), so pulses above the read limit are hardware-timed
  waveforms whose length the guard can compute. Compliance <= compliance_voltage, known while
  the output or a waveform may be on.
- 6221 waveform: |offset| <= max_read_current; |offset| + amplitude * max|shape| <=
  max_pulse_current; while it may be armed or playing, every stretch above the read limit
  (cyclic, capped by the duration) <= max_pulse_width, the duration taken as the longer of
  its two readings (the seconds given, or the cycles at the frequency it was given at). An
  ARB location not defined on this instrument since it was known counts as full scale. A
  finite waveform counts as done once the instrument has said so (``*WAI`` sent after it, or
  the reply to an ``*OPC?`` read), an endless one until ``WAVE:ABORt``.
- 6221 sweeps: every point <= max_pulse_current, when set and again while a sweep may be
  armed; then a point above the read limit is held no longer than max_pulse_width (checked
  again when a delay or a point changes after ``SWE:ARM``). Delta: high and low <= the read
  limit. Pulse delta: high <= max_pulse_current, low <= the read limit, width <=
  max_pulse_width. Differential conductance: every level it steps through, max(|start|,
  |stop|) + step + delta (User's Manual Fig. 5-10: the staircase runs from start - step to
  stop + step, delta added), <= the read limit. Each mode's settings must be known when it
  is armed, and are checked then against the limits of that moment (a switch system's
  routed device: ``k7002``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from instruments import scpi
from instruments.guard.base import REL, STATUS_TABLE, SourceGuard, Tracked, bounded
from instruments.guard.grammar import flag_reply, list_reply, number_reply, word_reply
from instruments.limits import LimitError

I_6221 = 0.105  # A, Model 6220/6221 Reference Manual, specifications: +-105 mA
SHAPE_SAMPLES = 3600
DELAY_MAX = 999999.999


@dataclass
class State6221(Tracked):
    """What the 6221 may hold, as the guard tracks it: level, output, compliance, the waveform
    and sweep settings (None: unknown, which every check treats as the worst case)."""
    level: float | None = None
    output: bool | None = None
    compliance: float | None = None
    function: str | None = None
    frequency: float | None = None
    amplitude: float | None = None
    offset: float | None = None
    duty: float | None = None
    duration: tuple | None = None  # ("CYCL", n, frequency then) or ("TIME", s, frequency)
    arb0: tuple | None = None
    arb1: tuple | None = None
    arb2: tuple | None = None
    arb3: tuple | None = None
    arb4: tuple | None = None
    wave_armed: bool | None = None  # armed or playing (None: unknown, maybe)
    wave_started: bool | None = None  # INITiated: done once the instrument says so
    spacing: str | None = None
    sweep_start: float | None = None
    sweep_stop: float | None = None
    sweep_center: float | None = None
    sweep_span: float | None = None
    delay: float | None = None
    list_currents: tuple | None = None
    list_delays: tuple | None = None
    sweep_armed: bool | None = None
    delta_high: float | None = None
    delta_low: float | None = None
    pdel_high: float | None = None
    pdel_low: float | None = None
    pdel_width: float | None = None
    dcon_start: float | None = None
    dcon_step: float | None = None
    dcon_stop: float | None = None
    dcon_delta: float | None = None
    armed_mode: str | None = None  # "DELT", "PDEL", "DCON", "" (none) or None (unknown)




ARB_FIELDS = tuple(f"arb{k}" for k in range(5))
WAVE_FIELDS = frozenset({"wave_armed", "function", "frequency", "amplitude", "offset",
                         "duty", "duration", *ARB_FIELDS})
SWEEP_FIELDS = frozenset({"sweep_armed", "spacing", "sweep_start", "sweep_stop",
                          "sweep_center", "sweep_span", "delay", "list_currents",
                          "list_delays"})
DELTA_FIELDS = frozenset({"armed_mode", "delta_high", "delta_low", "pdel_high", "pdel_low",
                          "pdel_width", "dcon_start", "dcon_step", "dcon_stop", "dcon_delta"})




class Guard6221(SourceGuard):
    """Keithley 6221 (Model 6220/6221 Reference Manual, section 14 "SCPI tables": the
    SOURce subsystem with its sweep, list, delta, pulse-delta, differential-conductance and
    waveform/ARB commands, OUTPut, TRIGger/ARM with the trigger link, SENSe and CALCulate for
    the 2182A, TRACe, DISPlay, FORMat, STATus, SYSTem, UNIT)."""

    model = "Keithley 6221"
    _S = "[:SOURce[1]]"
    table = [
        # SOURce: DC level, range, compliance, sweeps, lists (section 14, SOURce subsystem)
        (_S + ":CURRent[:LEVel][:IMMediate][:AMPLitude]", "n", "_level"),
        (_S + ":CURRent:RANGe", "n", None), (_S + ":CURRent:RANGe:AUTO", "b", None),
        (_S + ":CURRent:COMPliance", "n", "_compliance"),
        (_S + ":CURRent:FILTer[:STATe]", "b", None),
        (_S + ":CURRent:STARt", "n", "_sweep_point"), (_S + ":CURRent:STOP", "n", "_sweep_point"),
        (_S + ":CURRent:CENTer", "n", "_sweep_point"), (_S + ":CURRent:SPAN", "n", "_sweep_span"),
        (_S + ":CURRent:STEP", "n", "_sweep_step"),
        (_S + ":CLEar[:IMMediate]", "", "_output_off"),
        (_S + ":DELay", "n", "_delay"),
        (_S + ":SWEep:SPACing", "c", "_spacing"), (_S + ":SWEep:POINts", "n", None),
        (_S + ":SWEep:RANGing", "c", None), (_S + ":SWEep:COUNt", "n", None),
        (_S + ":SWEep:CABort", "c", None), (_S + ":SWEep:ARM", "", "_sweep_arm"),
        (_S + ":SWEep:ABORt", "", "_sweep_abort"),
        (_S + ":LIST:CURRent", "n+", "_list_currents"),
        (_S + ":LIST:CURRent:APPend", "n+", "_list_append"),
        (_S + ":LIST:CURRent:POINts", "q", None),
        (_S + ":LIST:DELay", "n+", "_list_delays"),
        (_S + ":LIST:DELay:APPend", "n+", "_list_delays_append"),
        (_S + ":LIST:DELay:POINts", "q", None),
        (_S + ":LIST:COMPliance", "n+", "_list_compliances"),
        (_S + ":LIST:COMPliance:APPend", "n+", "_list_compliances"),
        (_S + ":LIST:COMPliance:POINts", "q", None),
        # delta, pulse delta, differential conductance (with a 2182A)
        (_S + ":DELTa:HIGH", "n", "_delta_level"), (_S + ":DELTa:LOW", "n", "_delta_level"),
        (_S + ":DELTa:DELay", "n", None), (_S + ":DELTa:COUNt", "n", None),
        (_S + ":DELTa:CABort", "b", None), (_S + ":DELTa:ARM", "", "_delta_arm"),
        (_S + ":DELTa:NVPResent", "q", None),
        (_S + ":PDELta:HIGH", "n", "_pdel_high"), (_S + ":PDELta:LOW", "n", "_pdel_low"),
        (_S + ":PDELta:WIDTh", "n", "_pdel_width"), (_S + ":PDELta:SDELay", "n", None),
        (_S + ":PDELta:COUNt", "n", None), (_S + ":PDELta:RANGe", "c", None),
        (_S + ":PDELta:INTerval", "n", None), (_S + ":PDELta:SWEep", "b", None),
        (_S + ":PDELta:LMEasure", "n", None), (_S + ":PDELta:ARM", "", "_pdel_arm"),
        (_S + ":PDELta:NVPResent", "q", None),
        (_S + ":DCONductance:STARt", "n", "_dcon_level"),
        (_S + ":DCONductance:STEP", "n", "_dcon_level"),
        (_S + ":DCONductance:STOP", "n", "_dcon_level"),
        (_S + ":DCONductance:DELTa", "n", "_dcon_level"),
        (_S + ":DCONductance:DELay", "n", None), (_S + ":DCONductance:CABort", "b", None),
        (_S + ":DCONductance:ARM", "", "_dcon_arm"), (_S + ":DCONductance:NVPResent", "q", None),
        # waveform function generator (6221 only)
        (_S + ":WAVE:FUNCtion", "c", "_wave_function"),
        (_S + ":WAVE:FREQuency", "n", "_wave_frequency"),
        (_S + ":WAVE:AMPLitude", "n", "_wave_amplitude"),
        (_S + ":WAVE:OFFSet", "n", "_wave_offset"), (_S + ":WAVE:DCYCle", "n", "_wave_duty"),
        (_S + ":WAVE:DURation:TIME", "n", "_wave_time"),
        (_S + ":WAVE:DURation:CYCLes", "n", "_wave_cycles"),
        (_S + ":WAVE:RANGing", "c", None),
        (_S + ":WAVE:PMARker[:LEVel]", "n", None), (_S + ":WAVE:PMARker:STATe", "b", None),
        (_S + ":WAVE:PMARker:OLINe", "n", None),
        (_S + ":WAVE:ARBitrary:DATA", "n+", "_arb_data"),
        (_S + ":WAVE:ARBitrary:APPend", "n+", "_arb_append"),
        (_S + ":WAVE:ARBitrary:COPY", "n", "_arb_copy"), (_S + ":WAVE:ARBitrary:NAME", "*", None),
        (_S + ":WAVE:ARM", "", "_wave_arm"), (_S + ":WAVE:INITiate", "", "_wave_start"),
        (_S + ":WAVE:ABORt", "", "_wave_abort"),
        # OUTPut
        (":OUTPut[:STATe]", "b", "_output"), (":OUTPut:LTEarth", "b", None),
        (":OUTPut:ISHield", "c", None), (":OUTPut:RESPonse", "c", None),
        (":OUTPut:INTerlock:TRIPped", "q", None),
        # trigger model, trigger link (section 14 TRIGger subsystem; section 9 triggering)
        (":INITiate[:IMMediate]", "", None), (":ABORt", "", None),
        (":ARM:SOURce", "c", None), (":ARM:TIMer", "n", None), (":ARM:DIRection", "c", None),
        (":ARM:ILINe", "n", None), (":ARM:OLINe", "n", None), (":ARM:OUTPut", "c", None),
        (":ARM:COUNt", "n", None),
        (":TRIGger:SOURce", "c", None), (":TRIGger:DIRection", "c", None),
        (":TRIGger:ILINe", "n", None), (":TRIGger:OLINe", "n", None),
        (":TRIGger:OUTPut", "c", None), (":TRIGger:COUNt", "n", None),
        (":TRIGger:DELay", "n", None), (":TRIGger:TIMer", "n", None),
        # measurement side (2182A through the 6221), buffer, display, format, status, system
        (":SENSe[1]:DATA[:LATest]", "q", None), (":SENSe[1]:DATA:FRESh", "q", None),
        (":SENSe[1]:AVERage[:STATe]", "b", None), (":SENSe[1]:AVERage:TCONtrol", "c", None),
        (":SENSe[1]:AVERage:WINDow", "n", None), (":SENSe[1]:AVERage:COUNt", "n", None),
        (":CALCulate[1]:FORMat", "c", None), (":CALCulate[1]:KMATh:MMFactor", "n", None),
        (":CALCulate[1]:KMATh:MBFactor", "n", None), (":CALCulate[1]:KMATh:MUNits", "s", None),
        (":CALCulate[1]:STATe", "b", None), (":CALCulate[1]:DATA", "q", None),
        (":CALCulate[1]:DATA:LATest", "q", None),
        (":CALCulate2:FORMat", "c", None), (":CALCulate2:LIMit[1]:UPPer[:DATA]", "n", None),
        (":CALCulate2:LIMit[1]:LOWer[:DATA]", "n", None),
        (":CALCulate2:LIMit[1]:STATe", "b", None), (":CALCulate2:LIMit[1]:FAIL", "q", None),
        (":CALCulate3:FORMat", "c", None), (":CALCulate3:DATA", "q", None),
        (":TRACe:CLEar", "", None), (":TRACe:FREE", "q", None), (":TRACe:POINts", "n", None),
        (":TRACe:POINts:ACTual", "q", None), (":TRACe:NOTify", "n", None),
        (":TRACe:DATA", "q", None), (":TRACe:DATA:TYPE", "q", None),
        (":DISPlay:ENABle", "b", None), (":DISPlay[:WINDow[1]]:TEXT[:DATA]", "s", None),
        (":DISPlay[:WINDow[1]]:TEXT:STATe", "b", None),
        (":DISPlay:WINDow2:TEXT[:DATA]", "s", None), (":DISPlay:WINDow2:TEXT:STATe", "b", None),
        (":DISPlay[:WINDow[1]]:DATA", "q", None), (":DISPlay:WINDow2:DATA", "q", None),
        (":DISPlay:CNDisplay", "", None),
        (":FORMat[:DATA]", "c+", None), (":FORMat:ELEMents", "c+", None),
        (":FORMat:BORDer", "c", None), (":FORMat:SREGister", "c", None),
        *STATUS_TABLE,  # STATus and SYSTem:ERRor, the same in both manuals
        (":SYSTem:KEY", "n", None), (":SYSTem:BEEPer[:STATe]", "b", None),
        (":SYSTem:CLEar", "", None), (":SYSTem:LOCal", "", None), (":SYSTem:REMote", "", None),
        (":SYSTem:RWLock", "", None), (":SYSTem:PRESet", "", "_preset"),
        # the RS-232 link to a 2182A nanovoltmeter (delta modes): text for the voltmeter
        (":SYSTem:COMMunicate:SERial:SEND", "s", None),
        (":SYSTem:COMMunicate:SERial:ENTer", "q", None),
        (":SYSTem:COMMunicate:SERial:BAUD", "n", None),
        (":UNIT[:VOLTage][:DC]", "c", None),
    ]
    readback = [
        ("output", ":OUTP?", flag_reply), ("level", ":SOUR:CURR?", number_reply),
        ("compliance", ":SOUR:CURR:COMP?", number_reply),
        ("function", ":SOUR:WAVE:FUNC?", word_reply),
        ("frequency", ":SOUR:WAVE:FREQ?", number_reply),
        ("amplitude", ":SOUR:WAVE:AMPL?", number_reply),
        ("offset", ":SOUR:WAVE:OFFS?", number_reply),
        ("duty", ":SOUR:WAVE:DCYC?", number_reply),
        ("duration", ":SOUR:WAVE:DUR:TIME?", lambda t: ("TIME", number_reply(t), None)),
        ("spacing", ":SOUR:SWE:SPAC?", word_reply),
        ("sweep_start", ":SOUR:CURR:STAR?", number_reply),
        ("sweep_stop", ":SOUR:CURR:STOP?", number_reply),
        ("sweep_center", ":SOUR:CURR:CENT?", number_reply),
        ("sweep_span", ":SOUR:CURR:SPAN?", number_reply),
        ("delay", ":SOUR:DEL?", number_reply),
        ("list_currents", ":SOUR:LIST:CURR?", list_reply),
        ("list_delays", ":SOUR:LIST:DEL?", list_reply),
        ("sweep_armed", ":SOUR:SWE:ARM?", flag_reply),
    ]
    invariants = [
        (frozenset({"level", "output"}), "_rule_dc"),
        (frozenset({"compliance", "output", "wave_armed"}), "_rule_compliance"),
        (frozenset({"amplitude", "offset", "function", *ARB_FIELDS}), "_rule_peak"),
        (WAVE_FIELDS, "_rule_waveform"),
        (SWEEP_FIELDS, "_rule_sweep"),
        (DELTA_FIELDS, "_rule_delta"),
    ]
    completion_fields = frozenset({"wave_armed", "wave_started"})
    switches_off = {"output": False, "wave_armed": False, "wave_started": False,
                    "sweep_armed": False, "armed_mode": ""}

    def unknown_state(self) -> State6221:
        return State6221()

    def reset_state(self) -> State6221:
        """*RST defaults (Reference Manual, section 14 tables, default column); ARB
        locations 1-4 live in non-volatile memory and stay as they were; the delta modes'
        levels are taken as unknown until set (they are checked when armed)."""
        state = self.picture.nominal if self._pic is None else self._pic.nominal
        return State6221(level=0.0, output=False, compliance=10.0, function="SIN",
                         frequency=1e3, amplitude=2e-12, offset=0.0, duty=50.0,
                         duration=("CYCL", math.inf, 1e3), arb0=(0.0, 0.0), arb1=state.arb1,
                         arb2=state.arb2, arb3=state.arb3, arb4=state.arb4,
                         wave_armed=False, wave_started=False, spacing="LIN",
                         sweep_start=0.0, sweep_stop=0.0, sweep_center=0.0, sweep_span=0.0,
                         delay=1e-3, list_currents=(0.0,), list_delays=(1e-3,),
                         sweep_armed=False, armed_mode="")

    def _after_readback(self) -> None:
        """A duration read back in seconds is tied to the frequency read with it."""
        state = self.picture.nominal
        if state.duration is not None and state.duration[2] is None and \
                "frequency" not in self.picture.uncertain():
            state.duration = (*state.duration[:2], state.frequency)

    # -- DC ------------------------------------------------------------------------------
    def _level(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        bounded(self.model, "DC current", value, self.limits().max_pulse_current, "A",
                 text=unit.text, why=self.reading(unit, "A"))
        state.level = value

    def _output(self, state: State6221, unit: scpi.Unit) -> None:
        state.output = scpi.boolean(unit.data[0])

    def _output_off(self, state: State6221, unit: scpi.Unit) -> None:
        state.output = False

    def _preset(self, state: State6221, unit: scpi.Unit) -> None:
        self._reset(state)

    def _compliance(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "V", 105.0, 0.1, default=10.0)
        bounded(self.model, "compliance voltage", value, self.limits().compliance_voltage,
                 "V", 0.0, unit.text)
        state.compliance = value

    def _list_compliances(self, state: State6221, unit: scpi.Unit) -> None:
        for value in self.values(unit, "V", 105.0):
            bounded(self.model, "compliance voltage", value,
                     self.limits().compliance_voltage, "V", 0.0, unit.text[:80])

    def _rule_dc(self, possible, text: str) -> None:
        limits = self.limits()
        levels = possible("level")
        for level in levels:
            if level is not None:
                bounded(self.model, "DC current", level, limits.max_pulse_current, "A",
                         text=text)
        if any(on is not False for on in possible("output")):
            for level in levels:
                if level is None:
                    raise LimitError(f"{self.model}: {text!r} refused: the DC level is "
                                     "unknown with the output maybe on (send *RST or set "
                                     "SOUR:CURR first)")
                if abs(level) > limits.max_read_current * (1 + REL):
                    raise LimitError(
                        f"{self.model}: DC current = {level:g} A with the output maybe on "
                        f"(in {text!r}) is outside the allowed range "
                        f"[{-limits.max_read_current:g}, {limits.max_read_current:g}] A "
                        "(safety limit: above the read current only hardware-timed pulses "
                        f"up to {limits.max_pulse_width:g} s)")

    def _rule_compliance(self, possible, text: str) -> None:
        limits = self.limits()
        live = any(v is not False for v in possible("output")) or \
            any(v is not False for v in possible("wave_armed"))
        if not live:
            return
        for value in possible("compliance"):
            bounded(self.model, "compliance voltage", value, limits.compliance_voltage,
                     "V", 0.0, text)

    # -- delta, pulse delta, differential conductance ---------------------------------------
    def _delta_level(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        bounded(self.model, "delta current", value, self.limits().max_read_current, "A",
                 text=unit.text, why=self.reading(unit, "A"))
        setattr(state, "delta_" + ("high" if unit.nodes[-1].startswith("HIGH") else "low"),
                value)

    def _pdel_high(self, state: State6221, unit: scpi.Unit) -> None:
        state.pdel_high = bounded(self.model, "pulse-delta high", self.value(unit, "A", I_6221),
                                   self.limits().max_pulse_current, "A", text=unit.text,
                                   why=self.reading(unit, "A"))

    def _pdel_low(self, state: State6221, unit: scpi.Unit) -> None:
        state.pdel_low = bounded(self.model, "pulse-delta low", self.value(unit, "A", I_6221),
                                  self.limits().max_read_current, "A", text=unit.text,
                                  why=self.reading(unit, "A"))

    def _pdel_width(self, state: State6221, unit: scpi.Unit) -> None:
        state.pdel_width = bounded(self.model, "pulse width", self.value(unit, "S", 12e-3,
                                                                          50e-6, 110e-6),
                                    self.limits().max_pulse_width, "s", 0.0, unit.text)

    def _dcon_level(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        bounded(self.model, "differential-conductance current", value,
                 self.limits().max_read_current, "A", text=unit.text,
                 why=self.reading(unit, "A"))
        name = {"STAR": "start", "STEP": "step", "STOP": "stop", "DELT": "delta"}[
            unit.nodes[-1][:4]]
        setattr(state, "dcon_" + name, value)

    def _delta_arm(self, state: State6221, unit: scpi.Unit) -> None:
        state.armed_mode = "DELT"

    def _pdel_arm(self, state: State6221, unit: scpi.Unit) -> None:
        state.armed_mode = "PDEL"

    def _dcon_arm(self, state: State6221, unit: scpi.Unit) -> None:
        state.armed_mode = "DCON"

    def _rule_delta(self, possible, text: str) -> None:
        """An armed delta mode (Reference Manual section 5; one at a time: arming one
        un-arms the others) with every level it drives within its limit."""
        limits = self.limits()
        modes = possible("armed_mode")
        maybe = {m for m in modes if m} | ({"DELT", "PDEL", "DCON"} if None in modes else set())

        def known(name: str) -> list[float]:
            values = possible(name)
            if None in values:
                raise LimitError(f"{self.model}: {text!r} refused: {name.replace('_', ' ')} "
                                 "unknown while its mode may be armed (set it first)")
            return values

        if "DELT" in maybe:
            for name in ("delta_high", "delta_low"):
                for value in known(name):
                    bounded(self.model, name.replace("_", " "), value,
                             limits.max_read_current, "A", text=text)
        if "PDEL" in maybe:
            for value in known("pdel_high"):
                bounded(self.model, "pulse-delta high", value, limits.max_pulse_current, "A",
                         text=text)
            for value in known("pdel_low"):
                bounded(self.model, "pulse-delta low", value, limits.max_read_current, "A",
                         text=text)
            for value in known("pdel_width"):
                bounded(self.model, "pulse width", value, limits.max_pulse_width, "s", 0.0,
                         text)
        if "DCON" in maybe:
            peak = max(abs(a) for a in known("dcon_start") + known("dcon_stop")) + \
                max(abs(s) for s in known("dcon_step")) + max(abs(d) for d in known("dcon_delta"))
            bounded(self.model, "differential-conductance peak (max(|start|, |stop|) + step"
                     " + delta)", peak, limits.max_read_current, "A", text=text)

    # -- sweeps --------------------------------------------------------------------------
    def _sweep_point(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        bounded(self.model, "sweep current", value, self.limits().max_pulse_current, "A",
                 text=unit.text, why=self.reading(unit, "A"))
        setattr(state, {"STAR": "sweep_start", "STOP": "sweep_stop", "CENT": "sweep_center"}[
            unit.nodes[-1][:4]], value)

    def _sweep_span(self, state: State6221, unit: scpi.Unit) -> None:
        state.sweep_span = abs(self.value(unit, "A", 2 * I_6221))

    def _sweep_step(self, state: State6221, unit: scpi.Unit) -> None:
        self.value(unit, "A", I_6221)  # the points stay between STARt and STOP

    def _delay(self, state: State6221, unit: scpi.Unit) -> None:
        state.delay = self.value(unit, "S", DELAY_MAX, 1e-3, 1e-3)

    def _spacing(self, state: State6221, unit: scpi.Unit) -> None:
        state.spacing = scpi.character(unit.data[0], {"LINear": "LIN", "LOGarithmic": "LOG",
                                                      "LIST": "LIST"})

    def _list_currents(self, state: State6221, unit: scpi.Unit) -> None:
        state.list_currents = tuple(self._checked_list(unit))

    def _list_append(self, state: State6221, unit: scpi.Unit) -> None:
        self.derived("list_currents", "list_currents")
        state.list_currents = (*(state.list_currents or (I_6221,)), *self._checked_list(unit))

    def _checked_list(self, unit: scpi.Unit) -> list[float]:
        values = self.values(unit, "A", I_6221)
        for value in values:
            bounded(self.model, "sweep current", value, self.limits().max_pulse_current,
                     "A", text=unit.text[:80])
        return values

    def _list_delays(self, state: State6221, unit: scpi.Unit) -> None:
        state.list_delays = tuple(self.values(unit, "S", DELAY_MAX))

    def _list_delays_append(self, state: State6221, unit: scpi.Unit) -> None:
        self.derived("list_delays", "list_delays")
        state.list_delays = (*(state.list_delays or (math.inf,)),
                             *self.values(unit, "S", DELAY_MAX))

    def _sweep_arm(self, state: State6221, unit: scpi.Unit) -> None:
        state.sweep_armed = True
        state.armed_mode = ""  # arming a sweep un-arms a delta mode

    def _sweep_abort(self, state: State6221, unit: scpi.Unit) -> None:
        """SOURce:SWEep:ABORt: stops a sweep, and un-arms delta, pulse delta and
        differential conductance (Reference Manual section 5)."""
        state.sweep_armed = False
        state.armed_mode = ""

    def _rule_sweep(self, possible, text: str) -> None:
        """While a sweep may be armed, every point within the pulse-current limit as it is
        now (a point set under a higher limit, before another device was routed, is refused
        at arming), and a point above the read limit, DC for its delay, no longer than the
        pulse-width limit (Reference Manual, sweeps: each point lasts its source delay)."""
        if all(armed is False for armed in possible("sweep_armed")):
            return
        limits = self.limits()
        holds: list[tuple[float, float]] = []
        for spacing in possible("spacing"):
            if spacing in ("LIST", None):
                for currents in possible("list_currents"):
                    for delays in possible("list_delays"):
                        currents_ = currents or (I_6221,)
                        delays_ = delays or (math.inf,)
                        if len(delays_) == 1:
                            delays_ = delays_ * len(currents_)
                        holds += list(zip(currents_, tuple(delays_) + (math.inf,) * len(
                            currents_), strict=False))
            if spacing != "LIST":
                points = possible("sweep_start") + possible("sweep_stop")
                for centre in possible("sweep_center"):
                    for span in possible("sweep_span"):
                        if centre is None or span is None:
                            points.append(None)
                        else:
                            points += [centre - span / 2, centre + span / 2]
                peak = max((abs(p) if p is not None else I_6221) for p in points)
                holds += [(peak, d if d is not None else math.inf) for d in possible("delay")]
        for current, hold in holds:
            bounded(self.model, "armed sweep point", current, limits.max_pulse_current, "A",
                    text=text, why=" (the limits may have fallen since it was set: another "
                    "device routed)")
            if abs(current) > limits.max_read_current * (1 + REL) and \
                    hold > limits.max_pulse_width:
                raise LimitError(
                    f"{self.model}: sweep point {current:g} A held {hold:g} s (in "
                    f"{text!r}) is above the read current for longer than the allowed "
                    f"pulse width [0, {limits.max_pulse_width:g}] s (safety limit)")

    # -- waveforms -----------------------------------------------------------------------
    def _wave_function(self, state: State6221, unit: scpi.Unit) -> None:
        state.function = scpi.character(unit.data[0], {
            "SINe": "SIN", "SQUare": "SQU", "RAMP": "RAMP", "ARBitrary0": "ARB0",
            "ARBitrary1": "ARB1", "ARBitrary2": "ARB2", "ARBitrary3": "ARB3",
            "ARBitrary4": "ARB4"})

    def _wave_frequency(self, state: State6221, unit: scpi.Unit) -> None:
        """1 mHz to 100 kHz (section 11): a value outside, which the instrument refuses, is
        refused here too (a period the guard could not compute with)."""
        state.frequency = bounded(self.model, "waveform frequency",
                                  self.value(unit, "HZ", 1e5, 1e-3, 1e3), 1e5, "Hz", 1e-3,
                                  unit.text, why=self.reading(unit, "HZ"))

    def _wave_amplitude(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221, 2e-12, 2e-12)
        bounded(self.model, "waveform amplitude", value, self.limits().max_pulse_current,
                 "A", 0.0, unit.text, why=self.reading(unit, "A"))
        state.amplitude = value

    def _wave_offset(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "A", I_6221)
        bounded(self.model, "waveform offset", value, self.limits().max_read_current, "A",
                 text=unit.text, why=self.reading(unit, "A"))
        state.offset = value

    def _wave_duty(self, state: State6221, unit: scpi.Unit) -> None:
        state.duty = bounded(self.model, "duty cycle", self.value(unit, "PCT", 100.0, 0.0, 50.0),
                             100.0, "%", 0.0, unit.text)

    def _wave_time(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "S", 999999.999, 100e-9, math.inf)
        self.derived("duration", "frequency")
        state.duration = ("TIME", math.inf if value >= scpi.SCPI_INFINITY else value,
                          state.frequency)

    def _wave_cycles(self, state: State6221, unit: scpi.Unit) -> None:
        value = self.value(unit, "", 99999999999.0, 1e-3, math.inf)
        self.derived("duration", "frequency")
        state.duration = ("CYCL", math.inf if value >= scpi.SCPI_INFINITY else value,
                          state.frequency)

    def _arb_points(self, unit: scpi.Unit) -> tuple[float, ...]:
        points = []
        for data in unit.data:
            number = scpi.numeric(data)
            points.append(1.0 if number.keyword else max(number.values, key=abs))
        return tuple(points)

    def _arb_data(self, state: State6221, unit: scpi.Unit) -> None:
        state.arb0 = self._arb_points(unit)

    def _arb_append(self, state: State6221, unit: scpi.Unit) -> None:
        self.derived("arb0", "arb0")
        state.arb0 = (*(state.arb0 or (1.0,)), *self._arb_points(unit))

    def _arb_copy(self, state: State6221, unit: scpi.Unit) -> None:
        location = self.value(unit, "", 4, 1)
        if location not in (1, 2, 3, 4):
            raise scpi.ScpiSyntaxError(-222, "ARB location must be 1-4")
        name = f"arb{int(location)}"
        self.derived(name, "arb0")
        setattr(state, name, state.arb0)

    def _wave_arm(self, state: State6221, unit: scpi.Unit) -> None:
        state.wave_armed, state.wave_started = True, False

    def _wave_start(self, state: State6221, unit: scpi.Unit) -> None:
        state.wave_armed = state.wave_started = True

    def _wave_abort(self, state: State6221, unit: scpi.Unit) -> None:
        state.wave_armed = state.wave_started = False

    def completed(self, state: State6221) -> None:
        """A waveform of finite duration has played out and disarmed itself; one of
        infinite duration plays until ABORt."""
        if state.wave_started and state.duration is not None and \
                math.isfinite(state.duration[1]):
            state.wave_armed = state.wave_started = False

    def _shapes(self, possible, function: str | None) -> list[tuple]:
        """The keys of each shape ``function`` may have (see ``_shape``): the ARB points,
        or the duty cycle of a built-in shape."""
        if function is not None and function.startswith("ARB"):
            return [(function, None, points) for points in possible(f"arb{function[3]}")]
        return [(function, duty, None) for duty in possible("duty")]

    def _rule_peak(self, possible, text: str) -> None:
        limits = self.limits()
        amplitude = max((a for a in possible("amplitude") if a is not None), default=0.0)
        offsets = [o for o in possible("offset") if o is not None] or [0.0]
        for offset in offsets:
            bounded(self.model, "waveform offset", offset, limits.max_read_current, "A",
                     text=text)
        for function in possible("function"):
            peak = 1.0 if function is not None and not function.startswith("ARB") else max(
                float(np.max(np.abs(_shape(*key)))) for key in self._shapes(possible, function))
            bounded(self.model, "waveform peak (offset + amplitude x shape)",
                     max(abs(o) for o in offsets) + amplitude * peak,
                     limits.max_pulse_current, "A", text=text)

    def _rule_waveform(self, possible, text: str) -> None:
        """While a waveform may be armed or playing: known amplitude and offset, the peak,
        and the longest stretch above the read current (cyclic, capped by the duration; a
        sampled shape gets two samples of margin)."""
        if all(armed is False for armed in possible("wave_armed")):
            return
        limits = self.limits()
        amplitudes, offsets = possible("amplitude"), possible("offset")
        if None in amplitudes or None in offsets:
            raise LimitError(f"{self.model}: {text!r} refused: waveform amplitude or offset "
                             "unknown with a waveform maybe armed (send *RST or set "
                             "SOUR:WAVE:AMPL and :OFFS first)")
        self._rule_peak(possible, text)
        amplitude = max(amplitudes)
        frequencies = possible("frequency")
        frequency = None if None in frequencies else min(frequencies)
        period = 1.0 / frequency if frequency else math.inf
        total = max(self._seconds(d, frequency) for d in possible("duration"))
        for function in possible("function"):
            for key in self._shapes(possible, function):
                for offset in offsets:
                    run, points = _above(key, offset, amplitude,
                                         limits.max_read_current * (1 + REL))
                    if not run:
                        continue
                    if run >= points:
                        stretch = total
                    else:
                        margin = 0 if function and function.startswith("ARB") else 2
                        stretch = min(total, (run + margin) * period / points)
                    if stretch > limits.max_pulse_width:
                        raise LimitError(
                            f"{self.model}: waveform above the read current for {stretch:g} s"
                            f" (in {text!r}) is outside the allowed pulse width "
                            f"[0, {limits.max_pulse_width:g}] s (safety limit)")

    @staticmethod
    def _seconds(duration: tuple | None, frequency: float | None) -> float:
        """The longest a duration can last: as given (seconds, or cycles at the present
        frequency) or in the other unit at the frequency it was given at (the instrument
        may keep either when the frequency changes)."""
        if duration is None or frequency is None:
            return math.inf
        kind, amount, given_at = duration
        if not math.isfinite(amount):
            return math.inf
        if kind == "CYCL":
            other = amount / given_at if given_at else math.inf
            return max(amount / frequency, other)
        other = amount * given_at / frequency if given_at else math.inf
        return max(amount, other)


@lru_cache(maxsize=64)
def _shape(function: str | None, duty: float | None, points: tuple | None) -> np.ndarray:
    """One period normalised to the amplitude: the ARB points, a built-in shape sampled
    ``SHAPE_SAMPLES`` times at its duty cycle; unknown counts as full scale."""
    if function is None or (function.startswith("ARB") and not points):
        return np.ones(1)
    if function.startswith("ARB"):
        return np.asarray(points, dtype=float)
    phase = (np.arange(SHAPE_SAMPLES) + 0.5) / SHAPE_SAMPLES
    duty = 50.0 if duty is None else duty
    if function == "SQU":
        return np.where(phase < duty / 100.0, 1.0, -1.0)
    if function == "RAMP":
        rise = max(duty / 100.0, 1e-9)
        return np.where(phase < rise, -1 + 2 * phase / rise,
                        1 - 2 * (phase - rise) / max(1 - rise, 1e-9))
    return np.sin(2 * np.pi * phase)


@lru_cache(maxsize=256)
def _above(key: tuple, offset: float, amplitude: float, threshold: float) -> tuple[int, int]:
    """(longest cyclic run of points above ``threshold``, points per period) of a shape."""
    shape = _shape(*key)
    above = np.abs(offset + amplitude * shape) > threshold
    return (_longest_cyclic_run(above) if above.any() else 0), len(shape)


def _longest_cyclic_run(mask: np.ndarray) -> int:
    if mask.all():
        return len(mask)
    doubled = np.concatenate([mask, mask]).astype(np.int8)
    edges = np.diff(np.concatenate([[0], doubled, [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return int(min(np.max(ends - starts), len(mask)))

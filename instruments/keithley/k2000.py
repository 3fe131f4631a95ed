"""Keithley 2000 reading the anomalous-Hall voltage: the trigger model's sources, the
1,024-reading buffer read back in single-precision binary."""

from __future__ import annotations

import re
import warnings

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley2000
from pymeasure.instruments.validators import strict_discrete_set, strict_range, truncated_range

from instruments.errors import ReplyError
from instruments.guard import Guard2000
from instruments.keithley.base import SafeWriteMixin, _guarded
from instruments.keithley.replies import COMMON_REPLIES, read_sreal_block
from instruments.limits import SafetyLimits

# The 2000's binary readings (Model 2000 User's Manual, section 5, :FORMat subsystem,
# Fig. 5-2): SREal records, "#0" and a single, least significant byte first (see replies).
BINARY_READINGS = ":FORM SRE;:FORM:BORD SWAP"


class HallVoltmeter(SafeWriteMixin, Keithley2000):
    """Keithley 2000 reading the anomalous-Hall voltage (paper 002 Methods 4.3), with the
    guard under it: in its ohms functions the 2000 drives a test current through the device
    (``instruments.guard.k2000``), held to the read limit."""

    def __init__(self, adapter, limits: SafetyLimits | None = None, **kwargs) -> None:
        self._limits = limits or SafetyLimits()
        self.guard = Guard2000(lambda: self.limits)
        self.guard.name = kwargs.get("name", "Keithley 2000 Multimeter")
        adapter = _guarded(adapter, self.guard, kwargs)
        with warnings.catch_warnings():  # pymeasure 0.16's SCPIUnknownMixin FutureWarning
            warnings.simplefilter("ignore", FutureWarning)
            super().__init__(adapter, **kwargs)

    voltage_nplc = Instrument.control(
        ":SENS:VOLT:NPLC?", ":SENS:VOLT:NPLC %g",
        """Control the DC-voltage integration time in power-line cycles, 0.01 to 10.""",
        validator=strict_range, values=[0.01, 10],
    )
    voltage_ac_range = Instrument.control(
        ":SENS:VOLT:AC:RANG?", ":SENS:VOLT:AC:RANG:AUTO 0;:SENS:VOLT:AC:RANG %g",
        """Control the AC voltage range in volts, 0 to 757.5 V (auto-range off).""",
        validator=truncated_range, values=[0, 757.5],
    )
    trigger_source = Instrument.control(
        ":TRIG:SOUR?", ":TRIG:SOUR %s",
        """Control the trigger model's control source (Model 2000 User's Manual Fig. 4-11):
        'immediate', 'external' (EXT TRIG of the trigger link, or *TRG), 'timer', 'manual'
        or 'bus'. The 2000 has no TLINk source and no arm layer.""",
        validator=strict_discrete_set,
        values={"immediate": "IMM", "external": "EXT", "timer": "TIM", "manual": "MAN",
                "bus": "BUS"}, map_values=True,
    )
    sample_count = Instrument.control(
        ":SAMP:COUN?", ":SAMP:COUN %d", """Control readings per trigger, 1 to 1024.""",
        validator=strict_range, values=[1, 1024], cast=int,
    )
    continuous_initiation = Instrument.control(
        ":INIT:CONT?", ":INIT:CONT %d", """Control continuous initiation (off for triggered
        acquisition).""", validator=strict_discrete_set, values={True: 1, False: 0},
        map_values=True,
    )
    autozero_enabled = Instrument.control(
        ":SYST:AZER:STAT?", ":SYST:AZER:STAT %d", """Control autozero (off halves the read
        time, at the cost of drift).""", validator=strict_discrete_set,
        values={True: 1, False: 0}, map_values=True,
    )
    display_enabled = Instrument.control(
        ":DISP:ENAB?", ":DISP:ENAB %d", """Control the front panel display (off is faster).""",
        validator=strict_discrete_set, values={True: 1, False: 0}, map_values=True,
    )

    def initiate(self) -> None:
        """``:INIT``: take the trigger model out of idle (User's Manual section 4, trigger
        model, Fig. 4-11), so it waits at its control source for the triggers armed."""
        self.write(":INIT")

    def shutdown(self) -> None:
        """Safe: DC volts, a function that drives no test current through the device
        (section 5, SENSe :FUNCtion), asked only if the guard is not sure it is there."""
        possible = self.guard.picture.possible("function")
        if possible != ["VOLT:DC"]:
            self.write(":SENS:FUNC 'VOLT:DC'")
        super().shutdown()

    _replies = (*COMMON_REPLIES, (re.compile(r":?(?:READ|FETC(?:H)?)\?$", re.I), "readings"))
    _samples = 1  # readings per trigger (:SAMP:COUN): what :FETC? answers with
    _buffered = 0  # readings the armed buffer can take at most

    def fetch(self, samples: int | None = None) -> list[float]:
        """The readings of the last trigger (:FETC?): ``samples`` of them (default: the
        sample count this driver armed), or a ReplyError."""
        return self.query(":FETC?", "readings", self._samples if samples is None else samples)

    def read_voltage(self) -> float:
        """One immediate reading (``:READ?``, section 5, signal oriented commands): V on DC
        volts, where the cycle reads the Hall voltage; in another function, in that one's unit."""
        return self.read_float(":READ?")

    trigger_count = Instrument.control(
        ":TRIG:COUN?", ":TRIG:COUN %d", """Control how many times the trigger model passes
        its control source before returning to idle, 1 to 9999.""",
        validator=strict_range, values=[1, 9999], cast=int,
    )

    def line_frequency(self) -> float:
        """The power-line frequency the integration time counts in (Hz, :SYST:LFR?; the
        2000 answers 50 or 60)."""
        reply = self.ask(":SYST:LFR?")
        if reply.strip() not in ("50", "60"):
            raise ReplyError(self.name, ":SYST:LFR?", reply, "expected 50 or 60")
        return float(reply)

    trigger_delay = Instrument.control(
        ":TRIG:DEL?", ":TRIG:DEL %g", """Control the trigger delay in seconds (sending one
        turns the auto delay off).""", validator=strict_range, values=[0, 999999.999],
    )

    def arm_external_buffer(self, triggers: int, samples: int = 1, delay: float = 0.0) -> None:
        """Wait at the control source for ``triggers`` pulses on EXT TRIG, each followed by
        ``samples`` readings ``delay`` apart (trigger model, Fig. 4-11), every reading
        into the 1024-reading buffer (TRACe, feed control NEXT)."""
        strict_range(triggers * samples, [1, 1024])
        self._samples, self._buffered = samples, triggers * samples
        self.write(":ABOR")
        self.continuous_initiation = False
        self.trigger_source = "external"
        self.trigger_delay = delay
        self.sample_count = samples
        self.trigger_count = triggers
        self.write(f":TRAC:CLE;:TRAC:POIN {max(2, triggers * samples)};:TRAC:FEED SENS;"
                   f":TRAC:FEED:CONT NEXT;{BINARY_READINGS}")
        self.initiate()
        self.check_errors()  # a query: the 2000 has taken :INIT before the 6221 plays

    def buffer_readings(self) -> list[float]:
        """Every reading the buffer holds (:TRAC:DATA?, in SREal: 6 bytes a reading where
        ASCII takes 16); fewer than armed for means triggers were missed, more, or a
        malformed record, is a ReplyError."""
        command = ":TRAC:DATA?"
        self._query = command
        self.write(command)
        readings = read_sreal_block(self.name, command, self._read_block_part)
        if len(readings) > self._buffered:
            raise ReplyError(self.name, command, ",".join(map(str, readings)),
                             f"{len(readings)} readings where at most {self._buffered} armed")
        return readings

    def _read_block_part(self) -> bytes:
        """The bytes up to and including the next line feed (which, in a binary block,
        may be a data byte: ``read_sreal_block`` asks for more then)."""
        return self.read_bytes(-1, break_on_termchar=True)

    def immediate_triggering(self) -> None:
        """Back to one immediate reading per :READ? (and the buffer off)."""
        self.write(":ABOR;:TRAC:FEED:CONT NEV;:FORM ASC")
        self._samples, self._buffered = 1, 0
        self.trigger_source = "immediate"
        self.trigger_count = 1
        self.sample_count = 1
        self.trigger_delay = 0


"""Emulator of the Keithley 6221 current source (Model 6220/6221 Reference Manual,
622x-901-01).

Command table: the manual's SCPI tables (section 14) for the DC source and its staircase and
custom sweeps (section 4), the waveform functions (section 11: SOURce:WAVE, arbitrary
waveforms, phase marker), the trigger model and trigger link (sections 9 and 10: ARM and
TRIGger layers, INITiate, ABORt), pulse delta with a 2182A (section 5, SOURce:PDELta, the
buffer's TRACe:DATA? and SENSe:DATA?), DISPlay, STATus and SYSTem;
anything else is -113 "Undefined header". Parameters as the manual gives them: every number
in its documented range (-222 outside), MINimum, MAXimum and DEFault, DEFault being the
setting's *RST value (the "default" column of the tables: 0 A for the source level, not the
minimum), INFinity where the table allows it; no suffixes (-138: the tables take <NRf>);
<b> ON, OFF or a number rounded to an integer. Lines are read with the one grammar
(``instruments.scpi``): strings in either quote with ``;`` inside, tabs as white space.

A waveform plays on the virtual clock point by point: every point drives the device for its
duration, the 2000's running integrations see it, and the phase marker pulses the
trigger-link line it is set to at its point, which reaches the 2000's EXT TRIG when the lab
wires that line to it. Its duration is one setting the manual lets you give in cycles
(DURation:CYCLes, 0.001 to 99,999,999,999) or in seconds (DURation:TIME, 100 ns to
999,999.999 s): each sets the same duration, read back in either unit (seconds = cycles /
frequency); the one given last is kept when the frequency changes. A fraction of a cycle
plays that fraction of the points (DUR:CYCL 0.5 plays half a period).

The source drives a load: the routed devices' write channels and the leads
(``Chip.load_resistance``). A current I needs I x R; past the compliance voltage
(SOURce:CURRent:COMPliance, 0.1-105 V, *RST 10 V) the output is clamped there and the load
gets V_comp / R, nothing into an open circuit (User's Manual section 3, "Compliance",
p. 3-3: "the magnitude of the current output will be less than the programmed setting").
Every output is judged so, the DC level, each point of a waveform and each segment of a
pulse delta cycle, and the instrument reports it as its manual says: bit B3 (Comp) of the
measurement condition register while in compliance, latched into the measurement event
register on entering it (Reference Manual section 11, "Status Structure", Fig. 11-1 p. 11-3
and Fig. 11-6 "Measurement event status" p. 11-16; STATus:MEASurement:CONDition? and
[:EVENt]?, Table 11-4 p. 11-17). Reading the event register clears it, as does *CLS; the
enabled bits set the status byte's measurement summary bit (MSB, B0). The front panel's
OUTPUT indicator blinks in compliance (p. 3-3): no query reads it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import instruments.scpi as scpi
from simulators.lab.base import LabInstrument
from simulators.lab.strict import Refused, boolean, choice, fmt, number
from simulators.lab.units import K6221Times, nominal_unit

INF = math.inf
COMPLIANCE_BIT = 8  # B3 (Comp) of the measurement registers, Reference Manual Fig. 11-6


@dataclass(frozen=True)
class K6221Timing:
    """The 6221's limits and costs, one place (Reference Manual; pymeasure's Keithley6221
    validators agree): source delay from 1 ms (SOURce:DELay, so a list or software sweep
    steps at <= 1 kHz); waveforms 1 mHz-100 kHz (SOURce:WAVE:FREQuency), DURation:TIME
    from 100 ns; arbitrary waveforms of 2-65,536 points, sent 100 points a command
    (ARB:DATA, ARB:APPend), 4 user slots (ARB:COPY 1-4); trigger-link lines 1-6 for the
    output trigger and the phase marker (TRIGger:OLINe, WAVE:PMARker:OLINe)."""

    source_delay_min: float = 1e-3
    frequency_min: float = 1e-3
    frequency_max: float = 1e5
    duration_min: float = 100e-9
    arb_points_max: int = 65536
    arb_points_per_command: int = 100
    arb_slots: int = 4
    trigger_lines: int = 6


TIMING = K6221Timing()

# The trigger model (Reference Manual section 9, "Triggering"; section 14, TRIGger subsystem
# table): an arm layer whose event detector takes IMMediate, TIMer, BUS (*TRG or GET), TLINk,
# the digital I/O's start-of-test lines (BSTest, PSTest, NSTest) or MANual (the TRIG key);
# a trigger layer with IMMediate or TLINk only; each layer's trigger-link input and output
# lines 1-6, its event detector bypass (DIRection SOURce: pass the detector once) and the
# arm layer's output trigger on exiting the trigger layer (OUTPut TEXit).
ARM_SOURCES = {"IMMediate": "IMM", "TIMer": "TIM", "BUS": "BUS", "TLINk": "TLIN",
               "BSTest": "BST", "PSTest": "PST", "NSTest": "NST", "MANual": "MAN"}
TRIGGER_SOURCES = {"IMMediate": "IMM", "TLINk": "TLIN"}
DIRECTIONS = {"SOURce": "SOUR", "ACCeptor": "ACC"}
ARM_TIMER = (1e-3, 99999.99)  # s, ARM:TIMer, *RST 0.1 s

# Pulse delta with a 2182A (User's Manual section 5, "Pulse Delta", pp. 5-21 to 5-34): each
# cycle pulses low, high, low on the rising edges of the first three line cycles, the output
# at the low level for the rest of the interval; the 2182A converts once a pulse, after the
# source delay, and a reading is (2B - A - C) / 2 (3 points) or B - A (LMEasure 2, p. 5-22).
# Ranges (the manual's pulse delta command table; third-party drivers' validators agree):
# HIGH and LOW +-105 mA, WIDTh 50 us-12 ms, SDELay 16 us-11.966 ms, COUNt 1-65636 or INF,
# INTerval 5-999999 PLC (p. 5-28: 5 the default and the minimum), RANGe BEST or FIXed,
# SWEep OFF (p. 5-28), LMEasure 2 or 3 (3 the default, p. 5-28). Armed with PDEL:ARM (the
# 6221 talks to the 2182A over RS-232 then, p. 5-34), started by the trigger model
# (INITiate), unarmed by SOURce:SWEep:ABORt.
PDEL_WIDTH = (50e-6, 12e-3)
PDEL_SOURCE_DELAY = (16e-6, 11.966e-3)
PDEL_COUNT_MAX = 65636
PDEL_INTERVAL = (5, 999999)
BUFFER_MAX = 65536  # TRACe:POINts 1-65536
SHAPE_POINTS = 64  # a sine or ramp period played as this many points
CYCLES_MAX = 99999999999.0
TIME_MAX = 999999.999


def _onoff(value) -> str:
    return str(int(value))


def _count_out(value: float) -> str:
    return "9.9E37" if value == INF else str(int(value))


def _low_measurements(args) -> int:
    """PDELta:LMEasure: 2 or 3 low-pulse measurements a cycle (User's Manual p. 5-28)."""
    value = number(args, 2, 3)
    if value not in (2, 3):
        raise Refused(-222, "2 or 3")
    return int(value)


def _duration_out(value: float) -> str:
    return "9.9E37" if value == INF else fmt(value)


class Keithley6221Emulator(LabInstrument):
    """The 6221 as its reference manual describes it (622x-901-01, sections 4, 10, 11, 14):
    every command, reply, range and error the manual lists, nothing more."""
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 6221,4123456,D04  /700x "
    unit = nominal_unit("6221")  # the virtual lab gives each instrument its drawn unit

    @property
    def times(self) -> K6221Times:
        """Arming, ARB parsing, settling, the marker's latency, the unit's timebase
        (simulators/lab/units.py)."""
        return K6221Times(self.unit)

    def reset(self) -> None:
        """*RST and SYSTem:PRESet: the default column of the section 14 tables. The ARB
        memory locations 1-4 are kept (non-volatile)."""
        self._flush()
        self.output = False
        self.current = 0.0
        self.compliance = 10.0
        self.range_auto = True
        self.source_range = 0.1
        self.filter = False
        self.source_delay = 1e-3
        self.sweep_start = self.sweep_stop = self.sweep_step = 0.0
        self.sweep_center = self.sweep_span = 0.0
        self.sweep_points = 11
        self.wave_function = "SIN"
        self.wave_frequency = 1e3
        self.wave_amplitude = 2e-12
        self.wave_offset = 0.0
        self.wave_duty = 50.0
        self.duration = ("CYCL", INF)  # (the unit it was given in, the amount)
        self.wave_ranging = "BEST"
        self.wave_armed = False
        self.wave_running = False  # an endless waveform started: plays until WAVE:ABOR
        self.arb: dict[int, list[float]] = {0: [0.0, 0.0]}
        if not hasattr(self, "arb_copy"):
            self.arb_copy: dict[int, list[float]] = {}
        if not hasattr(self, "measurement_event"):  # *RST leaves the status registers
            self.measurement_event = self.measurement_enable = 0
        self.in_compliance = False
        self.trigger_output = "NONE"
        self.trigger_line = 1
        self.marker_phase = 0.0
        self.marker_on = False
        self.marker_line = 1
        self.display = True
        self.display_text = {1: ("", False), 2: ("", False)}
        self.shield = "OLOW"
        self.low_to_earth = False
        self.sweep_count = 1
        self.sweep_spacing = "LIN"
        self.sweep_ranging = "BEST"
        self.sweep_armed = False
        self.list_currents: list[float] = [0.0]
        self.list_delays: list[float] = [TIMING.source_delay_min]
        self.list_compliances: list[float] = [10.0]
        self.trace_points = 1
        self.buffer: list[tuple[float, float]] = []  # (reading, timestamp) of delta tests
        self.generic: dict[str, str] = {}
        self.arm_source, self.arm_timer, self.arm_direction = "IMM", 0.1, "ACC"
        self.arm_input_line, self.arm_output_line, self.arm_output = 1, 2, "NONE"
        self.trigger_source, self.trigger_direction, self.trigger_input_line = \
            "IMM", "ACC", 1
        self.pdel = {"high": 1e-3, "low": 0.0, "width": 110e-6, "sdelay": 100e-6,
                     "count": INF, "interval": 5, "range": "BEST", "sweep": False,
                     "lmeasure": 3}
        self.armed_mode = ""  # "PDEL" once pulse delta is armed
        self.pdel_running = False  # an endless pulse delta test: low level until aborted
        self.waiting_trigger = False  # initiated, waiting at an event detector
        self._on_since = self.clock.seconds if hasattr(self, "clock") else 0.0

    # the current flowing since the last change goes through the device when anything changes
    def _flush(self) -> None:
        if hasattr(self, "output") and self.programmed():
            self.chip.drive(self._judge(self.programmed()), self.clock.seconds - self._on_since)
        if hasattr(self, "clock"):
            self._on_since = self.clock.seconds

    def _set(self, name: str, value) -> None:
        if name in ("output", "current", "compliance"):
            self._flush()
        before = self.programmed()
        setattr(self, name, value)
        if self.programmed() != before:  # the output settles to its new level
            self.clock.advance(self.times.settle())
        if name in ("output", "current", "compliance"):
            self._judge(self.programmed())  # the new level into the load, now

    # -- the load and the compliance (User's Manual p. 3-3; Reference Manual section 11) --
    def delivered(self, level: float) -> float:
        """The current (A) the load receives when ``level`` is programmed: ``level``, or
        V_comp / R_load with its sign once |level| x R_load passes the compliance voltage
        (0 into an open circuit)."""
        if level == 0.0:
            return 0.0
        resistance = self.chip.load_resistance()
        if abs(level) * resistance <= self.compliance:
            return level
        return math.copysign(self.compliance / resistance, level)  # 0 when R is infinite

    def _judge(self, level: float) -> float:
        """``level`` flows from now: the current the load receives, the measurement
        condition's Comp bit set while clamped and latched into the event register when
        it sets (a transition from out of compliance into it)."""
        current = self.delivered(level)
        clamped = current != level
        if clamped and not self.in_compliance:
            self.measurement_event |= COMPLIANCE_BIT
        self.in_compliance = clamped
        return current

    def measurement_condition(self) -> int:
        """The measurement condition register now (B3, Comp: the output clamped at the
        compliance voltage; the other bits are not emulated and read 0)."""
        self._judge(self.programmed())  # the load may have changed since (a contact opened)
        return COMPLIANCE_BIT if self.in_compliance else 0

    def _measurement(self, part: str):
        """STATus:MEASurement[:EVENt]? (read and cleared), :ENABle and :CONDition?."""
        def handler(unit: scpi.Unit) -> str | None:
            if part == "ENAB":
                if unit.query:
                    if unit.data:
                        raise Refused(-108)
                    return str(self.measurement_enable)
                self.measurement_enable = int(self._one(unit, lambda a: number(a, 0, 65535)))
                return None
            if not unit.query:
                raise Refused(-113)
            if unit.data:
                raise Refused(-108)
            if part == "COND":
                return str(self.measurement_condition())
            self.measurement_condition()  # an entry since the last change is an event too
            value, self.measurement_event = self.measurement_event, 0
            return str(value)

        return handler

    def _clear_status(self) -> None:
        """*CLS: the error queue, the standard event register and the measurement event
        register cleared (Reference Manual section 11)."""
        super()._clear_status()
        self.measurement_event = 0

    def _status_byte(self) -> str:
        """*STB?: the common bits, and MSB (B0) when an enabled measurement event is set."""
        self.measurement_condition()
        msb = 1 if self.measurement_event & self.measurement_enable else 0
        return str(int(super()._status_byte()) | msb)

    def power_on_reset(self) -> None:
        """Fault injection: a power cycle, which also clears the measurement registers."""
        super().power_on_reset()
        self.measurement_event = self.measurement_enable = 0
        self.in_compliance = False

    # wired by the virtual lab: trigger-link line -> the receiver of its pulses (the 2000's
    # EXT TRIG), and the instruments that see the current (the 2000 integrating)
    trigger_link: dict[int, Callable[[float], None]] = {}
    observers: tuple = ()

    # wired by the virtual lab: the 2182A on the RS-232 and trigger-link cables (pulse delta)
    nanovoltmeter = None

    def programmed(self) -> float:
        """The output's programmed level now (A): the source level with the output on, a
        running pulse delta test's low level; what the switch system's relays break."""
        if getattr(self, "pdel_running", False):
            return self.pdel["low"]
        return self.current if self.output else 0.0

    def flowing(self) -> float:
        """Current through the device now (A): the programmed level as the load takes it
        (less, in compliance)."""
        return self.delivered(self.programmed())

    # -- waveform duration: one setting, in cycles or in seconds --------------------------
    def duration_seconds(self) -> float:
        """The waveform's duration in seconds (``SOUR:WAVE:DUR:TIME?``), from whichever unit
        it was given in last: cycles / frequency (section 11; INF plays until aborted)."""
        kind, amount = self.duration
        return amount if kind == "TIME" else amount / self.wave_frequency

    def duration_cycles(self) -> float:
        """The waveform's duration in cycles (``SOUR:WAVE:DUR:CYCL?``), from whichever unit
        it was given in last: seconds x frequency (section 11)."""
        kind, amount = self.duration
        return amount if kind == "CYCL" else amount * self.wave_frequency

    def _duration(self, kind: str):
        low, high = (TIMING.duration_min, TIME_MAX) if kind == "TIME" else (1e-3, CYCLES_MAX)

        def handler(unit: scpi.Unit) -> str | None:
            if unit.query:
                return _duration_out(self.duration_seconds() if kind == "TIME"
                                     else self.duration_cycles())
            self.duration = (kind, self._one(unit, lambda a: number(
                a, low, high, {"INF": INF}, default=INF)))
            return None

        return handler

    # -- arbitrary waveforms ----------------------------------------------------------------
    def _arb_data(self, unit: scpi.Unit):
        if unit.query:
            return ",".join(fmt(v) for v in self.arb[0])
        points = self._points(unit)
        if len(points) < 2:
            raise Refused(-222, "an arbitrary waveform needs at least 2 points")
        self.arb[0] = points
        return None

    def _points(self, unit: scpi.Unit) -> list[float]:
        if not unit.data:
            raise Refused(-109)
        if len(unit.data) > TIMING.arb_points_per_command:
            raise Refused(-222, "100 points a command")
        points = [number(d, -1.0, 1.0) for d in unit.data]
        self.clock.advance(self.times.parse(len(points)))  # parsing the upload
        return points

    def _arb_append(self, unit: scpi.Unit):
        points = self._points(unit)
        if len(self.arb[0]) + len(points) > TIMING.arb_points_max:
            raise Refused(-222, "an arbitrary waveform holds at most 65,536 points")
        self.arb[0] = self.arb[0] + points
        return None

    def _arb_copy(self, unit: scpi.Unit):
        slot = int(self._one(unit, lambda a: number(a, 1, TIMING.arb_slots)))
        self.arb_copy[slot] = list(self.arb[0])
        return None

    def _list(self, name: str, low: float, high: float, append: bool = False):
        """A sweep list of 1-100 points (SOURce:LIST:CURRent, DELay, COMPliance)."""
        def handler(unit: scpi.Unit):
            if unit.query:
                return ",".join(fmt(v) for v in getattr(self, name))
            values = [number(d, low, high) for d in unit.data] if unit.data else []
            if not values:
                raise Refused(-109)
            total = (getattr(self, name) if append else []) + values
            if len(total) > 100:
                raise Refused(-222, f"{len(total)} points, allowed 1-100")
            setattr(self, name, total)
            return None

        return handler

    # -- playing a waveform -------------------------------------------------------------------
    def _wave_arm(self, unit: scpi.Unit):
        if self.wave_function.startswith("ARB") and int(self.wave_function[3]) not in (
                self.arb_copy.keys() | {0}):
            raise Refused(-221, "arbitrary waveform not defined")
        self._flush()
        self.clock.advance(self.times.arm())
        self.wave_armed = True
        return None

    def shape(self) -> list[float]:
        """One period of the selected function, as the points it is played as."""
        if self.wave_function.startswith("ARB"):
            location = int(self.wave_function[3])
            return self.arb[0] if location == 0 else self.arb_copy[location]
        if self.wave_function == "SQU":
            high = max(1, round(self.wave_duty))
            return [1.0] * high + [-1.0] * (100 - high)
        phase = [(k + 0.5) / SHAPE_POINTS for k in range(SHAPE_POINTS)]
        if self.wave_function == "RAMP":
            rise = max(self.wave_duty / 100.0, 1e-9)
            return [-1 + 2 * p / rise if p < rise else 1 - 2 * (p - rise) / max(1 - rise, 1e-9)
                    for p in phase]
        return [math.sin(2 * math.pi * p) for p in phase]

    def _wave_init(self, unit: scpi.Unit):
        """Play the armed waveform through the device (hardware-timed) for its duration: a
        fraction of a cycle plays that fraction of the points; an endless one plays one
        period here and keeps running (``wave_running``) until WAVE:ABORt."""
        if not self.wave_armed:
            raise Refused(-221, "waveform not armed")
        points = self.shape()
        total = self.duration_seconds()
        endless = total == INF
        if endless:
            total = 1.0 / self.wave_frequency
        total = self.times.point(total)  # the unit's timebase paces the points and the duration
        step = self.times.point(1.0 / (len(points) * self.wave_frequency))
        marker = (round((self.marker_phase % 360.0) / 360.0 * len(points)) % len(points)
                  if self.marker_on else -1)
        link = self.trigger_link.get(self.marker_line) if self.marker_on else None
        segments = self._segments(points, marker)
        left = total
        while left > 1e-15:
            for value, count, marked in segments:
                length = min(count * step, left)
                if length <= 0:
                    break
                current = self.wave_offset + self.wave_amplitude * value
                start = self.clock.seconds
                if marked and link is not None:
                    link(start + self.times.marker_latency())  # the phase marker's pulse
                current = self._judge(current)  # what the load receives of it
                for observer in self.observers:
                    observer.observe(start, start + length, current)
                self.chip.drive(current, length)
                self.clock.advance(length)
                left -= length
        for observer in self.observers:
            observer.settle()
        self.wave_armed = endless
        self.wave_running = endless
        self._on_since = self.clock.seconds
        return None

    @staticmethod
    def _segments(points: list[float], marker: int) -> list[tuple[float, int, bool]]:
        """Runs of equal points (value, length, starts at the marker point)."""
        segments: list[tuple[float, int, bool]] = []
        for i, value in enumerate(points):
            if segments and segments[-1][0] == value and i != marker:
                segments[-1] = (value, segments[-1][1] + 1, segments[-1][2])
            else:
                segments.append((value, 1, i == marker))
        return segments

    def _wave_abort(self) -> None:
        self.wave_armed = self.wave_running = False

    def _sweep_arm(self) -> None:
        self.sweep_armed = True

    def _source_clear(self) -> None:
        """SOURce:CLEar[:IMMediate]: the output off (section 14, SOURce subsystem)."""
        self._set("output", False)

    def _display_text(self, window: int, part: str):
        def handler(unit: scpi.Unit):
            text, shown = self.display_text[window]
            if unit.query:
                return f'"{text}"' if part == "DATA" else _onoff(shown)
            if part == "DATA":
                data = self._one(unit, lambda d: d)
                if data.kind != "string":
                    raise Refused(-104)
                limit = 20 if window == 1 else 32  # top display 20, bottom 32 characters
                if len(data.word) > limit:
                    raise Refused(-223)
                self.display_text[window] = (data.word, shown)
            else:
                self.display_text[window] = (text, self._one(unit, boolean))
            return None

        return handler

    def _trigger_output(self, unit: scpi.Unit):
        if unit.query:
            return self.trigger_output
        self.trigger_output = self._one(unit, lambda a: choice(
            a, {"SWEep": "SWE", "DELay": "DEL", "SOURce": "SOUR", "NONE": "NONE"}))
        return None

    # -- the trigger model and pulse delta ---------------------------------------------
    def _initiate(self, unit: scpi.Unit) -> None:
        """INITiate: leave idle into the arm layer. Pulse delta armed runs when its event
        detectors pass: IMMediate and the timer's first pass at once, BUS at *TRG; TLINk,
        MANual and the start-of-test lines wait for an input no emulated instrument
        gives (ABORt leaves). A sweep armed is not played by this emulator (-221 says so);
        with nothing armed there is nothing to start (-221)."""
        if unit.data:
            raise Refused(-108)
        if self.waiting_trigger or self.pdel_running:
            raise Refused(-213, "already initiated")
        if self.armed_mode != "PDEL":
            raise Refused(-221, "sweep playback is not emulated" if self.sweep_armed
                          else "nothing armed")
        if self.arm_source in ("IMM", "TIM") and self.trigger_source == "IMM":
            self._run_pulse_delta()
        else:
            self.waiting_trigger = True

    def bus_trigger(self) -> None:
        """*TRG: satisfies the arm layer's BUS event detector."""
        if self.waiting_trigger and self.arm_source == "BUS" and self.trigger_source == "IMM":
            self.waiting_trigger = False
            self._run_pulse_delta()

    def _abort(self) -> None:
        """ABORt: back to idle; a running pulse delta test stops (its low level too)."""
        self._flush()
        self.waiting_trigger = self.pdel_running = False

    def _unarm(self) -> None:
        """SOURce:SWEep:ABORt: un-arms a sweep and pulse delta (User's Manual p. 5-34)."""
        self._abort()
        self.sweep_armed = False
        self.armed_mode = ""

    def _pdel_arm(self, unit: scpi.Unit) -> str | None:
        """SOURce:PDELta:ARM arms pulse delta (the 6221 sets up the 2182A over RS-232); the
        query answers 1 when armed (User's Manual p. 5-34)."""
        if unit.query:
            if unit.data:
                raise Refused(-108)
            return _onoff(self.armed_mode == "PDEL")
        if unit.data:
            raise Refused(-108)
        if self.nanovoltmeter is None:
            raise Refused(-221, "no 2182A on the RS-232 and trigger-link cables")
        self.sweep_armed = False  # arming pulse delta un-arms any other action (p. 5-34)
        self.armed_mode = "PDEL"
        return None

    def _pdel(self, key: str, parse: Callable, show: Callable):
        def handler(unit: scpi.Unit) -> str | None:
            if unit.query:
                if unit.data:
                    raise Refused(-108)
                return show(self.pdel[key])
            self.pdel[key] = self._one(unit, parse)
            return None

        return handler

    def _segment(self, current: float, length: float) -> None:
        """``current`` through the device for ``length`` seconds of a pulse delta cycle."""
        if length <= 0:
            return
        start = self.clock.seconds
        current = self._judge(current)  # what the load receives of it
        for observer in self.observers:
            observer.observe(start, start + length, current)
        self.chip.drive(current, length)
        self.clock.advance(length)

    def _pulse(self, level: float, low: float) -> float:
        """One pulse of a cycle at ``level``: the 2182A converts after the source delay
        (at the low level again if the delay outlasts the pulse). Returns its volts."""
        width, delay = self.pdel["width"], self.pdel["sdelay"]
        self._segment(level, min(width, delay))
        self._segment(low, delay - width)
        volts = self.nanovoltmeter.pulse_conversion(
            self.delivered(level if delay < width else low),
            max(width - delay, PDEL_SOURCE_DELAY[0]))
        self._segment(level, width - delay)
        return volts

    def _run_pulse_delta(self) -> None:
        """Play the armed pulse delta test (User's Manual pp. 5-21 to 5-28, Fig. 5-8) on the
        virtual clock; each cycle's reading goes to the buffer (TRACe, up to TRACe:POINts)
        with its timestamp from the first. An endless count plays until the buffer is full,
        then holds the low level until ABORt or SOURce:SWEep:ABORt."""
        p, line = self.pdel, 1.0 / self.clock.line_frequency
        self._flush()
        endless = p["count"] == INF
        cycles = max(0, self.trace_points - len(self.buffer)) if endless else int(p["count"])
        start = self.clock.seconds
        for _ in range(cycles):
            first = self.clock.seconds
            points = []
            for k, level in enumerate((p["low"], p["high"], p["low"])):
                self._segment(p["low"], first + k * line - self.clock.seconds)
                volts = self._pulse(level, p["low"])
                if k < 2 or p["lmeasure"] == 3:
                    points.append(volts)
            self._segment(p["low"], first + p["interval"] * line - self.clock.seconds)
            a, b = points[0], points[1]
            reading = (2 * b - a - points[2]) / 2 if len(points) == 3 else b - a
            if len(self.buffer) < self.trace_points:
                self.buffer.append((reading, first - start))
        for observer in self.observers:
            observer.settle()
        self.pdel_running = endless
        self._on_since = self.clock.seconds

    def _buffer_data(self) -> str:
        """TRACe:DATA? the buffer's readings, each with its timestamp (FORMat:ELEMents
        DEFault: READing and TSTamp, Reference Manual p. 13-7)."""
        return ",".join(f"{fmt(v)},{fmt(t)}" for v, t in self.buffer)

    def _latest(self) -> str:
        if not self.buffer:
            raise Refused(-230)
        value, stamp = self.buffer[-1]
        return f"{fmt(value)},{fmt(stamp)}"

    def _trace_clear(self) -> None:
        if self.pdel_running or self.waiting_trigger:
            raise Refused(-221, "buffer in use")
        self.buffer = []

    def _trigger_commands(self) -> dict:
        """The trigger model (section 9) and pulse delta (section 5) commands."""
        setting, S = self._setting, "[:SOURce[1]]"
        line = lambda a: int(number(a, 1, TIMING.trigger_lines))  # noqa: E731
        arm = ":ARM[:SEQuence[1]][:LAYer[1]]"
        trig = ":TRIGger[:SEQuence[1]]"
        amps = lambda a: number(a, -0.105, 0.105)  # noqa: E731
        return {
            ":INITiate[:IMMediate]": self._command_only(self._initiate),
            ":ABORt": self._event(self._abort),
            arm + ":SOURce": setting("arm_source", lambda a: choice(a, ARM_SOURCES)),
            arm + ":TIMer": setting("arm_timer", lambda a: number(
                a, *ARM_TIMER, default=0.1), fmt),
            arm + "[:TCONfigure]:DIRection": setting(
                "arm_direction", lambda a: choice(a, DIRECTIONS)),
            arm + "[:TCONfigure]:ILINe": setting("arm_input_line", line, str),
            arm + "[:TCONfigure]:OLINe": setting("arm_output_line", line, str),
            arm + "[:TCONfigure]:OUTPut": setting("arm_output", lambda a: choice(
                a, {"TEXit": "TEX", "NONE": "NONE"})),
            trig + ":SOURce": setting("trigger_source", lambda a: choice(
                a, TRIGGER_SOURCES)),
            trig + "[:TCONfigure]:DIRection": setting(
                "trigger_direction", lambda a: choice(a, DIRECTIONS)),
            trig + "[:TCONfigure]:ILINe": setting("trigger_input_line", line, str),
            S + ":PDELta:HIGH": self._pdel("high", amps, fmt),
            S + ":PDELta:LOW": self._pdel("low", amps, fmt),
            S + ":PDELta:WIDTh": self._pdel("width", lambda a: number(a, *PDEL_WIDTH), fmt),
            S + ":PDELta:SDELay": self._pdel("sdelay", lambda a: number(
                a, *PDEL_SOURCE_DELAY), fmt),
            S + ":PDELta:COUNt": self._pdel("count", lambda a: number(
                a, 1, PDEL_COUNT_MAX, {"INF": INF}), _count_out),
            S + ":PDELta:INTerval": self._pdel("interval", lambda a: int(number(
                a, *PDEL_INTERVAL)), str),
            S + ":PDELta:RANGe": self._pdel("range", lambda a: choice(
                a, {"BEST": "BEST", "FIXed": "FIX"}), str),
            S + ":PDELta:SWEep": self._pdel("sweep", boolean, _onoff),
            S + ":PDELta:LMEasure": self._pdel("lmeasure", _low_measurements, str),
            S + ":PDELta:ARM": self._pdel_arm,
            S + ":PDELta:NVPResent": self._query_only(
                lambda: _onoff(self.nanovoltmeter is not None)),
            ":TRACe:DATA": self._query_only(self._buffer_data),
            ":TRACe:CLEar": self._event(self._trace_clear),
            ":TRACe:POINts:ACTual": self._query_only(lambda: str(len(self.buffer))),
            ":SENSe[1]:DATA[:LATest]": self._query_only(self._latest),
        }

    def commands(self):
        amps = lambda a: number(a, -0.105, 0.105, default=0.0)  # noqa: E731
        setting = self._setting
        S = "[:SOURce[1]]"
        status = self._status_register()
        return {
            ":OUTPut[:STATe]": setting("output", boolean, _onoff),
            S + ":CURRent[:LEVel][:IMMediate][:AMPLitude]": setting("current", amps, fmt),
            S + ":CURRent:COMPliance": setting(
                "compliance", lambda a: number(a, 0.1, 105, default=10.0), fmt),
            S + ":CURRent:RANGe:AUTO": setting("range_auto", boolean, _onoff),
            S + ":CURRent:RANGe": setting(
                "source_range", lambda a: number(a, 2e-9, 0.105, default=0.1), fmt),
            S + ":CURRent:FILTer[:STATe]": setting("filter", boolean, _onoff),
            S + ":CLEar[:IMMediate]": self._action(self._source_clear),
            S + ":DELay": setting("source_delay", lambda a: number(
                a, TIMING.source_delay_min, 999999.999, default=1e-3), fmt),
            # staircase sweeps (section 4, SOURce:CURRent:STARt ... and SWEep)
            S + ":CURRent:STARt": setting("sweep_start", amps, fmt),
            S + ":CURRent:STOP": setting("sweep_stop", amps, fmt),
            S + ":CURRent:STEP": setting(
                "sweep_step", lambda a: number(a, 0.0, 0.21, default=0.0), fmt),
            S + ":CURRent:CENTer": setting("sweep_center", amps, fmt),
            S + ":CURRent:SPAN": setting(
                "sweep_span", lambda a: number(a, 0.0, 0.21, default=0.0), fmt),
            S + ":SWEep:SPACing": setting("sweep_spacing", lambda a: choice(
                a, {"LINear": "LIN", "LOGarithmic": "LOG", "LIST": "LIST"})),
            S + ":SWEep:POINts": setting(
                "sweep_points", lambda a: int(number(a, 1, 65535, default=11)), str),
            S + ":SWEep:RANGing": setting("sweep_ranging", lambda a: choice(
                a, {"BEST": "BEST", "AUTO": "AUTO", "FIXed": "FIX"})),
            S + ":SWEep:COUNt": setting(
                "sweep_count", lambda a: int(number(a, 1, 9999, default=1)), str),
            S + ":SWEep:ARM": lambda unit: _onoff(self.sweep_armed) if unit.query
            else self._action(self._sweep_arm)(unit),
            S + ":SWEep:ABORt": self._action(self._unarm),
            S + ":LIST:CURRent": self._list("list_currents", -0.105, 0.105),
            S + ":LIST:CURRent:APPend": self._list("list_currents", -0.105, 0.105, True),
            S + ":LIST:CURRent:POINts": self._query_only(lambda: str(len(
                self.list_currents))),
            S + ":LIST:DELay": self._list("list_delays", TIMING.source_delay_min, 999999.999),
            S + ":LIST:DELay:APPend": self._list("list_delays", TIMING.source_delay_min,
                                                 999999.999, True),
            S + ":LIST:DELay:POINts": self._query_only(lambda: str(len(self.list_delays))),
            S + ":LIST:COMPliance": self._list("list_compliances", 0.1, 105),
            S + ":LIST:COMPliance:APPend": self._list("list_compliances", 0.1, 105, True),
            S + ":LIST:COMPliance:POINts": self._query_only(lambda: str(len(
                self.list_compliances))),
            # waveforms (section 11)
            S + ":WAVE:FUNCtion": setting("wave_function", lambda a: choice(a, {
                "SINe": "SIN", "SQUare": "SQU", "RAMP": "RAMP", "ARBitrary0": "ARB0",
                "ARBitrary1": "ARB1", "ARBitrary2": "ARB2", "ARBitrary3": "ARB3",
                "ARBitrary4": "ARB4"})),
            S + ":WAVE:FREQuency": setting("wave_frequency", lambda a: number(
                a, TIMING.frequency_min, TIMING.frequency_max, default=1e3), fmt),
            S + ":WAVE:AMPLitude": setting(
                "wave_amplitude", lambda a: number(a, 2e-12, 0.105, default=2e-12), fmt),
            S + ":WAVE:OFFSet": setting("wave_offset", amps, fmt),
            S + ":WAVE:DCYCle": setting(
                "wave_duty", lambda a: number(a, 0, 100, default=50.0), fmt),
            S + ":WAVE:DURation:CYCLes": self._duration("CYCL"),
            S + ":WAVE:DURation:TIME": self._duration("TIME"),
            S + ":WAVE:RANGing": setting(
                "wave_ranging", lambda a: choice(a, {"BEST": "BEST", "FIXed": "FIX"})),
            S + ":WAVE:ARBitrary:DATA": self._arb_data,
            S + ":WAVE:ARBitrary:APPend": self._command_only(self._arb_append),
            S + ":WAVE:ARBitrary:COPY": self._command_only(self._arb_copy),
            S + ":WAVE:ARM": self._command_only(self._wave_arm),
            S + ":WAVE:INITiate": self._command_only(self._wave_init),
            S + ":WAVE:ABORt": self._action(self._wave_abort),
            S + ":WAVE:PMARker:STATe": setting("marker_on", boolean, _onoff),
            S + ":WAVE:PMARker:OLINe": setting(
                "marker_line", lambda a: int(number(a, 1, TIMING.trigger_lines, default=1)),
                str),
            S + ":WAVE:PMARker[:LEVel]": setting(
                "marker_phase", lambda a: number(a, -180, 180, default=0.0), fmt),
            # trigger link (section 10)
            ":TRIGger:OUTPut": self._trigger_output,
            ":TRIGger:OLINe": setting(
                "trigger_line", lambda a: int(number(a, 1, TIMING.trigger_lines, default=2)),
                str),
            # display, output configuration, buffer, status (section 14)
            ":DISPlay:ENABle": setting("display", boolean, _onoff),
            ":DISPlay[:WINDow[1]]:TEXT[:DATA]": self._display_text(1, "DATA"),
            ":DISPlay[:WINDow[1]]:TEXT:STATe": self._display_text(1, "STATE"),
            ":DISPlay:WINDow2:TEXT[:DATA]": self._display_text(2, "DATA"),
            ":DISPlay:WINDow2:TEXT:STATe": self._display_text(2, "STATE"),
            ":OUTPut:ISHield": setting("shield", lambda a: choice(
                a, {"OLOW": "OLOW", "GUARd": "GUAR"})),
            ":OUTPut:LTEarth": setting("low_to_earth", boolean, _onoff),
            ":TRACe:POINts": setting(
                "trace_points", lambda a: int(number(a, 1, BUFFER_MAX, default=1)), str),
            **self._trigger_commands(),
            ":STATus:MEASurement[:EVENt]": self._measurement("EVEN"),
            ":STATus:MEASurement:ENABle": self._measurement("ENAB"),
            ":STATus:MEASurement:CONDition": self._measurement("COND"),
            ":STATus:OPERation[:EVENt]": status, ":STATus:OPERation:ENABle": status,
            ":STATus:QUEStionable[:EVENt]": status, ":STATus:QUEStionable:ENABle": status,
            ":STATus:PRESet": self._action(lambda: None),
            ":SYSTem:PRESet": self._action(self.reset),
            ":SYSTem:ERRor[:NEXT]": self._system_error("NEXT"),
            ":SYSTem:ERRor:ALL": self._system_error("ALL"),
            ":SYSTem:ERRor:COUNt": self._system_error("COUNT"),
            ":SYSTem:ERRor:CODE[:NEXT]": self._system_error("CODE"),
            ":SYSTem:VERSion": self._query_only(lambda: "1999.0"),
        }

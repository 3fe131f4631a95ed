"""Emulator of the Keithley 6221 current source (Model 6220/6221 Reference Manual,
622x-901-01).

Command table: the manual's SCPI tables (section 14) for the DC source, the waveform
functions (section 11: SOURce:WAVE, arbitrary waveforms, phase marker) and the trigger link
(section 10); anything else is -113 "Undefined header". A waveform plays on the virtual
clock point by point: every point drives the device for its duration, the 2000's running
integrations see it, and the phase marker pulses the trigger-link line it is set to at its
point, which reaches the 2000's EXT TRIG when the lab wires that line to it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simulators.lab.base import LabInstrument
from simulators.lab.scpi import ScpiError, boolean, choice, fmt, number, numbers
from simulators.lab.units import K6221Times, nominal_unit


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


class Keithley6221Emulator(LabInstrument):
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 6221,4123456,D04  /700x "
    unit = nominal_unit("6221")  # the virtual lab gives each instrument its drawn unit

    @property
    def times(self) -> K6221Times:
        """Arming, ARB parsing, settling, the marker's latency, the unit's timebase
        (simulators/lab/units.py)."""
        return K6221Times(self.unit)

    def reset(self) -> None:
        self._flush()
        self.output = False
        self.current = 0.0
        self.compliance = 10.0
        self.range_auto = True
        self.source_range = 0.1
        self.source_delay = 1e-3
        self.wave_function = "SIN"
        self.wave_frequency = 1e3
        self.wave_amplitude = 2e-12
        self.wave_offset = 0.0
        self.wave_duty = 50.0
        self.wave_cycles = float("inf")
        self.wave_time = float("inf")
        self.wave_ranging = "BEST"
        self.wave_armed = False
        self.arb: dict[int, list[float]] = {0: [0.0, 0.0]}
        self.arb_copy: dict[int, list[float]] = {}
        self.trigger_output = "NONE"
        self.trigger_line = 1
        self.marker_phase = 0.0
        self.marker_on = False
        self.marker_line = 1
        self.display = True
        self.shield = "OLOW"
        self.low_to_earth = False
        self.sweep_count = 1
        self.sweep_spacing = "LIN"
        self.sweep_ranging = "BEST"
        self.list_currents: list[float] = [0.0]
        self.list_delays: list[float] = [TIMING.source_delay_min]
        self.list_compliances: list[float] = [10.0]
        self.trace_points = 1
        self.generic: dict[str, str] = {}
        self._on_since = self.clock.seconds if hasattr(self, "clock") else 0.0

    # the current flowing since the last change goes through the device when anything changes
    def _flush(self) -> None:
        if getattr(self, "output", False):
            self.chip.drive(self.current, self.clock.seconds - self._on_since)
        if hasattr(self, "clock"):
            self._on_since = self.clock.seconds

    def _set(self, name: str, value) -> None:
        if name in ("output", "current"):
            self._flush()
        before = self.flowing()
        setattr(self, name, value)
        if self.flowing() != before:  # the output settles to its new level
            self.clock.advance(self.times.settle())

    # wired by the virtual lab: trigger-link line -> the receiver of its pulses (the 2000's
    # EXT TRIG), and the instruments that see the current (the 2000 integrating)
    trigger_link: dict[int, Callable[[float], None]] = {}
    observers: tuple = ()

    def flowing(self) -> float:
        """Current through the device now (A)."""
        return self.current if self.output else 0.0

    def _arb_data(self, args: str, query: bool):
        if query:
            return ",".join(fmt(v) for v in self.arb[0])
        self.arb[0] = numbers(args, -1.0, 1.0, TIMING.arb_points_per_command)
        self.clock.advance(self.times.parse(len(self.arb[0])))
        if len(self.arb[0]) < 2:
            raise ScpiError(-222, "an arbitrary waveform needs at least 2 points")
        return None

    def _arb_append(self, args: str, query: bool):
        points = numbers(args, -1.0, 1.0, TIMING.arb_points_per_command)
        self.clock.advance(self.times.parse(len(points)))
        if len(self.arb[0]) + len(points) > TIMING.arb_points_max:
            raise ScpiError(-222, "an arbitrary waveform holds at most 65,536 points")
        self.arb[0] = self.arb[0] + points
        return None

    def _arb_copy(self, args: str, query: bool):
        self.arb_copy[int(number(args, 1, TIMING.arb_slots))] = list(self.arb[0])
        return None

    def _list(self, name: str, low: float, high: float):
        """A sweep list of 1-100 points (SOURce:LIST:CURRent, DELay, COMPliance)."""
        def handler(args: str, query: bool):
            if query:
                return ",".join(fmt(v) for v in getattr(self, name))
            setattr(self, name, numbers(args, low, high, 100))
            return None

        return handler

    def _wave_arm(self, args: str, query: bool):
        if self.wave_function.startswith("ARB") and int(self.wave_function[3]) not in (
                self.arb_copy.keys() | {0}):
            raise ScpiError(-221, "arbitrary waveform not defined")
        self._flush()
        self.clock.advance(self.times.arm())
        self.wave_armed = True
        return None

    def _wave_init(self, args: str, query: bool):
        """Play the armed waveform through the device (hardware-timed)."""
        if not self.wave_armed:
            raise ScpiError(-221, "waveform not armed")
        if self.wave_function.startswith("ARB"):
            location = int(self.wave_function[3])
            points = self.arb[0] if location == 0 else self.arb_copy[location]
        elif self.wave_function == "SQU":
            high = max(1, round(self.wave_duty))
            points = [1.0] * high + [-1.0] * (100 - high)
        else:
            raise ScpiError(-221, f"{self.wave_function} playback is not emulated")
        cycles = self.wave_cycles if self.wave_cycles != float("inf") else (
            self.wave_time * self.wave_frequency if self.wave_time != float("inf") else 1.0)
        step = self.times.point(1.0 / (len(points) * self.wave_frequency))
        marker = (round((self.marker_phase % 360.0) / 360.0 * len(points)) % len(points)
                  if self.marker_on else -1)
        link = self.trigger_link.get(self.marker_line) if self.marker_on else None
        segments = self._segments(points, marker)
        for _ in range(max(1, round(cycles))):
            for value, count, marked in segments:
                current = self.wave_offset + self.wave_amplitude * value
                start = self.clock.seconds
                if marked and link is not None:
                    link(start + self.times.marker_latency())  # the phase marker's pulse
                for observer in self.observers:
                    observer.observe(start, start + count * step, current)
                self.chip.drive(current, count * step)
                self.clock.advance(count * step)
        for observer in self.observers:
            observer.settle()
        self.wave_armed = False
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

    def _wave_abort(self, args: str, query: bool):
        self.wave_armed = False
        return None

    def _trigger_output(self, args: str, query: bool):
        if query:
            return self.trigger_output
        self.trigger_output = choice(args, {"SWEep": "SWE", "DELay": "DEL", "SOURce": "SOUR",
                                            "NONE": "NONE"})
        return None

    def commands(self):
        amps = lambda a: number(a, -0.105, 0.105)  # noqa: E731
        return {
            ":OUTPut[:STATe]": self._setting("output", boolean, lambda v: str(int(v))),
            "[:SOURce]:CURRent[:LEVel][:IMMediate][:AMPLitude]": self._setting(
                "current", amps, fmt),
            "[:SOURce]:CURRent:COMPliance": self._setting(
                "compliance", lambda a: number(a, 0.1, 105), fmt),
            "[:SOURce]:CURRent:RANGe:AUTO": self._setting(
                "range_auto", boolean, lambda v: str(int(v))),
            "[:SOURce]:CURRent:RANGe": self._setting(
                "source_range", lambda a: number(a, 2e-9, 0.105), fmt),
            "[:SOURce]:DELay": self._setting(
                "source_delay", lambda a: number(a, TIMING.source_delay_min, 999999.999), fmt),
            "[:SOURce]:WAVE:FUNCtion": self._setting("wave_function", lambda a: choice(a, {
                "SINe": "SIN", "SQUare": "SQU", "RAMP": "RAMP", "ARBitrary0": "ARB0",
                "ARBitrary1": "ARB1", "ARBitrary2": "ARB2", "ARBitrary3": "ARB3",
                "ARBitrary4": "ARB4"})),
            "[:SOURce]:WAVE:FREQuency": self._setting(
                "wave_frequency", lambda a: number(a, TIMING.frequency_min,
                                                   TIMING.frequency_max), fmt),
            "[:SOURce]:WAVE:AMPLitude": self._setting(
                "wave_amplitude", lambda a: number(a, 2e-12, 0.105), fmt),
            "[:SOURce]:WAVE:OFFSet": self._setting("wave_offset", amps, fmt),
            "[:SOURce]:WAVE:DCYCle": self._setting(
                "wave_duty", lambda a: number(a, 0, 100), fmt),
            "[:SOURce]:WAVE:DURation:CYCLes": self._setting(
                "wave_cycles", lambda a: number(a, 1e-3, 99999999999, {"INF": float("inf")}),
                fmt),
            "[:SOURce]:WAVE:DURation:TIME": self._setting(
                "wave_time", lambda a: number(a, TIMING.duration_min, 999999.999,
                                             {"INF": float("inf")}), fmt),
            "[:SOURce]:WAVE:RANGing": self._setting(
                "wave_ranging", lambda a: choice(a, {"BEST": "BEST", "FIXed": "FIX"})),
            "[:SOURce]:WAVE:ARBitrary:DATA": self._arb_data,
            "[:SOURce]:WAVE:ARBitrary:APPend": self._arb_append,
            "[:SOURce]:WAVE:ARBitrary:COPY": self._arb_copy,
            "[:SOURce]:WAVE:ARM": self._wave_arm,
            "[:SOURce]:WAVE:INITiate": self._wave_init,
            "[:SOURce]:WAVE:ABORt": self._wave_abort,
            "[:SOURce]:WAVE:PMARker:STATe": self._setting(
                "marker_on", boolean, lambda v: str(int(v))),
            "[:SOURce]:WAVE:PMARker:OLINe": self._setting(
                "marker_line", lambda a: int(number(a, 1, TIMING.trigger_lines)), str),
            "[:SOURce]:WAVE:PMARker[:LEVel]": self._setting(
                "marker_phase", lambda a: number(a, -180, 180), fmt),
            # custom sweep lists (section 14, SOURce:LIST; kept, a sweep is not played)
            "[:SOURce]:SWEep:SPACing": self._setting("sweep_spacing", lambda a: choice(
                a, {"LINear": "LIN", "LOGarithmic": "LOG", "LIST": "LIST"})),
            "[:SOURce]:SWEep:RANGing": self._setting("sweep_ranging", lambda a: choice(
                a, {"BEST": "BEST", "FIXed": "FIX"})),
            "[:SOURce]:LIST:CURRent": self._list("list_currents", -0.105, 0.105),
            "[:SOURce]:LIST:DELay": self._list("list_delays", TIMING.source_delay_min,
                                               999999.999),
            "[:SOURce]:LIST:COMPliance": self._list("list_compliances", 0.1, 105),
            "[:SOURce]:SWEep:ARM": lambda a, q: None,
            "[:SOURce]:SWEep:COUNt": self._setting(
                "sweep_count", lambda a: int(number(a, 1, 9999)), str),
            "[:SOURce]:SWEep:ABORt": lambda a, q: None,
            ":TRIGger:OUTPut": self._trigger_output,
            ":TRIGger:OLINe": self._setting(
                "trigger_line", lambda a: int(number(a, 1, TIMING.trigger_lines)), str),
            ":DISPlay:ENABle": self._setting("display", boolean, lambda v: str(int(v))),
            ":OUTPut:ISHield": self._setting("shield", lambda a: choice(
                a, {"OLOW": "OLOW", "GUARd": "GUAR"})),
            ":OUTPut:LTEarth": self._setting("low_to_earth", boolean, lambda v: str(int(v))),
            ":TRACe:POINts": self._setting("trace_points", lambda a: int(number(a, 1, 65536)),
                                           str),
            ":STATus:MEASurement[:EVENt]": lambda a, q: "0",
            ":STATus:OPERation[:EVENt]": lambda a, q: "0",
            ":STATus:QUEStionable[:EVENt]": lambda a, q: "0",
            ":STATus:PRESet": lambda a, q: None,
        }

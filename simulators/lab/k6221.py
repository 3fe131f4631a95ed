"""Emulator of the Keithley 6221 current source (Model 6220/6221 Reference Manual)."""

from __future__ import annotations

from simulators.lab.base import LabInstrument
from simulators.lab.scpi import ScpiError, boolean, choice, fmt, number, numbers


class Keithley6221Emulator(LabInstrument):
    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 6221,4123456,D04  /700x "

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
        setattr(self, name, value)

    trigger_link = None  # the 2000's trigger-link input, wired by the virtual lab
    sampler = None  # the 2000 sampling on its own timer during a waveform

    def flowing(self) -> float:
        """Current through the device now (A)."""
        return self.current if self.output else 0.0

    def _arb_data(self, args: str, query: bool):
        if query:
            return ",".join(fmt(v) for v in self.arb[0])
        self.arb[0] = numbers(args, -1.0, 1.0, 100)
        if len(self.arb[0]) < 2:
            raise ScpiError(-222, "an arbitrary waveform needs at least 2 points")
        return None

    def _arb_append(self, args: str, query: bool):
        points = numbers(args, -1.0, 1.0, 100)
        if len(self.arb[0]) + len(points) > 65536:
            raise ScpiError(-222, "an arbitrary waveform holds at most 65,536 points")
        self.arb[0] = self.arb[0] + points
        return None

    def _arb_copy(self, args: str, query: bool):
        self.arb_copy[int(number(args, 1, 4))] = list(self.arb[0])
        return None

    def _wave_arm(self, args: str, query: bool):
        if self.wave_function.startswith("ARB") and int(self.wave_function[3]) not in (
                self.arb_copy.keys() | {0}):
            raise ScpiError(-221, "arbitrary waveform not defined")
        self._flush()
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
        step = 1.0 / (len(points) * self.wave_frequency)
        marker = (round((self.marker_phase % 360.0) / 360.0 * len(points)) % len(points)
                  if self.marker_on else -1)
        for _ in range(max(1, round(cycles))):
            for i, value in enumerate(points):
                current = self.wave_offset + self.wave_amplitude * value
                if i == marker and self.trigger_link is not None:
                    self.trigger_link(current, self.clock.seconds)  # phase marker -> link
                if self.sampler is not None:  # a timer-triggered 2000 reads this point?
                    self.sampler(self.clock.seconds, self.clock.seconds + step, current)
                self.chip.drive(current, step)
                self.clock.advance(step)
        self.wave_armed = False
        self._on_since = self.clock.seconds
        return None

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
                "source_delay", lambda a: number(a, 1e-3, 999999.999), fmt),
            "[:SOURce]:WAVE:FUNCtion": self._setting("wave_function", lambda a: choice(a, {
                "SINe": "SIN", "SQUare": "SQU", "RAMP": "RAMP", "ARBitrary0": "ARB0",
                "ARBitrary1": "ARB1", "ARBitrary2": "ARB2", "ARBitrary3": "ARB3",
                "ARBitrary4": "ARB4"})),
            "[:SOURce]:WAVE:FREQuency": self._setting(
                "wave_frequency", lambda a: number(a, 1e-3, 1e5), fmt),
            "[:SOURce]:WAVE:AMPLitude": self._setting(
                "wave_amplitude", lambda a: number(a, 2e-12, 0.105), fmt),
            "[:SOURce]:WAVE:OFFSet": self._setting("wave_offset", amps, fmt),
            "[:SOURce]:WAVE:DCYCle": self._setting(
                "wave_duty", lambda a: number(a, 0, 100), fmt),
            "[:SOURce]:WAVE:DURation:CYCLes": self._setting(
                "wave_cycles", lambda a: number(a, 1e-3, 99999999999, {"INF": float("inf")}),
                fmt),
            "[:SOURce]:WAVE:DURation:TIME": self._setting(
                "wave_time", lambda a: number(a, 1e-6, 999999.999, {"INF": float("inf")}), fmt),
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
                "marker_line", lambda a: int(number(a, 1, 6)), str),
            "[:SOURce]:WAVE:PMARker[:LEVel]": self._setting(
                "marker_phase", lambda a: number(a, -180, 180), fmt),
            "[:SOURce]:SWEep:COUNt": self._setting(
                "sweep_count", lambda a: int(number(a, 1, 9999)), str),
            "[:SOURce]:SWEep:ABORt": lambda a, q: None,
            ":TRIGger:OUTPut": self._trigger_output,
            ":TRIGger:OLINe": self._setting("trigger_line", lambda a: int(number(a, 1, 6)), str),
            ":DISPlay:ENABle": self._setting("display", boolean, lambda v: str(int(v))),
            ":OUTPut:ISHield": self._setting("shield", lambda a: choice(
                a, {"OLOW": "OLOW", "GUARd": "GUAR"})),
            ":OUTPut:LTEarth": self._setting("low_to_earth", boolean, lambda v: str(int(v))),
            ":TRACe:POINts": self._setting("trace_points", lambda a: int(number(a, 1, 65536)),
                                           str),
            ":STATus:*": lambda a, q: "0" if q else None,
        }

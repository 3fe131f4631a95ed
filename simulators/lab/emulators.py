"""Stateful SCPI emulators of the Keithley 6221, 2000 and 2400, wired to a virtual chip.

They answer the commands pymeasure's drivers and ours send, in short or long form, with the
instruments' identities and error codes. Virtual time advances by the bus latency per
transaction, by pulse and waveform durations, and by the 2000's integration time.
"""

from __future__ import annotations

import re

from simulators.lab.chip import Chip, LabClock
from simulators.lab.scpi import ScpiError, ScpiInstrument, boolean, choice, fmt, number, numbers


class LabInstrument(ScpiInstrument):
    def __init__(self, chip: Chip, clock: LabClock) -> None:
        self.chip = chip
        self.clock = clock
        super().__init__()

    def handle(self, line: str) -> str | None:
        self.clock.advance(self.clock.bus_latency)
        return super().handle(line)

    def _setting(self, name: str, parse, fmt_out=str):
        def handler(args: str, query: bool):
            if query:
                return fmt_out(getattr(self, name))
            self._set(name, parse(args))
            return None

        return handler

    def _set(self, name: str, value) -> None:
        setattr(self, name, value)

    def _generic(self, key: str):
        """A setting kept verbatim (accepted, echoed back, no effect on the physics)."""

        def handler(args: str, query: bool):
            if query:
                return self.generic.get(key, "0")
            self.generic[key] = args
            return None

        return handler

    def power_on_reset(self) -> None:
        """Fault injection: the instrument reset itself (power glitch): defaults, PON set."""
        self.reset()
        self.errors.clear()
        self.esr = 128


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


class Keithley2000Emulator(LabInstrument):
    """Reads the Hall voltage of the routed device with the 6221's current flowing."""

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2000,1234567,A20  /A02  "
    source: Keithley6221Emulator | None = None

    def reset(self) -> None:
        self.armed = False
        self.arm_source = "IMM"
        self.timer = 0.1
        self.trigger_delay = 0.0
        self.function = "VOLT:DC"
        self.nplc = 1.0
        self.autozero = True
        self.auto_range = True
        self.volt_range = 1000.0
        self.trigger_source = "IMM"
        self.trigger_count = 1
        self.sample_count = 1
        self.continuous = True
        self.display = True
        self.buffer: list[float] = []
        self.generic: dict[str, str] = {}

    def _measure(self) -> float:
        current = self.source.flowing() if self.source is not None else 0.0
        if self.source is not None:
            self.source._flush()
        integration = self.nplc / self.clock.line_frequency * (2.0 if self.autozero else 1.0)
        value = self.chip.hall_voltage(current, self.nplc)
        self.clock.advance(integration)
        if self.source is not None:
            self.source._flush()  # the read current flowed during the integration
        return value

    def _read(self, args: str, query: bool):
        self.buffer = [self._measure() for _ in range(self.sample_count * self.trigger_count)]
        return ",".join(fmt(v) for v in self.buffer)

    def timed_sample(self, start: float, end: float, current: float) -> None:
        """Readings whose timer instant falls in [start, end) see ``current``."""
        times = getattr(self, "sample_times", None)
        if not getattr(self, "armed", False) or not times:
            return
        while times and times[0] < end - 1e-15:
            if times[0] >= start - 1e-15:
                self.buffer.append(self.chip.hall_voltage(current, self.nplc))
            times.pop(0)
        if not times:
            self.armed = False

    def _fetch(self, args: str, query: bool):
        if not self.buffer:
            raise ScpiError(-221, "no reading to fetch")
        return ",".join(fmt(v) for v in self.buffer)

    def _init(self, args: str, query: bool):
        if self.arm_source == "TLIN" and self.trigger_source == "TIM":
            if self.sample_count * self.trigger_count > 1024:
                raise ScpiError(-221, "more readings than the 1024-reading buffer")
            self.buffer = []
            self.armed = True
            self.sample_times: list[float] = []
            return None
        if self.trigger_source == "TLIN":  # wait for trigger-link pulses (hardware-timed)
            if self.sample_count * self.trigger_count > 1024:
                raise ScpiError(-221, "more readings than the 1024-reading buffer")
            self.buffer = []
            self.armed = True
            return None
        self.buffer = [self._measure() for _ in range(self.sample_count * self.trigger_count)]
        return None

    def link_trigger(self, current: float, when: float) -> None:
        """A trigger-link pulse: one reading of the current flowing now (its integration
        lies inside the waveform's read window), or, armed on the link with the timer as
        trigger, the start of timed sampling."""
        if not getattr(self, "armed", False):
            return
        if self.arm_source == "TLIN" and self.trigger_source == "TIM":
            count = self.sample_count * self.trigger_count
            self.sample_times = [when + self.trigger_delay + k * self.timer
                                 for k in range(count)]
            return
        for _ in range(self.sample_count):
            self.buffer.append(self.chip.hall_voltage(current, self.nplc))
        if len(self.buffer) >= self.sample_count * self.trigger_count:
            self.armed = False

    def _configure(self, args: str, query: bool):
        return f'"{self.function}"' if query else None

    def commands(self):
        return {
            ":READ": self._read,
            ":FETCh": self._fetch,
            ":INITiate[:IMMediate]": self._init,
            ":INITiate:CONTinuous": self._setting("continuous", boolean, lambda v: str(int(v))),
            ":MEASure:VOLTage[:DC]": self._read,
            ":CONFigure[:VOLTage][:DC]": self._configure,
            "[:SENSe]:FUNCtion": self._configure,
            "[:SENSe]:VOLTage[:DC]:NPLCycles": self._setting(
                "nplc", lambda a: number(a, 0.01, 10), fmt),
            "[:SENSe]:VOLTage[:DC]:RANGe:AUTO": self._setting(
                "auto_range", boolean, lambda v: str(int(v))),
            "[:SENSe]:VOLTage[:DC]:RANGe[:UPPer]": self._setting(
                "volt_range", lambda a: number(a, 0, 1010), fmt),
            "[:SENSe]:VOLTage[:DC]:AVERage[:STATe]": self._generic("aver"),
            "[:SENSe]:VOLTage[:DC]:DIGits": self._generic("digits"),
            ":SYSTem:AZERo[:STATe]": self._setting("autozero", boolean, lambda v: str(int(v))),
            ":TRIGger[:SEQuence]:SOURce": self._setting("trigger_source", lambda a: choice(a, {
                "IMMediate": "IMM", "EXTernal": "EXT", "TIMer": "TIM", "MANual": "MAN",
                "BUS": "BUS", "TLINk": "TLIN"})),
            ":TRIGger[:SEQuence]:COUNt": self._setting(
                "trigger_count", lambda a: int(number(a, 1, 9999)), str),
            ":TRIGger[:SEQuence]:DELay": self._setting(
                "trigger_delay", lambda a: number(a, 0, 999999.999), fmt),
            ":TRIGger[:SEQuence]:TIMer": self._setting(
                "timer", lambda a: number(a, 1e-3, 999999.999), fmt),
            ":ARM[:SEQuence][:LAYer]:SOURce": self._setting("arm_source", lambda a: choice(a, {
                "IMMediate": "IMM", "EXTernal": "EXT", "TIMer": "TIM", "MANual": "MAN",
                "BUS": "BUS", "TLINk": "TLIN"})),
            ":SAMPle:COUNt": self._setting(
                "sample_count", lambda a: int(number(a, 1, 1024)), str),
            ":DISPlay:ENABle": self._setting("display", boolean, lambda v: str(int(v))),
            ":SYSTem:REMote": lambda a, q: None,
            ":SYSTem:LOCal": lambda a, q: None,
            ":SYSTem:BEEPer[:STATe]": self._generic("beep"),
            ":TRACe:CLEar": lambda a, q: None,
            ":TRACe:POINts": self._generic("trace_points"),
            ":TRACe:FEED": self._generic("trace_feed"),
            ":TRACe:FEED:CONTrol": self._generic("trace_control"),
            ":STATus:*": lambda a, q: "0" if q else None,
        }


class Keithley2400Emulator(LabInstrument):
    """Drives the coil: the in-plane field is coil_constant * current (T/A)."""

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 2400,1234567,C30   Mar 17 2006 09:29:29/A02  /K/J"

    def __init__(self, chip: Chip, clock: LabClock, coil_constant: float = 0.01,
                 coil_resistance: float = 2.0) -> None:
        self.coil_constant = coil_constant
        self.coil_resistance = coil_resistance
        super().__init__(chip, clock)

    def reset(self) -> None:
        self.output = False
        self.source_function = "VOLT"
        self.source_current = 0.0
        self.source_voltage = 0.0
        self.compliance_voltage = 21.0
        self.compliance_current = 1.05e-4
        self.generic: dict[str, str] = {}
        self._apply()

    def coil_current(self) -> float:
        if not self.output:
            return 0.0
        if self.source_function == "CURR":
            return min(abs(self.source_current),
                       self.compliance_voltage / self.coil_resistance) * (
                1 if self.source_current >= 0 else -1)
        current = self.source_voltage / self.coil_resistance
        return max(-self.compliance_current, min(self.compliance_current, current))

    def _apply(self) -> None:
        self.chip.field_x = self.coil_constant * self.coil_current()

    def _set(self, name: str, value) -> None:
        setattr(self, name, value)
        self._apply()

    def _read(self, args: str, query: bool):
        current = self.coil_current()
        voltage = current * self.coil_resistance
        self.clock.advance(1.0 / self.clock.line_frequency)
        return ",".join(fmt(v) for v in (voltage, current, 9.91e37, self.clock.seconds, 0))

    def commands(self):
        return {
            ":OUTPut[:STATe]": self._setting("output", boolean, lambda v: str(int(v))),
            ":SOURce:FUNCtion[:MODE]": self._setting("source_function", lambda a: choice(
                a, {"CURRent": "CURR", "VOLTage": "VOLT"})),
            ":SOURce:CURRent[:LEVel][:IMMediate][:AMPLitude]": self._setting(
                "source_current", lambda a: number(a, -1.05, 1.05), fmt),
            ":SOURce:VOLTage[:LEVel][:IMMediate][:AMPLitude]": self._setting(
                "source_voltage", lambda a: number(a, -210, 210), fmt),
            "[:SENSe]:VOLTage[:DC]:PROTection[:LEVel]": self._setting(
                "compliance_voltage", lambda a: number(a, -210, 210), fmt),
            "[:SENSe]:CURRent[:DC]:PROTection[:LEVel]": self._setting(
                "compliance_current", lambda a: number(a, -1.05, 1.05), fmt),
            ":READ": self._read,
            ":MEASure:*": self._read,
            ":FORMat:*": self._generic("format"),
            "[:SENSe]:*": self._generic("sense"),
            ":SOURce:*": self._generic("source"),
            ":SYSTem:*": self._generic("system"),
            ":TRIGger:*": self._generic("trigger"),
            ":ARM:*": self._generic("arm"),
            ":DISPlay:*": self._generic("display"),
            ":ROUTe:TERMinals": self._generic("terminals"),
            ":STATus:*": lambda a, q: "0" if q else None,
        }


class Keithley7001Emulator(LabInstrument):
    """A 7001-style switch card: ``ROUT:CLOS (@1!n)`` routes device n (1-based) to the source
    and the voltmeter; one channel at a time (break before make)."""

    idn = "KEITHLEY INSTRUMENTS INC.,MODEL 7001,1234567,B06 /A02"

    def reset(self) -> None:
        self.closed: int | None = None

    def _close(self, args: str, query: bool):
        if query:
            return "(@)" if self.closed is None else f"(@1!{self.closed + 1})"
        match = re.fullmatch(r"\(@\s*1!(\d+)\s*\)", args.strip())
        if not match:
            raise ScpiError(-104, args)
        channel = int(match.group(1))
        if not 1 <= channel <= len(self.chip.devices):
            raise ScpiError(-222, f"channel {channel} outside 1-{len(self.chip.devices)}")
        self.closed = channel - 1
        self.chip.selected = self.closed
        return None

    def _open(self, args: str, query: bool):
        self.closed = None
        return None

    def commands(self):
        return {":ROUTe:CLOSe": self._close, ":ROUTe:OPEN[:ALL]": self._open,
                ":ROUTe:OPEN:ALL": self._open}

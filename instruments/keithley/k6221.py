"""Keithley 6221: write/reset pulses, read current, sweep lists, trigger link.

Pulse route: a two-point arbitrary waveform [+-1, 0] played once at f = 1 / (2 w): the
instrument times the pulse in hardware with microsecond resolution (5 us to 500 s), where a
DC output switched on and off by software is as long as the bus round trip, and the sweep
list's delays start at 1 ms.
"""

from __future__ import annotations

from pymeasure.instruments import Instrument
from pymeasure.instruments.keithley import Keithley6221
from pymeasure.instruments.validators import strict_discrete_set, strict_range, truncated_range

from instruments.errors import ReplyError
from instruments.guard import Guard6221
from instruments.keithley.base import (
    SafeWriteMixin,
    _float_list,
    _guarded,
    _parse_floats,
    _shortest_decimal,
    _within,
)
from instruments.limits import SafetyLimits

READ_POINT = 2  # a hardware-timed cycle's points: reset, write, then the read window
COMPLIANCE_BIT = 8  # B3 (Comp) of the measurement registers, Reference Manual Fig. 11-6


class PulseSource(SafeWriteMixin, Keithley6221):
    """Keithley 6221: write/reset pulses, read current, sweep lists, trigger link."""

    def __init__(self, adapter, limits: SafetyLimits | None = None, **kwargs) -> None:
        self._limits = limits or SafetyLimits()
        self.guard = Guard6221(lambda: self.limits)
        self.guard.name = kwargs.get("name", "Keithley 6221 SourceMeter")
        adapter = _guarded(adapter, self.guard, kwargs)
        super().__init__(adapter, **kwargs)
        self._device_limits()
        self._pulse_shape: tuple[int, float] | None = None

    def _device_limits(self) -> None:
        limits = self.limits
        self.source_current_values = [-limits.max_pulse_current, limits.max_pulse_current]
        self.source_compliance_values = [0.1, min(105.0, limits.compliance_voltage)]
        self.waveform_amplitude_values = [2e-12, limits.max_pulse_current]
        self.waveform_offset_values = [-limits.max_read_current, limits.max_read_current]

    source_current = Instrument.control(
        ":SOUR:CURR?", ":SOUR:CURR %g",
        """Control the DC source current (A), within the pulse-current limit; the guard
        allows no more than the read current with the output on.""",
        validator=_within("pulse current", "A"), values=[-0.105, 0.105], dynamic=True,
    )
    source_compliance = Instrument.control(
        ":SOUR:CURR:COMP?", ":SOUR:CURR:COMP %g",
        """Control the compliance voltage (V), 0.1 V up to the compliance limit.""",
        validator=_within("compliance voltage", "V"), values=[0.1, 105], dynamic=True,
    )
    waveform_amplitude = Instrument.control(
        ":SOUR:WAVE:AMPL?", ":SOUR:WAVE:AMPL %g",
        """Control the waveform's peak amplitude (A), up to the pulse-current limit.""",
        validator=_within("pulse current", "A"), values=[2e-12, 0.105], dynamic=True,
    )
    waveform_offset = Instrument.control(
        ":SOUR:WAVE:OFFS?", ":SOUR:WAVE:OFFS %g",
        """Control the waveform's offset (A), a DC level: within the read current.""",
        validator=_within("read current", "A"), values=[-0.105, 0.105], dynamic=True,
    )

    trigger_count = Instrument.control(
        ":TRIG:COUN?", ":TRIG:COUN %d",
        """Control the trigger count (the 6221 trigger model); config_buffer sets it.""",
        validator=strict_range, values=[1, 99999], cast=int,
    )
    trigger_delay = Instrument.control(
        ":TRIG:DEL?", ":TRIG:DEL %g", """Control the trigger delay in seconds.""",
        validator=truncated_range, values=[0, 999999.999],
    )
    sweep_spacing = Instrument.control(
        ":SOUR:SWE:SPAC?", ":SOUR:SWE:SPAC %s",
        """Control the sweep type: 'linear', 'log' or 'list'.""",
        validator=strict_discrete_set, values={"linear": "LIN", "log": "LOG", "list": "LIST"},
        map_values=True,
    )
    list_currents = Instrument.control(
        ":SOUR:LIST:CURR?", ":SOUR:LIST:CURR %s",
        """Control the custom sweep's currents (A), up to 100 points.""",
        set_process=_float_list, get_process=_parse_floats,
    )
    list_delays = Instrument.control(
        ":SOUR:LIST:DEL?", ":SOUR:LIST:DEL %s",
        """Control the custom sweep's per-point delays (s), 1 ms to 999999.999 s.""",
        set_process=_float_list, get_process=_parse_floats,
    )
    list_compliances = Instrument.control(
        ":SOUR:LIST:COMP?", ":SOUR:LIST:COMP %s",
        """Control the custom sweep's per-point compliances (V).""",
        set_process=_float_list, get_process=_parse_floats,
    )
    sweep_ranging = Instrument.control(
        ":SOUR:SWE:RANG?", ":SOUR:SWE:RANG %s", """Control sweep ranging: 'best' or 'fixed'.""",
        validator=strict_discrete_set, values={"best": "BEST", "fixed": "FIX"}, map_values=True,
    )

    def arm_sweep(self) -> None:
        """``:SOUR:SWE:ARM``: arm the staircase or list sweep set up (Reference Manual
        section 4, sweeps); the guard refuses it unless every point is within the limits now."""
        self.write(":SOUR:SWE:ARM")

    def abort_sweep(self) -> None:
        """``:SOUR:SWE:ABOR``: stop and un-arm a sweep (and pulse delta), so no point is
        sourced and a switch system's relays may move (Reference Manual section 5)."""
        self.write(":SOUR:SWE:ABOR")

    def load_list(self, currents, delays) -> None:
        """A custom sweep list; every current is checked against the limits first."""
        currents, delays = list(currents), list(delays)
        if not 1 <= len(currents) <= 100 or len(delays) not in (1, len(currents)):
            raise ValueError(f"list: {len(currents)} points (allowed 1-100, one delay each)")
        for value in currents:
            self.limits.pulse_current(value)
        for value in delays:
            strict_range(value, [1e-3, 999999.999])
        self.sweep_spacing = "list"
        self.list_currents = currents
        self.list_delays = delays

    def pulse(self, current: float, width: float) -> None:
        """One hardware-timed pulse (arbitrary waveform [sign, 0] played once), then wait for
        completion with *OPC?. The output returns to its DC state afterwards."""
        self.limits.pulse_current(current)
        self.limits.pulse_width(width)
        strict_range(width, [5e-6, 500.0])
        sign = 1 if current >= 0 else -1
        if self._pulse_shape != (sign, width) or self.guard.state.function != "ARB1":
            # (the guard saw every line: after a *RST the instrument plays a sine again)
            self.define_arbitary_waveform([sign, 0], location=1)  # also selects ARB1
            self.waveform_frequency = 1.0 / (2.0 * width)
            self.waveform_offset = 0.0
            self.waveform_duration_cycles = 1
            self._pulse_shape = (sign, width)
        self.waveform_amplitude = max(self.programmed(abs(current)), 2e-12)
        self.waveform_arm()
        self.waveform_start()
        self.wait_until_played(2 * width)

    trigger_line = 1  # the trigger-link output line wired to the 2000's EXT TRIG (lab file)
    OPC_MARGIN_S = 2.0  # bus and arming time on top of a waveform's own duration

    @staticmethod
    def programmed(current: float) -> float:
        """A level as the instrument is told it: pymeasure writes amplitudes with %g (six
        significant digits). A waveform's points are sent in full as programmed level /
        programmed amplitude, so a cycle inside a waveform gets the current a single pulse
        of the same level gets, within one floating-point rounding."""
        return float(f"{current:g}")

    def _cycle_amplitude(self, reset: float, writes: list[float], read: float,
                         width: float) -> float:
        """Check every level against the limits; the waveform's peak amplitude."""
        for value in (reset, *writes):
            self.limits.pulse_current(value)
        self.limits.read_current(read)
        self.limits.pulse_width(width)
        return self.programmed(max(abs(reset), abs(read), *(abs(w) for w in writes)))

    @staticmethod
    def cycle_points(reset: float, write: float, read: float, points: int,
                     read_points: int) -> list[float]:
        """One reset-write-read cycle of ``points`` points of one pulse width each: reset,
        write, ``read_points`` points of read current (the 2000 integrates there), zeros to
        the end of the cycle. No wait between the pulses: the Joule heat of a pulse leaves
        the bar in tens of nanoseconds (simulators/joule.py: 51 ns), so a whole pulse width
        of zero current would only lengthen the cycle."""
        if not 1 <= read_points <= points - READ_POINT:
            raise ValueError(f"read points = {read_points} outside [1, {points - READ_POINT}]")
        return [reset, write] + [read] * read_points + [0.0] * (
            points - READ_POINT - read_points)

    def _upload(self, levels: list[float], amplitude: float, location: int,
                read: float | None = None) -> None:
        """An arbitrary waveform of any length (2-65,536 points) into ``location``: the
        levels as fractions of the amplitude, 100 points a command (ARB:DATA, then
        ARB:APPend, Reference Manual section 11: ASCII <NRf> lists, the only form it
        documents), then ARB:COPY and FUNC ARBn. Pulse levels go in full precision; zeros
        and the ``read`` level (which switches nothing) in six digits; each in its
        shortest IEEE 488.2 decimal form (-1, .5: no trailing ".0", no leading zero), as
        few bytes as the bus must carry."""
        strict_range(len(levels), [2, 65536])

        def point(value: float) -> str:
            fraction = self.programmed(value) / amplitude
            text = f"{fraction:.6g}" if value == 0 or value == read else repr(fraction)
            return _shortest_decimal(text)

        scaled = [point(v) for v in levels]
        self.write(":SOUR:WAVE:ARB:DATA " + ",".join(scaled[:100]))
        for start in range(100, len(scaled), 100):
            self.write(":SOUR:WAVE:ARB:APP " + ",".join(scaled[start:start + 100]))
        self.write(f":SOUR:WAVE:ARB:COPY {location}")
        self.waveform_function = f"arbitrary{location}"
        self._pulse_shape = None  # another location is selected now: the next pulse redefines

    def _play(self, frequency: float, amplitude: float, cycles: int, marker_point: int,
              points: int) -> None:
        """Play the selected arbitrary waveform ``cycles`` times, the phase marker (on
        ``trigger_line``) at the start of point ``marker_point``, and wait until it has
        played: *OPC? under a timeout sized from the waveform's own duration."""
        phase = 360.0 * marker_point / points
        self.waveform_frequency = frequency
        self.waveform_offset = 0.0
        self.waveform_amplitude = amplitude
        self.waveform_duration_cycles = cycles
        self.waveform_phasemarker_phase = phase - 360.0 if phase > 180 else phase  # -180..180
        self.waveform_phasemarker_line = self.trigger_line
        self.waveform_use_phasemarker = True
        self.waveform_arm()
        self.waveform_start()
        self.wait_until_played(cycles / frequency)

    def wait_until_played(self, seconds: float) -> None:
        """*OPC? after an operation of ``seconds``: the VISA timeout grows to cover it (a
        timeout would make a retry pulse the whole batch again), then is restored."""
        connection = getattr(self.adapter, "connection", None)
        default = getattr(connection, "timeout", None)
        needed = (seconds + self.OPC_MARGIN_S) * 1000.0
        if not isinstance(default, int | float):  # an adapter without a VISA timeout
            self.complete()
            return
        self.last_opc_timeout_ms = max(default, needed)
        connection.timeout = self.last_opc_timeout_ms
        try:
            self.complete()
        finally:
            connection.timeout = default

    def mark_trigger_link(self) -> None:
        """One pulse on the trigger link and no current: a 2-point waveform of zeros (2 pA
        full scale) played once with its phase marker on. Proves the cable to the 2000
        without driving the device."""
        self.define_arbitary_waveform([0.0, 0.0], location=4)
        self._pulse_shape = None
        self._play(1e3, 2e-12, 1, 0, 2)

    def play_cycles(self, reset: float, write: float, read: float, width: float,
                    cycles: int, points: int, read_points: int) -> None:
        """``cycles`` reset-write-read cycles at one write current, timed by the
        instrument: one cycle of ``points`` points (each ``width`` long) as the arbitrary
        waveform, repeated; its phase marker at the start of the read window pulses the
        trigger link once per cycle, so a 2000 on EXTernal takes one reading per cycle."""
        amplitude = self._cycle_amplitude(reset, [write], read, width)
        strict_range(cycles, [1, 1024])
        self._upload(self.cycle_points(reset, write, read, points, read_points), amplitude,
                     location=2, read=read)
        self._play(1.0 / (points * width), amplitude, cycles, READ_POINT, points)

    def play_cycle_list(self, reset: float, writes, read: float, width: float, points: int,
                        read_points: int, lead_points: int) -> None:
        """Cycles with a write current each, as one waveform played once: ``lead_points``
        zeros, then every cycle's ``points`` points; the phase marker fires once,
        ``lead_points`` before the first read window (the 2000's trigger delay), and the
        2000 takes its burst of readings one cycle period apart."""
        writes = [float(w) for w in writes]
        amplitude = self._cycle_amplitude(reset, writes, read, width)
        lead = max(0, lead_points - READ_POINT)
        levels = [0.0] * lead
        for w in writes:
            levels += self.cycle_points(reset, w, read, points, read_points)
        self._upload(levels, amplitude, location=3, read=read)
        self._play(1.0 / (len(levels) * width), amplitude, 1, lead + READ_POINT - lead_points,
                   len(levels))

    def play_levels(self, levels, point: float, marker_point: int, read: float,
                    width: float | None = None) -> None:
        """Any waveform of current ``levels`` (A), one every ``point`` s, played once with
        its phase marker at point ``marker_point`` (the burst route's layouts,
        protocols/burst.py): every level other than 0 and ``read`` is a pulse, checked
        with ``width`` against the limits, and ``read`` against the read limit. The guard
        then judges the waveform as the instrument holds it (its points, amplitude,
        frequency and duration), as it does every other upload."""
        levels = [float(v) for v in levels]
        pulses = sorted({v for v in levels if v not in (0.0, read)})
        if pulses:
            amplitude = self._cycle_amplitude(pulses[0], pulses[1:], read, width)
        else:
            self.limits.read_current(read)
            amplitude = self.programmed(abs(read))
        self._upload(levels, amplitude, location=3, read=read)
        self._play(1.0 / (len(levels) * point), amplitude, 1, marker_point, len(levels))

    # -- pulse delta with a 2182A (User's Manual section 5, pp. 5-21 to 5-34) ----------
    PULSE_DELTA_WIDTH = (50e-6, 12e-3)  # s, PDEL:WIDTh
    PULSE_DELTA_SOURCE_DELAY = (16e-6, 11.966e-3)  # s, PDEL:SDELay
    PULSE_DELTA_INTERVAL = (5, 999999)  # PLC, PDEL:INTerval (p. 5-28)

    def nanovoltmeter_present(self) -> bool:
        """SOUR:PDEL:NVPR?: a 2182A answers on the RS-232 cable (1) or not (0)."""
        return self.query(":SOUR:PDEL:NVPR?", "flag")

    def arm_pulse_delta(self, high: float, low: float, width: float, count: int,
                        source_delay: float = 100e-6, interval: int = 5,
                        low_measurements: int = 3) -> None:
        """Arm a fixed-output pulse delta test of ``count`` cycles (one reading each, into
        a cleared buffer of ``count`` readings): ``high`` is a pulse (pulse-current limit,
        ``width`` within the pulse-width limit), ``low`` flows between the pulses (read
        limit). The guard below checks the same levels as the instrument holds them."""
        self.limits.pulse_current(high)
        self.limits.read_current(low)
        self.limits.pulse_width(width)
        strict_range(width, list(self.PULSE_DELTA_WIDTH))
        strict_range(source_delay, list(self.PULSE_DELTA_SOURCE_DELAY))
        strict_range(count, [1, 65536])
        strict_range(interval, list(self.PULSE_DELTA_INTERVAL))
        strict_discrete_set(low_measurements, [2, 3])
        self.write(":SOUR:SWE:ABOR")  # nothing armed while the levels change (p. 5-34)
        self.write(f":SOUR:PDEL:HIGH {high:g};LOW {low:g};WIDT {width:g};"
                   f"SDEL {source_delay:g};COUN {int(count)};INT {int(interval)};"
                   f"LME {low_measurements};RANG BEST;SWE OFF")
        self.write(f":TRAC:CLE;:TRAC:POIN {int(count)}")
        self.write(":SOUR:PDEL:ARM")
        self.check_errors()  # a 2182A missing or a value refused: said now, not at INIT

    def run_pulse_delta(self, count: int, interval: int, line_frequency: float) -> list[float]:
        """Start the armed test, wait for its ``count`` cycles of ``interval`` line cycles,
        and return its readings (V), the timestamps dropped (TRAC:DATA? sends READing and
        TSTamp, Reference Manual p. 13-7)."""
        self.write(":INIT:IMM")
        self.wait_until_played(count * interval / line_frequency)
        values = self.values(":TRAC:DATA?")
        if len(values) != 2 * count:
            raise ReplyError(self.name, ":TRAC:DATA?", ",".join(map(str, values)),
                             f"{len(values) // 2} readings where {count} armed")
        return values[0::2]

    def compliance_tripped(self) -> bool:
        """The source reached its compliance voltage since last asked, or is there now: bit
        B3 (Comp) of the measurement event register (latched on entering compliance, cleared
        by this read) or of the measurement condition register (Reference Manual section 11,
        Fig. 11-6 p. 11-16; STATus:MEASurement[:EVENt]? and :CONDition?, Table 11-4
        p. 11-17). The event register catches a pulse that ran into compliance and ended;
        the condition register a DC level held there. (The front panel's OUTPUT indicator
        blinks too, User's Manual p. 3-3: no query reads it.)"""
        event = self.query(":STAT:MEAS?", "status")
        condition = self.query(":STAT:MEAS:COND?", "status")
        return bool((event | condition) & COMPLIANCE_BIT)

    def set_read_current(self, current: float) -> None:
        """Set the DC level (A) sourced once the output is on: the read current, held to the
        read-current limit, under which the 2000 reads R_AHE = V / I (paper 002 Methods 4.3)."""
        self.limits.read_current(current)
        self.source_current = current

    def shutdown(self) -> None:
        """Waveform aborted, a sweep or delta mode disarmed (SOUR:SWE:ABOR), output off,
        confirmed by OUTP?; then pymeasure's shutdown. (A switch system's relays move only
        once nothing of the 6221's is armed.)"""
        try:
            self.write(":SOUR:WAVE:ABOR;:SOUR:SWE:ABOR")
            self.write("OUTPUT OFF")
            self.confirm_output_off()
        finally:
            super().shutdown()


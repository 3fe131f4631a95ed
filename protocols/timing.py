"""Which path times the cycles: the instruments when they can, software otherwise.

Hardware timing (one 6221 waveform per batch, its phase marker on the trigger-link line the
lab file names, cabled to the 2000's EXT TRIG; the 2000 on EXTernal triggering into its
buffer) needs a 6221 (the 6220 plays no arbitrary waveform), a 2000 and that cable, and
cycles a waveform can hold (no wait after a pulse, one width for reset and write).
``choose_timing`` checks those and the identities, then proves the cable: a waveform of zero
current marks the link once and the 2000, waiting on EXTernal, must hold one reading. The
device sees no current, so the check is safe on any rig.
"""

from __future__ import annotations

from pyvisa.errors import VisaIOError

from instruments.connection import Lab
from instruments.keithley import InstrumentError, triggered_buffer_missing
from protocols.cycle import CycleSettings, waveform_misfit
from protocols.errors import ProtocolError

TIMINGS = ("auto", "software", "hardware")


def hardware_timing_unavailable(lab: Lab, settings: CycleSettings | None = None) -> str | None:
    """Why the instruments cannot time these cycles, or None when they can."""
    misfit = waveform_misfit(settings or CycleSettings())
    if misfit is not None:
        return misfit
    pulse, meter = lab["pulse"], lab["voltmeter"]
    missing = triggered_buffer_missing(meter)  # the capability the driver declares
    if missing is not None:
        return missing
    if "6221" not in lab.identities.get("pulse", ""):
        return f"the pulse source is not a 6221 ({lab.identities.get('pulse', '?')})"
    if not any(m in lab.identities.get("voltmeter", "") for m in ("MODEL 2000", "MODEL 2010")):
        return f"the voltmeter is not a 2000 ({lab.identities.get('voltmeter', '?')})"
    pulse.trigger_line = lab.trigger_line
    try:
        meter.arm_external_buffer(1)
        pulse.mark_trigger_link()
        readings = meter.buffer_readings()
    except (VisaIOError, InstrumentError, OSError):
        readings = []
        lab.reconnect("voltmeter")  # drop a late reply; *RST leaves the 2000 idle
        meter = lab["voltmeter"]
    role = "voltmeter"
    try:  # a reply late past the timeout here ends the check with a line, not a traceback
        meter.immediate_triggering()
        if len(readings) != 1:
            return (f"no reading arrived over the trigger link (is 6221 trigger-link line "
                    f"{lab.trigger_line} cabled to the 2000's EXT TRIG?)")
        for role in ("pulse", "voltmeter"):
            (pulse if role == "pulse" else meter).check_errors()
    except (VisaIOError, OSError) as err:
        model = (lab.identities.get(role, "").split(",") + ["", "?"])[1].strip() or "?"
        raise InstrumentError(
            f"the {role} ({model} at {lab.roles.get(role, '?')}) did not answer in time "
            f"during the trigger-link check of hardware timing ({err}); the check sends no "
            "current to the device") from None
    return None


def choose_timing(lab: Lab, requested: str = "auto",
                  settings: CycleSettings | None = None) -> str:
    """``software`` or ``hardware``: ``auto`` takes hardware timing when the instruments
    allow it; asking for ``hardware`` on a rig without it is an error naming the reason."""
    if requested not in TIMINGS:
        raise ValueError(f"timing = {requested!r} is not one of {', '.join(TIMINGS)}")
    if requested == "software":
        return "software"
    reason = hardware_timing_unavailable(lab, settings)
    if reason is None:
        return "hardware"
    if requested == "hardware":
        raise ProtocolError(f"hardware timing is not available: {reason}")
    return "software"

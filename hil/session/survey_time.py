"""A chip survey's lab time, priced before it starts.

As ``hil.banks.lab_time`` prices a training run: the same work played on a separate virtual
lab whose clock charges this lab's bus and line frequency and whose instruments are nominal
units, timed exactly as their data sheets (``simulators/lab/units.py``: the 6221's
waveforms, the 2000's readings, the 7002's relays), so no
pulse reaches the chip. A survey repeats one shape per device (a route, a calibration, the
coarse search, the quick and the fine sweep, each a fixed number of cycles), and the first
device also pays what the run sets up once (the 6221's waveforms, the 2000's trigger model):
so one nominal device surveyed there, plus what a second one adds times the devices after
the first, is the estimate. A real chip costs less for a
device that fails its calibration (never swept) and more for batches played again.
"""

from __future__ import annotations

from hil.session.lab import connect_virtual
from instruments.connection import Lab
from protocols.cycle import CycleSettings, ResetWriteRead
from protocols.plan import run_plan
from protocols.survey import survey_devices
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.server import VirtualLab


def price_survey(lab: Lab, settings: CycleSettings, timing: str, iterations: int,
                 devices: int, width: float = 0.5e-6) -> float:
    """Lab seconds a survey of ``devices`` devices on ``lab`` (``iterations`` cycles per
    current, on ``timing``) will take."""
    clock = lab.clock
    priced = (LabClock(bus_latency=clock.bus_latency, line_frequency=clock.line_frequency,
                       byte_time=clock.byte_time) if isinstance(clock, LabClock)
              else LabClock.for_bus("gpib"))
    switch = "7001" if lab.wiring is None else "7002"

    def surveyed(chosen: list[int]) -> float:
        clock = LabClock(bus_latency=priced.bus_latency, line_frequency=priced.line_frequency,
                         byte_time=priced.byte_time)
        virtual = VirtualLab(build_chip(2, width, 0, eta=0.0), clock,
                             trigger_line=lab.trigger_line, switch=switch, units="nominal")
        with connect_virtual(lab=virtual.start(), limits=lab.limits) as dry:
            dry.select_device(0)  # where a survey's run starts
            rwr = ResetWriteRead(dry, settings, timing=timing)
            start = clock.now()
            run_plan(survey_devices(rwr, chosen, iterations))  # nothing recorded
            return clock.now() - start

    first = surveyed([1])
    if devices <= 1:
        return first * devices
    return first + (devices - 1) * (surveyed([0, 1]) - first)

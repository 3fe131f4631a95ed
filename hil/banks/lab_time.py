"""What a lab bank's ``switch`` costs in lab time: a cost per instrument batch plus a cost
per cycle, so a run can say at its start how long it will take on the instruments.

One ``switch`` of n rows runs, per device, a switch-card move and the device's n
reset-write-read cycles cut into instrument batches (hardware-timed: up to 1,024 cycles,
the 2000's buffer, each with its arming, upload, read-back and reset check; software-timed:
one bus exchange per step, so one "batch" per call). Its lab seconds are

    seconds = per_batch * batches(n) + per_cycle * n,

fitted by least squares on (n, seconds) pairs. Before a run the pairs come from a dry
pricing: the same cycles played on a separate virtual lab whose clock charges the same bus
and the instruments' timing tables (``simulators/lab``), so no pulse reaches the bank's
devices and the devices' random draws are untouched. Once the run has measured batches of
its own, those set the level (and, over a wide enough range of sizes, the split).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from protocols.cycle import BUFFER_READINGS, CycleSettings, ResetWriteRead

SOFTWARE_PRICING_CYCLES = 12  # software-timed cycles cost the same each: a few price them
WIDE_RANGE = 4.0  # measured sizes this far apart fit the split on their own


@dataclass(frozen=True)
class BatchCost:
    """Lab seconds of one switch call per device: ``per_batch`` for each instrument batch
    (``batch_cycles`` cycles at most; None: one per call) and ``per_cycle`` for each cycle."""

    per_batch: float
    per_cycle: float
    batch_cycles: int | None

    def batches(self, rows: int) -> int:
        """Instrument batches a call of ``rows`` cycles is cut into (at least one)."""
        return 1 if self.batch_cycles is None else max(1, math.ceil(rows / self.batch_cycles))

    def seconds(self, rows: int) -> float:
        """Lab seconds of a call of ``rows`` cycles: per_batch * batches(rows) + per_cycle *
        rows."""
        return self.per_batch * self.batches(rows) + self.per_cycle * rows

    def scaled(self, factor: float) -> BatchCost:
        """The same cost with both terms multiplied by ``factor`` (a dry price brought to the level
        measured on the run's own batches)."""
        return BatchCost(self.per_batch * factor, self.per_cycle * factor, self.batch_cycles)

    @classmethod
    def fit(cls, samples: Sequence[tuple[int, float]],
            batch_cycles: int | None) -> BatchCost | None:
        """Least squares over (rows, seconds) pairs; None unless two sizes were seen."""
        if len({n for n, _ in samples}) < 2:
            return None
        shape = cls(0.0, 0.0, batch_cycles)
        design = np.array([[shape.batches(n), n] for n, _ in samples], dtype=float)
        seconds = np.array([s for _, s in samples], dtype=float)
        (per_batch, per_cycle), *_ = np.linalg.lstsq(design, seconds, rcond=None)
        return cls(max(float(per_batch), 0.0), max(float(per_cycle), 0.0), batch_cycles)


def current_cost(priced: Sequence[tuple[int, float]], measured: Sequence[tuple[int, float]],
                 batch_cycles: int | None) -> BatchCost | None:
    """The model to project with now: the run's own batches when their sizes span a wide
    range; else the priced model, scaled to what the run's batches really cost."""
    sizes = [n for n, _ in measured]
    if sizes and max(sizes) >= WIDE_RANGE * min(sizes):
        own = BatchCost.fit(measured, batch_cycles)
        if own is not None:
            return own
    model = BatchCost.fit(priced, batch_cycles)
    if model is None or not measured:
        return model
    predicted = sum(model.seconds(n) for n, _ in measured)
    return model.scaled(sum(s for _, s in measured) / predicted) if predicted > 0 else model


def pricing_sizes(rows: Sequence[int], timing: str) -> list[int]:
    """Two batch sizes that span the run's calls (capped at one instrument batch, or at a
    few cycles when every cycle costs the same)."""
    cap = BUFFER_READINGS if timing == "hardware" else SOFTWARE_PRICING_CYCLES
    high = min(max(rows), cap)
    low = min(min(rows), high)
    if low == high:
        low = max(1, high // 4)
    if low == high:
        high = low + 1
    return [low, high]


def bus_costs(bus: str) -> dict[str, float]:
    """A bus's latency per transaction and time per byte (simulators/lab/clock.py)."""
    from simulators.lab.clock import BUSES

    latency, byte_time = BUSES[bus]
    return {"latency": latency, "byte_time": byte_time}


def dry_price(twin: dict, settings: CycleSettings, timing: str, trigger_line: int, limits,
              sizes: Sequence[int], width: float = 0.5e-6) -> list[tuple[int, float]]:
    """(rows, lab seconds) of one device's switch call of each size, played on a virtual
    twin of the rig (``twin``: bus ``latency`` and ``byte_time``, ``line_frequency``;
    instruments exactly as their data sheets), write currents spread over a quarter of
    the pulse-current limit, as training's are: the bytes uploaded match. The twin's
    set-up (calibration, the burst's measurement) is not priced: a run does it once."""
    from hil.session.lab import connect_virtual
    from simulators.lab.chip import build_chip
    from simulators.lab.clock import LabClock
    from simulators.lab.server import VirtualLab

    priced_clock = LabClock(bus_latency=twin["latency"], line_frequency=twin["line_frequency"],
                            byte_time=twin["byte_time"])
    virtual = VirtualLab(build_chip(1, width, 0), priced_clock, trigger_line=trigger_line,
                         units="nominal")
    samples = []
    with connect_virtual(lab=virtual.start(), limits=limits) as lab:
        rwr = ResetWriteRead(lab, settings, timing=timing)
        rwr.calibrate()
        if timing == "hardware":
            rwr.burst_clock()
        high = 0.45 * limits.max_pulse_current
        for size in sizes:
            start = priced_clock.now()
            lab.select_device(0)
            for _ in rwr.batches(np.linspace(0.7 * high, high, size)):
                pass
            samples.append((int(size), priced_clock.now() - start))
    return samples

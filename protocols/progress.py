"""One progress protocol for every long call (sweeps, surveys, calibrations, training,
evaluation): ``progress(stage, done, total, metrics)``. One signature means one bar, one
GUI slot and one script callback serve them all (pymeasure's Procedure emits progress the
same way for whatever it runs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class Progress(Protocol):
    """Called as work advances: ``stage`` names what is being done ("sweep", "survey",
    "calibration", "train", "evaluate", ...), ``done`` of ``total`` units (cycles,
    devices, pulses, epochs, images) and the metrics worth showing (e.g. the loss)."""

    def __call__(self, stage: str, done: int, total: int,
                 metrics: Mapping[str, float]) -> None: ...

"""A characterisation run that watches itself: the run watch of a training
(:class:`hil.session.watch.RunWatch`: its suspenders, reconnection with backoff and replay,
events in the run's provenance with their lab time) over a procedure's one cycle.

A procedure (``Session.sweep``, ``survey``, ``endurance``, ``hysteresis``, ``anisotropy``,
``single_cycle``) runs on a :class:`WatchedCycle`: its batches (one instrument batch on the
hardware route, one cycle on the software route) are device calls of the watch, so a batch a
dropped connection or a timed-out instrument interrupts is retried after 1, 2, 4 ... lab
seconds and played again whole (its partial readings dropped, never stored twice; its pulses
counted as the device took them); a calibration is retried the same way. The suspenders are
checked between the batches the run stores: after the first, then once 100 cycles or one lab
second have passed since the last check (a software-timed batch is one cycle: checking each
would add eight queries to a cycle's twenty), and before each device of a survey.

Which suspenders watch a procedure, and why:

- ``errors``, ``compliance``, ``field``: every procedure (the instruments, and the field
  supply where the procedure turned it on: anisotropy; the others stand in the fixed field);
- ``levels``: procedures whose readings are reset-write-read cycles against the device's
  calibrated levels (sweep, survey, endurance, single cycle); hysteresis and anisotropy read
  R_AHE at every point of a loop or a field sweep, so they feed it nothing;
- ``wear``: every procedure that pulses, against the device's life (``hil.session.wear``);
- ``stuck``: a device that refuses its reset inside a batch (the cycle's own check); its
  window test needs a device's measured calibration, which a procedure is measuring, so it
  judges no window here;
- ``drift`` is off: its check pulses at the calibrated 50 % current would become part of
  the measurement (a sweep measures I_bias itself; endurance measures how P holds over
  cycles, which is what drift would change).

Retiring a device: a survey marks it ``retired`` (``protocols.errors.DeviceRetired``) and goes
on with its next device; a procedure on one device stops with its outputs off, the run kept
``aborted`` with the reason. ``recalibrate`` measures the device's levels again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hil.session.suspenders import Trip, WatchSettings, suspenders_from_mapping
from hil.session.watch import FAILURES, RunWatch, classify_failure
from instruments.connection import Lab
from protocols.cycle import CycleSettings, ResetWriteRead
from protocols.errors import DeviceRetired

__all__ = ["CHECK_CYCLES", "CHECK_SECONDS", "PROCEDURE_SUSPENDERS", "CycleTarget",
           "ProcedureWatch", "WatchedCycle", "procedure_watch"]

PROCEDURE_SUSPENDERS = ("errors", "stuck", "levels", "wear", "compliance", "field")
CHECK_CYCLES = 100  # cycles between checks at most (a sweep's current on either route)
CHECK_SECONDS = 1.0  # lab seconds between checks at most


class CycleTarget:
    """A procedure's cycle as the watch sees a lab bank: one neuron, the routed device (a
    survey routes one after another). Its calibration is the procedure's to measure, so no
    sweep judges it (``calibration_sweeps``)."""

    def __init__(self, rwr: ResetWriteRead, description: dict | None) -> None:
        self.rwr, self.lab, self.description = rwr, rwr.lab, description
        self.watch: RunWatch | None = None
        self.calibration_sweeps: list[int | None] = [None]
        self.lab_seconds = None  # the run's own clock counts it
        self.timing, self.settings = rwr.timing, rwr.settings

    @property
    def devices(self) -> list[int]:
        """The routed device (the one neuron)."""
        return [self.rwr.device]

    @property
    def max_current(self) -> list[float]:
        """The lab's largest pulse current."""
        return [self.lab.limits.max_pulse_current]

    def cycle_for(self, device: int) -> ResetWriteRead:
        """The procedure's cycle (on the routed device)."""
        return self.rwr

    def routed_devices(self) -> set[int]:
        """The routed device once its levels are calibrated."""
        return {self.rwr.device} if self.rwr.levels is not None else set()

    def pulses(self) -> dict[int, int]:
        """Pulses each device took in this run, replays included."""
        return {int(d): int(n) for d, n in self.rwr.pulses.items()}

    def set_up_again(self) -> None:
        """After the instruments were opened again (``*RST``): the device routed again and
        the cycle's settings sent again."""
        self.lab.select_device(self.rwr.device)
        self.rwr.configure()


class WatchedCycle(ResetWriteRead):
    """The reset-write-read cycle whose batches and calibrations are the watch's device
    calls (retried with backoff, replayed whole)."""

    def __init__(self, lab: Lab, settings: CycleSettings, timing: str,
                 watch: ProcedureWatch, description: dict | None) -> None:
        super().__init__(lab, settings, timing=timing)
        self.watch = watch
        self.target = CycleTarget(self, description)

    def batches(self, write_currents):
        """``ResetWriteRead.batches``, each batch a device call of the watch."""
        currents = np.asarray([float(c) for c in write_currents])
        start = 0
        while start < currents.size:
            readings = self.watch.device_call(self.target, 0, currents[start:],
                                              self._first_batch)
            start += len(readings)
            self.watch.cycles += len(readings)
            yield readings

    def _first_batch(self, device: int, currents: np.ndarray) -> list:
        return next(ResetWriteRead.batches(self, currents))

    def calibrate(self, repeats: int = 3, write_current: float | None = None) -> float:
        """The device's levels (``ResetWriteRead.calibrate``), retried after a lost
        connection like a batch."""
        return self.watch.retried(
            lambda: ResetWriteRead.calibrate(self, repeats, write_current),
            f"device {self.device}'s calibration")

    def route_device(self, device: int) -> None:
        """Route ``device`` (a survey's next): its windows start afresh and the suspenders
        look before its first pulse."""
        super().route_device(device)
        self.watch.device_changed()


class ProcedureWatch(RunWatch):
    """:class:`RunWatch` over one procedure's cycle (module docstring). ``goes_on``: the
    procedure goes on with its next device when one is retired (a survey)."""

    def __init__(self, settings: WatchSettings | None = None, goes_on: bool = False) -> None:
        settings = settings or WatchSettings()
        super().__init__(dataclasses.replace(settings, suspenders=[
            s for s in settings.suspenders if s.name in PROCEDURE_SUSPENDERS]))
        self.goes_on = goes_on
        self.cycles = 0  # cycles the watched batches returned
        self._checked: tuple[int, float] | None = None  # (cycles, lab s) at the last check
        self.cycle: WatchedCycle | None = None

    def cycle_for_run(self, lab: Lab, settings: CycleSettings, timing: str,
                      description: dict | None) -> WatchedCycle:
        """The watched cycle a procedure runs on."""
        self.cycle = WatchedCycle(lab, settings, timing, self, description)
        return self.cycle

    def attach_run(self, run, store=None) -> ProcedureWatch:
        """Watch ``run`` on the cycle (its events and the wear budget in its provenance)."""
        self.cycles, self._checked = 0, None
        self.attach(run, [self.cycle.target], [None], [[None]], store)
        return self

    def lab_seconds(self) -> float | None:
        """The run's lab time (before its first batch: what it had recorded, 0 if new)."""
        seconds = super().lab_seconds()
        if seconds is None and self._labs() and self._labs()[0].clock is not None:
            return float(getattr(self.run, "recorded_lab_seconds", None) or 0.0)
        return seconds

    def _now(self) -> float:
        seconds = self.lab_seconds()
        return time.monotonic() if seconds is None else seconds

    def between_batches(self) -> None:
        """The checks (``RunWatch.between_batches``) after the first batch, then once
        ``CHECK_CYCLES`` cycles or ``CHECK_SECONDS`` lab seconds have passed since the last
        (at once when the operator asked for something)."""
        now = self._now()
        if self._checked is not None and not (self._pause.is_set() or self._abort.is_set()):
            cycles, at = self._checked
            if self.cycles - cycles < CHECK_CYCLES and now - at < CHECK_SECONDS:
                return
        self._checked = (self.cycles, now)
        super().between_batches()

    def device_changed(self) -> None:
        """A survey's next device is routed: its windows start afresh, and the suspenders
        look now (a device already past its wear budget takes no pulse)."""
        for suspender in self.settings.suspenders:
            suspender.forget(0, 0)
        self._checked = None
        if self.run is not None:
            self.between_batches()

    def retried(self, step: Callable[[], Any], what: str) -> Any:
        """``step()``; after a lost connection (``classify_failure``) it waits 1, 2, 4 ...
        lab seconds, reconnects and runs again, recorded; other failures are raised."""
        waits = iter(self.settings.reconnect.waits())
        while True:
            try:
                return step()
            except FAILURES as err:
                if classify_failure(err) != "connection":
                    raise
                device = self.cycle.device if self.cycle is not None else None
                self._reconnect_after(err, next(waits, None), Trip(
                    f"{err}; {what} is run again", 0, 0, device))

    def retire(self, layer: int, neuron: int, reason: str) -> None:
        """The routed device is retired: a survey marks it and goes on
        (:class:`~protocols.errors.DeviceRetired`), any other procedure stops with its
        outputs off (``RunStopped``, the run ``aborted`` with the reason)."""
        device = self.cycle.device
        self.retired.append(device)
        if self.goes_on:
            self.record("retire", "retire", Trip(
                f"retired ({reason}); the survey goes on with its next device", layer,
                neuron, device))
            raise DeviceRetired(device, reason)
        self.stop("retire", f"device {device} retired ({reason})",
                  Trip(reason, layer, neuron, device))

    def recalibrate(self, layer: int, neuron: int, reason: str,
                    centre: float | None = None) -> None:
        """A procedure's calibration is its device's levels: measured again, recorded."""
        before = self.cycle.levels
        self.cycle.calibrate()
        low, high = self.cycle.levels
        self.record("recalibrate", "recalibrated", Trip(
            f"levels measured again: {low:.5g}, {high:.5g} ohm ({reason})", layer, neuron,
            self.cycle.device, values={"levels": [low, high],
                                       "old_levels": None if before is None else
                                       list(before)}))


def procedure_watch(watch: WatchSettings | ProcedureWatch | dict | bool | None,
                    goes_on: bool = False) -> ProcedureWatch | None:
    """The watch a procedure runs under: ``None`` or ``True``: the defaults (every
    procedure suspender on, reconnection); ``False``: none (a run another watch watches);
    a ``[suspenders]`` table (dict), ``WatchSettings`` or a ``ProcedureWatch``."""
    if watch is False:
        return None
    if isinstance(watch, ProcedureWatch):
        watch.goes_on = goes_on
        return watch
    if isinstance(watch, dict):
        watch = suspenders_from_mapping(watch)
    return ProcedureWatch(None if watch is True else watch, goes_on)


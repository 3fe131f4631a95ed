"""Runs a protocol in a worker thread and publishes each reading once, as Qt signals.

The window subscribes and plots; the run store is written from here as readings arrive
(DESIGN.md: plans, runner and subscribers are apart; the GUI never re-reads files)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from hil.session.runner import RunAborted, record_run
from instruments.connection import Lab
from protocols.cycle import ResetWriteRead
from protocols.store import RunStore
from protocols.sweep import sweep_device


class Aborted(RunAborted):
    """The user pressed Abort."""


class ProcedureWorker(QObject):
    """Runs ``body(rwr, record)`` on a routed, calibrated device, timed by the instruments
    when they allow it (``protocols/timing.py``); every reading is stored, then emitted;
    between batches of readings (one cycle, or one instrument batch) the worker honours
    pause and abort."""

    reading = pyqtSignal(dict)
    finished = pyqtSignal(dict)
    failed = pyqtSignal(str)
    aborted = pyqtSignal(int)

    def __init__(self, lab: Lab, store_path, kind: str, config: dict,
                 body: Callable[[ResetWriteRead, Callable[[list[dict]], None]], dict]) -> None:
        super().__init__()
        self.lab = lab
        self.store_path = store_path  # SQLite connections belong to one thread: open in run()
        self.kind = kind
        self.config = config
        self.body = body
        self._abort = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def abort(self) -> None:
        self._abort.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    def on_reading(self, reading: dict) -> None:
        """Subclasses publish more per reading."""

    @pyqtSlot()
    def run(self) -> None:
        """Runs in the worker's thread (a declared slot, so Qt calls it there)."""
        try:
            self.store = RunStore(self.store_path)
        except Exception as err:  # noqa: BLE001
            self.failed.emit(f"run store: {err}")
            return
        try:
            self._run()
        finally:
            self.store.close()

    def _run(self) -> None:
        """One recorded run through the session's runner; pause and abort between batches."""
        lab = self.lab
        started: list[int] = []

        def body(rwr: ResetWriteRead, recording) -> dict:
            started.append(recording.run_id)
            return self.body(rwr, recording)

        def between_batches() -> None:
            self._running.wait()
            if self._abort.is_set():
                raise Aborted

        try:
            _, summary = record_run(self.store, lab, self.kind,
                                    {"timing": "auto", **self.config}, body,
                                    subscribers=[self.reading.emit, self.on_reading],
                                    between_batches=between_batches)
        except Aborted:
            lab.outputs_off()
            self.aborted.emit(started[0])
            return
        except Exception as err:  # noqa: BLE001 - shown to the user; a started run is failed
            lab.outputs_off()
            self.failed.emit(str(err))
            return
        self.finished.emit(summary)


class SweepWorker(ProcedureWorker):
    """A switching-probability sweep that also publishes each point and the remaining time."""

    point = pyqtSignal(int, float, int, int)  # index, current, switches so far, cycles so far
    progress = pyqtSignal(int, int, float)  # cycles done, total, remaining lab seconds

    def __init__(self, lab: Lab, store_path, config: dict) -> None:
        super().__init__(lab, store_path, "sweep", config, self._sweep)  # QObject first
        self.currents = np.linspace(config["start"], config["stop"], config["points"])
        self.counts = np.zeros(self.currents.size, int)
        self.trials = np.zeros(self.currents.size, int)
        self.clock = lab.clock
        self.started = (self.clock.seconds if self.clock is not None else time.perf_counter())
        self._last: tuple[int, float] | None = None  # readings done, clock at the last one
        self._first_batch: tuple[int, float] | None = None
        self._end: float | None = None  # the clock when the sweep should end

    def _sweep(self, rwr: ResetWriteRead, record) -> dict:
        return sweep_device(rwr, self.config["device"], self.currents,
                            self.config["iterations"], record).summary()

    def on_reading(self, reading: dict) -> None:
        k = reading["index"]
        self.counts[k] += reading["switched"]
        self.trials[k] += 1
        self.point.emit(k, float(self.currents[k]), int(self.counts[k]), int(self.trials[k]))
        done, total = int(self.trials.sum()), self.currents.size * self.config["iterations"]
        now = self.clock.seconds if self.clock is not None else time.perf_counter()
        self.progress.emit(done, total, self._time_left(done, total, now))

    def _time_left(self, done: int, total: int, now: float) -> float:
        """Seconds to go, from the cost of the batches after the first (the first carries
        the connection and calibration). A batch's readings arrive together, after the
        clock has been charged for all of them: the rate counts whole batches only."""
        if self._last is not None and now != self._last[1]:  # a new batch was charged
            if self._first_batch is None:
                self._first_batch = self._last  # the end of the first batch
            elif self._last[0] > self._first_batch[0]:
                rate = (self._last[1] - self._first_batch[1]) / (
                    self._last[0] - self._first_batch[0])
                self._end = self._last[1] + rate * (total - self._last[0])
        self._last = (done, now)
        if self._end is not None:
            return max(self._end - now, 0.0)
        return (now - self.started) / done * (total - done)

"""Runs a procedure of the public API (:class:`hil.session.Session`) in a worker thread and
publishes each reading once, as Qt signals.

The window subscribes and plots; the session's runner writes the run store as readings
arrive (DESIGN.md: plans, runner and subscribers are apart; the GUI never re-reads files),
exactly as it does for the CLI and for scripts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from hil.session.runner import RunAborted
from hil.session.session import ProcedureResult, Session
from instruments.connection import Lab

Procedure = Callable[[Session], ProcedureResult]


class Aborted(RunAborted):
    """The user pressed Abort."""


class ProcedureWorker(QObject):
    """Runs ``procedure(session)`` (e.g. ``lambda s: s.hysteresis(0)``) on a session over
    the window's connected lab; every reading is stored by the session's runner, then
    emitted; between batches of readings (one cycle, or one instrument batch) the worker
    honours pause and abort. Outputs are off when the procedure ends, however it ends."""

    reading = pyqtSignal(dict)
    finished = pyqtSignal(dict)
    failed = pyqtSignal(str)
    aborted = pyqtSignal(int)

    def __init__(self, lab: Lab, store_path, description: dict, procedure: Procedure) -> None:
        super().__init__()
        self.lab = lab
        self.store_path = store_path  # SQLite connections belong to one thread: open in run()
        self.description = description
        self.procedure = procedure
        self._abort = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def abort(self) -> None:
        """Stop the run at the next batch boundary (kept as ``aborted``, outputs off); a
        paused run is released so that it can stop."""
        self._abort.set()
        self._running.set()

    def pause(self) -> None:
        """Hold the run at the next batch boundary until :meth:`resume` or :meth:`abort`."""
        self._running.clear()

    def resume(self) -> None:
        """Let a paused run go on."""
        self._running.set()

    def on_reading(self, reading: dict) -> None:
        """Subclasses publish more per reading."""

    def between_batches(self) -> None:
        """Wait while paused; stop the run (kept as ``aborted``) on abort."""
        self._running.wait()
        if self._abort.is_set():
            raise Aborted

    @pyqtSlot()
    def run(self) -> None:
        """Runs in the worker's thread (a declared slot, so Qt calls it there)."""
        try:
            session = Session(self.description, self.store_path, lab=self.lab,
                              subscribers=self.subscribers(),
                              between_batches=self.between_batches)
        except Exception as err:  # noqa: BLE001
            self.failed.emit(f"run store: {err}")
            return
        try:
            self._run(session)
        finally:
            session.store.close()

    def subscribers(self) -> Sequence[Callable[[dict], None]]:
        """What the session's runner hands each stored reading to: the ``reading`` signal,
        then :meth:`on_reading` (a subclass's own signals)."""
        return [self.reading.emit, self.on_reading]

    def _run(self, session: Session) -> None:
        try:
            with session:  # a borrowed lab: its outputs go off, it stays connected
                result = self.procedure(session)
        except Aborted as err:
            self.aborted.emit(-1 if err.run_id is None else err.run_id)
            return
        except Exception as err:  # noqa: BLE001 - shown to the user; a started run is failed
            self.failed.emit(str(err))
            return
        self.finished.emit(result.summary)


class SweepWorker(ProcedureWorker):
    """A switching-probability sweep (``Session.sweep`` on a fixed grid) that also publishes
    each point and the remaining time."""

    point = pyqtSignal(int, float, int, int)  # index, current, switches so far, cycles so far
    progress = pyqtSignal(int, int, float)  # cycles done, total, remaining lab seconds

    def __init__(self, lab: Lab, store_path, description: dict, device: int,
                 currents: Sequence[float], iterations: int, timing: str = "auto") -> None:
        super().__init__(lab, store_path, description,  # QObject first
                         lambda session: session.sweep(device, self.currents, iterations,
                                                       timing))
        self.currents = np.asarray(currents, float)
        self.iterations = iterations
        self.counts = np.zeros(self.currents.size, int)
        self.trials = np.zeros(self.currents.size, int)
        self.clock = lab.clock
        self.started = (self.clock.now() if self.clock is not None else time.perf_counter())
        self._last: tuple[int, float] | None = None  # readings done, clock at the last one
        self._first_batch: tuple[int, float] | None = None
        self._end: float | None = None  # the clock when the sweep should end

    def on_reading(self, reading: dict) -> None:
        k = reading["index"]
        self.counts[k] += reading["switched"]
        self.trials[k] += 1
        self.point.emit(k, float(self.currents[k]), int(self.counts[k]), int(self.trials[k]))
        done, total = int(self.trials.sum()), self.currents.size * self.iterations
        now = self.clock.now() if self.clock is not None else time.perf_counter()
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

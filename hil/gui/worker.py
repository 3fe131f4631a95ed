"""Runs a protocol in a worker thread and publishes each reading once, as Qt signals.

The window subscribes and plots; the run store is written from here as readings arrive
(DESIGN.md: plans, runner and subscribers are apart; the GUI never re-reads files)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from instruments.connection import Lab
from protocols.cycle import ResetWriteRead
from protocols.store import RunStore
from protocols.sweep import sweep_device
from protocols.timing import choose_timing


class Aborted(Exception):
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
        lab = self.lab
        try:
            lab.select_device(self.config.get("device", 0))
            timing = choose_timing(lab, self.config.get("timing", "auto"))
        except Exception as err:  # noqa: BLE001 - shown to the user before any run exists
            lab.outputs_off()
            self.failed.emit(str(err))
            return
        run_id = self.store.create_run(self.kind, {**self.config, "timing": timing,
                                                   "instruments": lab.identities},
                                       self.config["lab"].get("seed"))

        def record(readings: list[dict]) -> None:
            self.store.append_readings(run_id, readings, lab.device_state())
            for reading in readings:
                self.reading.emit(reading)
                self.on_reading(reading)
            self._running.wait()
            if self._abort.is_set():
                raise Aborted

        try:
            rwr = ResetWriteRead(lab, timing=timing)
            rwr.calibrate()
            summary = self.body(rwr, record)
        except Aborted:
            lab.outputs_off()
            self.store.finish(run_id, "aborted", {"error": "aborted by the user"})
            self.aborted.emit(run_id)
            return
        except Exception as err:  # noqa: BLE001 - shown to the user, run kept as failed
            try:
                lab.outputs_off()
            finally:
                self.store.finish(run_id, "failed", {"error": repr(err)})
            self.failed.emit(str(err))
            return
        summary = {"run_id": run_id, **summary}
        self.store.finish(run_id, "finished", summary)
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
        self.clock = lab.virtual_lab.clock if lab.virtual_lab is not None else None
        self.started = (self.clock.seconds if self.clock is not None else time.perf_counter())

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
        self.progress.emit(done, total, (now - self.started) / done * (total - done))

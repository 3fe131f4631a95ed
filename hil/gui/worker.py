"""Runs a protocol in a worker thread and publishes each reading once, as Qt signals.

The window subscribes and plots; the run store is written from here as readings arrive
(DESIGN.md: plans, runner and subscribers are apart; the GUI never re-reads files)."""

from __future__ import annotations

import threading
import time

import numpy as np
from PyQt6.QtCore import QObject, pyqtSignal

from instruments.connection import Lab
from protocols.cycle import ResetWriteRead
from protocols.store import RunStore
from protocols.sweep import sweep_device


class Aborted(Exception):
    """The user pressed Abort."""


class SweepWorker(QObject):
    reading = pyqtSignal(dict)  # every cycle: current, switched, R after write, ...
    point = pyqtSignal(int, float, int, int)  # index, current, switches so far, cycles so far
    progress = pyqtSignal(int, int, float)  # cycles done, total, remaining lab seconds
    finished = pyqtSignal(dict)
    failed = pyqtSignal(str)
    aborted = pyqtSignal(int)

    def __init__(self, lab: Lab, store_path, config: dict) -> None:
        super().__init__()
        self.lab = lab
        self.store_path = store_path  # SQLite connections belong to one thread: open in run()
        self.config = config
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

    def run(self) -> None:
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
        config, lab = self.config, self.lab
        run_id = self.store.create_run("sweep", {**config, "instruments": lab.identities},
                                       config["lab"].get("seed"))
        currents = np.linspace(config["start"], config["stop"], config["points"])
        counts = np.zeros(currents.size, int)
        trials = np.zeros(currents.size, int)
        clock = lab.virtual_lab.clock if lab.virtual_lab is not None else None
        started = time.perf_counter()
        lab_start = clock.seconds if clock is not None else 0.0

        def record(r: dict) -> None:
            self.store.append_readings(run_id, [r])
            k = r["index"]
            counts[k] += r["switched"]
            trials[k] += 1
            self.reading.emit(r)
            self.point.emit(k, float(currents[k]), int(counts[k]), int(trials[k]))
            done, total = int(trials.sum()), currents.size * config["iterations"]
            spent = (clock.seconds - lab_start) if clock is not None else (
                time.perf_counter() - started)
            self.progress.emit(done, total, spent / done * (total - done))
            self._running.wait()
            if self._abort.is_set():
                raise Aborted

        try:
            lab.select_device(config["device"])
            rwr = ResetWriteRead(lab)
            rwr.calibrate()
            result = sweep_device(rwr, config["device"], currents, config["iterations"], record)
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
        summary = {"run_id": run_id, **result.summary()}
        self.store.finish(run_id, "finished", summary)
        self.finished.emit(summary)

"""The training tab: a hardware-in-the-loop training run watched live, on the runner the CLI
uses (``hil train``: :class:`hil.learn.train.Trainer` in the run store's run context, watched
by :class:`hil.session.watch.RunWatch`), in a worker thread so the window stays responsive.

The tab shows what the run tells: the trainer's per-epoch loss and accuracy and lab time
left, the watch's events (suspenders, recalibrations, spares, reconnections, the operator's
own requests) with their lab time, and after each batch the batch counter, every device's
calibrated I_bias (its drift since the run first calibrated it, and the last check sweep's
reading) and its pulses, replays included. Pause, resume and abort are the watch's operator
requests (``RunWatch.request``): they act between batches, and an abort stops the run with
its outputs off, recorded as ``aborted``.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PyQt6.QtCore import QObject, QThread, pyqtSignal, pyqtSlot
from PyQt6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hil.banks.calibration import nominal_calibration
from hil.errors import ConfigError
from hil.gui.widgets import button_row, end_thread, reason_label
from hil.learn.config import TrainConfig
from hil.session.runner import RunAborted
from hil.session.suspenders import WatchSettings, load_suspenders
from hil.session.watch import RunWatch
from protocols.store import RunStore
from simulators.presets import hall_bar_preset

BACKENDS = ("model", "lab")  # the fast simulated bars, or the window's connected lab
DEVICE_COLUMNS = ("layer", "neuron", "device", "I_bias (mA)", "drift since start",
                  "last check", "pulses")
EVENT_COLUMNS = ("lab time (s)", "suspender", "action", "device / role", "detail")


def _numbers(field: str, text: str) -> list[int]:
    """A comma-separated list of whole numbers >= 0, refused by name."""
    try:
        values = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise ConfigError(field, f"{text!r} is not a comma-separated list of device "
                          "numbers") from None
    if any(v < 0 for v in values):
        raise ConfigError(field, f"{text!r}: device numbers are >= 0")
    return values


def device_rows(watch: RunWatch) -> list[dict[str, Any]]:
    """Every watched neuron as the tab shows it: its device (None off a lab), calibrated
    I_bias and pulses so far, replays included (None where no instrument counts them)."""
    pulses = {(layer, neuron): count for layer, neuron, count in watch.pulse_counts()}
    return [{"layer": layer, "neuron": neuron, "device": watch.device_of(layer, neuron),
             "i_bias": float(cal.i_bias), "pulses": pulses.get((layer, neuron))}
            for layer, calibration in enumerate(watch.calibration)
            for neuron, cal in enumerate(calibration)]


class TrainingWorker(QObject):
    """Runs ``Trainer(config).run(store)`` (the CLI's run) in the worker's thread, with a
    :class:`RunWatch` of ``settings`` whose events and batches it publishes as signals. On
    ``lab`` (the window's connected lab) the network's devices are ``devices`` of a lab
    bank over it, calibrated as ``config.calibration`` says (``device``: each device's
    sweep, a run of its own); without one the config's backend builds its own banks."""

    progress = pyqtSignal(str, int, int, dict)  # the trainer's: stage, done, total, metrics
    batch = pyqtSignal(dict)  # after each batch: counter, lab seconds, devices
    recorded = pyqtSignal(dict)  # every event the watch records (QObject.event is Qt's)
    estimate = pyqtSignal(float)  # lab seconds at the end, said before the first epoch
    finished = pyqtSignal(dict)
    failed = pyqtSignal(str)
    aborted = pyqtSignal(int)

    def __init__(self, config: TrainConfig, store_path, settings: WatchSettings | None = None,
                 lab=None, devices: list[int] | None = None,
                 description: dict | None = None) -> None:
        super().__init__()
        self.config, self.store_path = config, store_path
        self.lab, self.devices, self.description = lab, devices, description
        self.watch = RunWatch(settings)  # made here: a request before the run starts holds
        self.watch.subscribers.append(self.recorded.emit)
        self.watch.batch_listeners.append(self._on_batch)
        self.run_id: int | None = None

    def pause(self) -> None:
        """The operator's pause (the Pause button, from the GUI thread): the run's watch holds
        the run after the batch in hand, recorded as an event."""
        self.watch.request("pause")

    def resume(self) -> None:
        """The operator's resume: a paused run goes on with its next batch."""
        self.watch.request("resume")

    def abort(self) -> None:
        """The operator's abort: the run stops after the batch in hand, outputs off, and is
        kept as ``aborted``."""
        self.watch.request("abort")

    def _on_batch(self, watch: RunWatch) -> None:
        """In the worker's thread, between batches: a copy of what the tab shows."""
        self.batch.emit({"batches": watch.batches, "lab_seconds": watch.lab_seconds(),
                         "devices": device_rows(watch)})

    def _banks(self):
        if self.lab is None:
            return None
        from hil.banks.lab import LabBank

        nominal = nominal_calibration(hall_bar_preset(self.config.width))
        return [LabBank(self.lab, self.devices, [nominal] * len(self.devices),
                        timing=self.config.timing, description=self.description)]

    @pyqtSlot()
    def run(self) -> None:
        """Runs in the worker's thread (SQLite connections belong to one thread: the store
        is opened here)."""
        from hil.learn.train import Trainer

        try:
            store = RunStore(self.store_path)
        except Exception as err:  # noqa: BLE001 - shown to the user
            self.failed.emit(f"run store: {err}")
            return
        try:
            trainer = Trainer(self.config, self.progress.emit, banks=self._banks())
            trainer.watch = self.watch
            trainer.on_lab_estimate = self.estimate.emit
            result = trainer.run(store)
        except RunAborted as err:  # the operator's abort or a suspender's stop
            self.aborted.emit(-1 if err.run_id is None else err.run_id)
        except Exception as err:  # noqa: BLE001 - shown to the user; the run is kept failed
            self.failed.emit(str(err))
        else:
            self.finished.emit(result.summary(self.config))
        finally:
            try:
                if self.lab is not None:  # however the run ended (a given bank stays open)
                    self.lab.outputs_off()
            finally:
                store.close()


class TrainingTab(QWidget):
    """Set a short training up, start it, watch it, pause, resume or abort it between
    batches. ``window``: the main window (its run store, and its connected lab for the
    ``lab`` backend)."""

    def __init__(self, window) -> None:
        super().__init__()
        self.window_ = window
        self.thread: QThread | None = None
        self.worker: TrainingWorker | None = None
        self.run_id: int | None = None
        self.batches = 0
        self.loss: list[float] = []
        self.accuracy: list[float] = []
        self.first_i_bias: dict[tuple[int, int | None], float] = {}
        self.last_check: dict[int, float] = {}  # device -> relative shift its check found
        self.i_bias_now: dict[int, float] = {}  # device -> its calibrated I_bias now
        self.lab_end: float | None = None  # lab seconds at the run's end, as estimated
        self.lab_now: float | None = None
        layout = QHBoxLayout(self)
        controls = QVBoxLayout()
        controls.addWidget(self._setup_panel())
        controls.addWidget(self._run_panel())
        controls.addStretch(1)
        layout.addLayout(controls, 1)
        layout.addLayout(self._views(), 3)

    # -- panels ------------------------------------------------------------------------
    def _setup_panel(self) -> QGroupBox:
        box = QGroupBox("Training (as hil train runs it)")
        form = QFormLayout(box)
        self.backend = QComboBox()
        self.backend.addItems(BACKENDS)
        self.backend.setToolTip("model: simulated Hall bars; lab: the connected lab's devices")
        self.lab_devices = QLineEdit("0, 1, 2, 3")
        self.spares = QLineEdit("")
        self.spares.setPlaceholderText("e.g. 4, 5 (a retired device's replacements)")
        self.suspenders_file = QLineEdit("")
        self.suspenders_file.setPlaceholderText("run TOML with [suspenders]; empty: defaults")
        self.calibration = QComboBox()
        self.calibration.addItems(["device", "nominal"])
        self.epochs = self._spin(1, 1000, 3)
        self.train_per_class = self._spin(1, 1000, 4)
        self.test_per_class = self._spin(1, 1000, 10)
        self.steps = self._spin(1, 1000, 10)
        self.batch_size = self._spin(1, 1000, 4)
        self.seed = self._spin(0, 2**31 - 1, 3)
        for label, widget in (("backend", self.backend), ("lab devices", self.lab_devices),
                              ("spares", self.spares), ("suspenders", self.suspenders_file),
                              ("calibration", self.calibration), ("epochs", self.epochs),
                              ("training images / class", self.train_per_class),
                              ("held-out images / class", self.test_per_class),
                              ("time steps", self.steps), ("batch size", self.batch_size),
                              ("seed", self.seed)):
            form.addRow(label, widget)
        return box

    @staticmethod
    def _spin(low: int, high: int, value: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(low, high)
        box.setValue(value)
        return box

    def _run_panel(self) -> QGroupBox:
        box = QGroupBox("Run")
        form = QFormLayout(box)
        buttons, (self.start_button, self.pause_button, self.resume_button,
                  self.abort_button) = button_row(("Start", self.start), ("Pause", self.pause),
                                                  ("Resume", self.resume), ("Abort", self.abort))
        self.status = QLabel("idle")
        self.status.setWordWrap(True)
        self.batch_label = QLabel("batches: 0")
        self.lab_left = QLabel("lab time left: -")
        self.progress = QProgressBar()
        self.reason = reason_label()
        form.addRow(buttons)
        form.addRow("status", self.status)
        form.addRow(self.batch_label)
        form.addRow(self.lab_left)
        form.addRow("epochs", self.progress)
        form.addRow(self.reason)
        self._buttons()
        return box

    def _views(self) -> QVBoxLayout:
        layout = QVBoxLayout()
        plots = QHBoxLayout()
        self.loss_plot = pg.PlotWidget(title="training loss per epoch")
        self.loss_plot.setLabel("bottom", "epoch")
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen("y", width=2), symbol="o")
        self.accuracy_plot = pg.PlotWidget(title="accuracy")
        self.accuracy_plot.setLabel("bottom", "epoch")
        self.accuracy_plot.setYRange(0, 1)
        self.accuracy_plot.addLegend()
        self.accuracy_curve = self.accuracy_plot.plot(
            [], [], pen=pg.mkPen("c", width=2), symbol="o", name="training (devices)")
        self.held_out = self.accuracy_plot.plot([], [], pen=None, symbol="star",
                                                symbolSize=14, name="held-out (devices)")
        plots.addWidget(self.loss_plot, 1)
        plots.addWidget(self.accuracy_plot, 1)
        self.device_table = QTableWidget(0, len(DEVICE_COLUMNS))
        self.device_table.setHorizontalHeaderLabels(DEVICE_COLUMNS)
        self.event_table = QTableWidget(0, len(EVENT_COLUMNS))
        self.event_table.setHorizontalHeaderLabels(EVENT_COLUMNS)
        self.event_table.horizontalHeader().setStretchLastSection(True)
        layout.addLayout(plots, 3)
        layout.addWidget(QLabel("devices (I_bias as calibrated now; drift since the run "
                                "first calibrated the device; pulses, replays included)"))
        layout.addWidget(self.device_table, 2)
        layout.addWidget(QLabel("events (suspenders, recalibrations, spares, reconnections, "
                                "the operator)"))
        layout.addWidget(self.event_table, 2)
        return layout

    # -- starting ----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """A training runs: the lab is the training's until it ends (the window's Connect and Start
        buttons are off)."""
        return self.worker is not None

    def config(self) -> TrainConfig:
        """The form as a training configuration, validated (refused by field name)."""
        lab = self.backend.currentText() == "lab"
        fields: dict[str, Any] = {
            "backend": self.backend.currentText(), "epochs": self.epochs.value(),
            "train_per_class": self.train_per_class.value(),
            "test_per_class": self.test_per_class.value(), "steps": self.steps.value(),
            "batch_size": self.batch_size.value(), "seed": self.seed.value(),
            "compare": False, "calibration": self.calibration.currentText() if lab
            else "nominal"}
        if lab:
            fields["timing"] = self.window_.timing.currentText()
            fields["width"] = self.window_.lab_description().get("width", 0.5e-6)
        return TrainConfig.from_options(fields)

    def settings(self) -> WatchSettings:
        """The suspenders of the run TOML named, else the defaults; spares from the form."""
        path = self.suspenders_file.text().strip()
        settings = load_suspenders(path) if path else WatchSettings()
        spares = self.spares.text().strip()
        if spares:
            settings.spares = _numbers("spares", spares)
        return settings

    def start(self) -> None:
        """The Start button: the form checked (a bad field named in the reason line), then
        the run started in a worker thread with its signals wired to the tab."""
        if self.busy:
            return
        lab = self.backend.currentText() == "lab"
        try:
            config = self.config()
            settings = self.settings()
            devices = _numbers("lab devices", self.lab_devices.text()) if lab else None
            if lab and self.window_.lab is None:
                raise ConfigError("lab", "not connected: connect to a lab first")
            if lab and self.window_.worker is not None:
                raise ConfigError("lab", "a characterisation is running on it")
        except (ConfigError, ValueError) as err:
            self.reason.setText(str(err))
            return
        self.reason.setText("")
        self._clear()
        worker = TrainingWorker(config, self.window_.store.path, settings,
                                self.window_.lab if lab else None, devices,
                                self.window_.lab_description() if lab else None)
        self.thread = QThread(self)
        self.worker = worker
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        worker.batch.connect(self._on_batch)
        worker.recorded.connect(self._on_event)
        worker.estimate.connect(self._on_estimate)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.aborted.connect(self._on_aborted)
        for signal in (worker.finished, worker.failed, worker.aborted):
            signal.connect(self._on_end)
        self.status.setText("starting: calibrating and setting up" if lab else "starting")
        self._buttons()
        self.window_.training_changed()
        self.thread.start()

    def _clear(self) -> None:
        self.batches, self.run_id, self.lab_end, self.lab_now = 0, None, None, None
        self.i_bias_now.clear()
        self.loss.clear()
        self.accuracy.clear()
        self.first_i_bias.clear()
        self.last_check.clear()
        self.loss_curve.setData([], [])
        self.accuracy_curve.setData([], [])
        self.held_out.setData([], [])
        self.device_table.setRowCount(0)
        self.event_table.setRowCount(0)
        self.batch_label.setText("batches: 0")
        self.lab_left.setText("lab time left: -")
        self.progress.setValue(0)

    # -- the operator ------------------------------------------------------------------
    def pause(self) -> None:
        """The Pause button: asks the run to pause between batches (it finishes the batch
        in hand first)."""
        if self.worker is not None:
            self.worker.pause()
            self.status.setText("pause asked: the run pauses after this batch")
            self._buttons(paused=True)

    def resume(self) -> None:
        """The Resume button: asks a paused run to go on."""
        if self.worker is not None:
            self.worker.resume()
            self.status.setText("resume asked")
            self._buttons(paused=False)

    def abort(self) -> None:
        """The Abort button: asks the run to stop after the batch in hand, outputs off;
        the tab is told when it has."""
        if self.worker is not None:
            self.worker.abort()
            self.status.setText("abort asked: the run stops after this batch, outputs off")

    def _buttons(self, paused: bool = False) -> None:
        running = self.worker is not None
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running and not paused)
        self.resume_button.setEnabled(running and paused)
        self.abort_button.setEnabled(running)

    # -- what the run tells ------------------------------------------------------------
    def _on_progress(self, stage: str, done: int, total: int, metrics: dict) -> None:
        if stage != "train":
            self.status.setText(f"{stage}: {done}/{total}")
            return
        self.loss.append(metrics["loss"])
        self.accuracy.append(metrics["acc"])
        epochs = list(range(1, len(self.loss) + 1))
        self.loss_curve.setData(epochs, self.loss)
        self.accuracy_curve.setData(epochs, self.accuracy)
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        if "lab_s_left" in metrics and self.lab_now is not None:
            self.lab_end = self.lab_now + metrics["lab_s_left"]
            self._show_lab_left(self.lab_now)
        if not self.worker or not self.worker.watch.paused:
            self.status.setText(f"training: epoch {done}/{total}, loss {metrics['loss']:.3f}")

    def _on_estimate(self, end: float) -> None:
        self.lab_end = end

    def _show_lab_left(self, now: float | None) -> None:
        if now is None or self.lab_end is None:
            return
        left = max(self.lab_end - now, 0.0)
        self.lab_left.setText(f"lab time left: {left:.1f} s ({left / 3600:.2f} h; lab clock "
                              f"{now:.1f} s)")

    def _on_batch(self, state: dict) -> None:
        self.batches = state["batches"]
        self.batch_label.setText(f"batches: {self.batches}")
        self.lab_now = state["lab_seconds"]
        self._show_lab_left(self.lab_now)
        rows = state["devices"]
        self.device_table.setRowCount(len(rows))
        for row, device in enumerate(rows):
            key = (device["layer"], device["device"] if device["device"] is not None
                   else device["neuron"])
            first = self.first_i_bias.setdefault(key, device["i_bias"])
            if device["device"] is not None:
                self.i_bias_now[device["device"]] = device["i_bias"]
            check = self.last_check.get(device["device"])
            cells = (device["layer"], device["neuron"],
                     "-" if device["device"] is None else device["device"],
                     f"{device['i_bias'] * 1e3:.4f}",
                     f"{(device['i_bias'] - first) / first:+.2%}",
                     "-" if check is None else f"{check:+.2%}",
                     "-" if device["pulses"] is None else device["pulses"])
            for column, value in enumerate(cells):
                self.device_table.setItem(row, column, QTableWidgetItem(str(value)))

    def _on_event(self, event: dict) -> None:
        row = self.event_table.rowCount()
        self.event_table.insertRow(row)
        lab_t = event.get("lab_t")
        where = (f"device {event['device']}" if event.get("device") is not None else
                 event.get("role") or "")
        for column, value in enumerate(("-" if lab_t is None else f"{lab_t:.1f}",
                                        event["suspender"], event["action"], where,
                                        event.get("detail", ""))):
            self.event_table.setItem(row, column, QTableWidgetItem(str(value)))
        self.event_table.scrollToBottom()
        if event["suspender"] == "drift" and "i_bias_shift" in event:
            i_bias = self.i_bias_now.get(event.get("device"))
            if i_bias:
                self.last_check[event["device"]] = event["i_bias_shift"] / i_bias
        if event["suspender"] == "operator" and event["action"] == "pause":
            self.status.setText(f"paused between batches (after batch {self.batches})")
        elif event["suspender"] == "operator" and event["action"] == "resume":
            self.status.setText("resumed")
        elif event["action"] == "pause":
            self.status.setText(f"paused by {event['suspender']}: {event.get('detail', '')}")

    def _on_finished(self, summary: dict) -> None:
        self.run_id = summary["run_id"]
        accuracy = summary["hil_accuracy"]
        self.held_out.setData([max(len(self.loss), 1)], [accuracy])
        self.status.setText(f"finished: run {self.run_id}, held-out accuracy {accuracy:.1%} "
                            f"on {summary['test_images']} images")

    def _on_failed(self, message: str) -> None:
        self.status.setText(f"failed: {message}")

    def _on_aborted(self, run_id: int) -> None:
        self.run_id = run_id
        self.status.setText(f"aborted: run {run_id} kept as aborted; outputs off")

    def _on_end(self, *_: object) -> None:
        end_thread(self.thread)
        self.thread = None
        self.worker = None
        self._buttons()
        self.window_.training_changed()

    def close_run(self) -> None:
        """The window closes: the run is aborted between batches and its thread waited for."""
        if self.worker is not None:
            self.worker.abort()
        end_thread(self.thread, 30000)

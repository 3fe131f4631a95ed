"""``hil gui``: characterise devices with live plots, fits as the data arrive, and an abort
that makes the instruments safe; train a network on them in the training tab
(hil.gui.training), watched live. Lab units (mA, uA) in the form, SI inside."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, QThread, QTimer
from PyQt6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from hil.errors import ConfigError
from hil.gui.training import TrainingTab
from hil.gui.widgets import button_row, end_thread, reason_label
from hil.gui.worker import ProcedureWorker, SweepWorker
from hil.session.lab import connect_virtual, open_lab
from hil.session.session import lab_description
from instruments.connection import Lab
from instruments.limits import SafetyLimits
from protocols.fitting import fit_sigmoid, sigmoid, wilson_interval
from protocols.store import RunStore
from protocols.sweep import fifty_percent_current
from protocols.timing import TIMINGS
from simulators.lab.faults import FaultFileError, FaultSchedule

FIT_ROWS = ("i_bias", "i0", "window", "k", "c")


def _spin(low: float, high: float, value: float, decimals: int = 4, suffix: str = ""):
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setValue(value)
    box.setSuffix(suffix)
    return box


class MainWindow(QMainWindow):
    """The characterisation window: connect, set a procedure within the device's limits, run it in
    a worker thread with live plots, pause and abort (abort turns the outputs off within a
    cycle)."""
    def __init__(self, store: RunStore | None = None) -> None:
        super().__init__()
        self.setWindowTitle("spinhil: device characterisation")
        self.store = store or RunStore()
        self.lab: Lab | None = None
        self.thread: QThread | None = None
        self.worker: SweepWorker | None = None
        self.limits = SafetyLimits()
        self.last_run_id: int | None = None
        self._points: dict[int, tuple[float, int, int]] = {}
        self._r_ahe: list[float] = []

        self.training = TrainingTab(self)
        central = QWidget()
        layout = QHBoxLayout(central)
        controls = QVBoxLayout()
        controls.addWidget(self._connection_panel())
        controls.addWidget(self._limits_panel())
        controls.addWidget(self._sweep_panel())
        controls.addWidget(self._procedures_panel())
        controls.addWidget(self._runs_panel())
        controls.addStretch(1)
        layout.addLayout(controls, 1)
        layout.addLayout(self._plots(), 3)
        self.tabs = QTabWidget()
        self.tabs.addTab(central, "Characterise")
        self.tabs.addTab(self.training, "Train")
        self.setCentralWidget(self.tabs)
        self.resize(1280, 760)
        self._validate()
        self.refresh_runs()
        self._dirty = False
        self._fit_due = False
        self.redraw_timer = QTimer(self)  # plots redraw at most 20 times a second
        self.redraw_timer.timeout.connect(self._redraw)
        self.redraw_timer.start(50)

    # -- panels -------------------------------------------------------------------------
    def _connection_panel(self) -> QGroupBox:
        box = QGroupBox("Connection")
        form = QFormLayout(box)
        self.lab_file = QLineEdit()
        self.lab_file.setPlaceholderText("empty: the virtual lab")
        self.fault_file = QLineEdit()
        self.fault_file.setPlaceholderText("virtual lab: faults on its clock (TOML)")
        self.devices = QSpinBox()
        self.devices.setRange(1, 64)
        self.devices.setValue(4)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self.toggle_connection)
        self.status = {}
        form.addRow("lab file", self.lab_file)
        form.addRow("fault file", self.fault_file)
        form.addRow("virtual devices", self.devices)
        form.addRow("virtual seed", self.seed)
        for role in ("pulse", "voltmeter", "field", "switch"):
            light = QLabel("● not connected")
            light.setStyleSheet("color: grey")
            self.status[role] = light
            form.addRow(role, light)
        form.addRow(self.connect_button)
        return box

    def _limits_panel(self) -> QGroupBox:
        box = QGroupBox("Device and safety limits")
        form = QFormLayout(box)
        self.device = QSpinBox()
        self.device.setRange(0, 63)
        self.max_pulse = _spin(0.01, 100.0, self.limits.max_pulse_current * 1e3, 3, " mA")
        self.max_read = _spin(1.0, 1000.0, self.limits.max_read_current * 1e6, 1, " uA")
        self.max_width = _spin(0.001, 1000.0, self.limits.max_pulse_width * 1e3, 3, " ms")
        self.max_compliance = _spin(0.1, 105.0, self.limits.compliance_voltage, 1, " V")
        self.max_field_limit = _spin(0.001, 2.0, self.limits.max_field, 3, " T")
        self.timing = QComboBox()
        self.timing.addItems(TIMINGS)
        self.timing.setToolTip("auto: cycles timed by the instruments (6221 waveform, 2000 on "
                               "the trigger link) when they allow it, else by software")
        form.addRow("device", self.device)
        form.addRow("timing", self.timing)
        for label, box_ in (("max pulse current", self.max_pulse),
                            ("max read current", self.max_read),
                            ("max pulse width", self.max_width),
                            ("compliance", self.max_compliance),
                            ("max in-plane field", self.max_field_limit)):
            box_.valueChanged.connect(self._limits_changed)
            form.addRow(label, box_)
        return box

    def _sweep_panel(self) -> QGroupBox:
        box = QGroupBox("Switching-probability sweep")
        form = QFormLayout(box)
        self.start_current = _spin(0.0, 100.0, 0.25, 4, " mA")
        self.stop_current = _spin(0.0, 100.0, 0.36, 4, " mA")
        self.points = QSpinBox()
        self.points.setRange(3, 200)
        self.points.setValue(12)
        self.iterations = QSpinBox()
        self.iterations.setRange(1, 100000)
        self.iterations.setValue(100)
        for box_ in (self.start_current, self.stop_current):
            box_.valueChanged.connect(self._validate)
        self.reason = reason_label()
        buttons, (self.start_button, self.pause_button, self.abort_button) = button_row(
            ("Start", self.start_sweep), ("Pause", self.toggle_pause), ("Abort", self.abort))
        self.progress = QProgressBar()
        self.remaining = QLabel("")
        form.addRow("start", self.start_current)
        form.addRow("stop", self.stop_current)
        form.addRow("currents", self.points)
        form.addRow("cycles per current", self.iterations)
        form.addRow(self.reason)
        form.addRow(buttons)
        form.addRow(self.progress)
        form.addRow(self.remaining)
        return box

    def _runs_panel(self) -> QGroupBox:
        box = QGroupBox("Runs")
        layout = QVBoxLayout(box)
        self.runs = QListWidget()
        overlay = QPushButton("Overlay selected sweep")
        overlay.clicked.connect(self.overlay_selected)
        export = QPushButton("Export selected (CSV) / plots (PNG)")
        export.clicked.connect(self._export_dialog)
        layout.addWidget(self.runs)
        layout.addWidget(overlay)
        layout.addWidget(export)
        return box

    def _procedures_panel(self) -> QGroupBox:
        box = QGroupBox("Other procedures")
        form = QFormLayout(box)
        self.procedure = QComboBox()
        self.procedure.addItems(["single cycle", "hysteresis", "endurance", "anisotropy",
                                 "survey"])
        self.procedure_current = _spin(0.0, 100.0, 0.30, 4, " mA")
        self.procedure_current.valueChanged.connect(self._validate)
        self.procedure_cycles = QSpinBox()
        self.procedure_cycles.setRange(1, 1_000_000)
        self.procedure_cycles.setValue(1000)
        self.max_field = _spin(0.001, 1.0, 0.1, 3, " T")
        self.max_field.valueChanged.connect(self._validate)
        self.run_procedure_button = QPushButton("Run")
        self.run_procedure_button.clicked.connect(self.run_procedure)
        self.procedure_result = QLabel("")
        self.procedure_result.setWordWrap(True)
        form.addRow("procedure", self.procedure)
        form.addRow("current (cycle, endurance)", self.procedure_current)
        form.addRow("cycles (endurance; survey: 1 % per current, at least 10)",
                    self.procedure_cycles)
        form.addRow("max in-plane field (anisotropy)", self.max_field)
        form.addRow(self.run_procedure_button)
        form.addRow(self.procedure_result)
        return box

    def _plots(self) -> QVBoxLayout:
        layout = QVBoxLayout()
        self.psw_plot = pg.PlotWidget(title="switching probability")
        self.psw_plot.setLabel("bottom", "write current", units="A")
        self.psw_plot.setLabel("left", "P_sw")
        self.psw_plot.setYRange(-0.02, 1.02)
        self.psw_plot.addLegend()
        self.psw_points = self.psw_plot.plot([], [], pen=None, symbol="o", name="measured")
        self.psw_errors = pg.ErrorBarItem()
        self.psw_plot.addItem(self.psw_errors)
        self.fit_curve = self.psw_plot.plot([], [], pen=pg.mkPen("r", width=2), name="fit")
        self.r_plot = pg.PlotWidget(title="R_AHE after each write")
        self.r_plot.setLabel("bottom", "cycle")
        self.r_plot.setLabel("left", "R_AHE", units="ohm")
        self.r_curve = self.r_plot.plot([], [], pen=None, symbol="o", symbolSize=3)
        self.fit_table = QTableWidget(len(FIT_ROWS), 2)
        self.fit_table.setHorizontalHeaderLabels(["value", "± 1 sigma"])
        self.fit_table.setVerticalHeaderLabels(["I_bias (mA)", "I0 (uA)", "window (mA)",
                                                "k (1/mA)", "c (mA)"])
        self.fit_table.setMinimumHeight(180)
        self.proc_plot = pg.PlotWidget(title="procedure")
        self.proc_plot.addLegend()
        self.proc_curve = self.proc_plot.plot([], [], pen=pg.mkPen("c"), symbol="o",
                                              symbolSize=4)
        lower = QHBoxLayout()
        lower.addWidget(self.r_plot, 1)
        lower.addWidget(self.proc_plot, 1)
        layout.addWidget(self.psw_plot, 3)
        layout.addLayout(lower, 2)
        layout.addWidget(self.fit_table, 1)
        self.fit_grade = QLabel("")  # usable, or unusable and why (protocols.fitting)
        self.fit_grade.setWordWrap(True)
        layout.addWidget(self.fit_grade)
        return layout

    # -- behaviour ------------------------------------------------------------------------
    def _limits_changed(self) -> None:
        self.limits = SafetyLimits(
            max_pulse_current=self.max_pulse.value() * 1e-3,
            max_read_current=self.max_read.value() * 1e-6,
            max_pulse_width=self.max_width.value() * 1e-3,
            compliance_voltage=self.max_compliance.value(),
            max_field=self.max_field_limit.value())
        if self.lab is not None:
            self.lab.set_limits(self.limits)
        self._validate()

    def _validate(self) -> bool:
        """Refuse entries beyond a limit in the form, with the reason."""
        reasons = []
        limit = self.limits.max_pulse_current * 1e3
        boxes = [("start", self.start_current), ("stop", self.stop_current)]
        if hasattr(self, "procedure_current"):
            boxes.append(("procedure current", self.procedure_current))
        for name, box in boxes:
            if box.value() > limit:
                reasons.append(f"{name} {box.value():.4g} mA is above the device's safe limit "
                               f"of {limit:.4g} mA")
        if hasattr(self, "max_field") and self.max_field.value() > self.limits.max_field:
            reasons.append(f"in-plane field {self.max_field.value():.4g} T is above the limit "
                           f"of {self.limits.max_field:.4g} T")
        if self.stop_current.value() <= self.start_current.value():
            reasons.append("stop must be above start")
        self.reason.setText("; ".join(reasons))
        ok = not reasons
        idle = self.lab is not None and self.worker is None and not self.training.busy
        self.start_button.setEnabled(ok and idle)
        if hasattr(self, "run_procedure_button"):
            self.run_procedure_button.setEnabled(ok and idle)
        return ok

    def training_changed(self) -> None:
        """A training started or ended: the lab is the training's while it runs."""
        self.connect_button.setEnabled(not self.training.busy)
        self._validate()
        self.refresh_runs()

    def toggle_connection(self) -> None:
        """The Connect button: opens the lab the form names (the virtual lab, with the fault
        file's faults if one is named, or a lab file) and shows each instrument's identity;
        pressed again, closes it. Refused while a training holds the lab."""
        if self.training.busy:
            return
        if self.lab is not None:
            self.lab.close()
            self.lab = None
            for light in self.status.values():
                light.setText("● not connected")
                light.setStyleSheet("color: grey")
            self.connect_button.setText("Connect")
            self._validate()
            return
        try:  # the lab as a run's config names it, opened as the CLI and scripts open it
            self.lab = self._open_lab()
        except (ConfigError, FaultFileError) as err:
            self.reason.setText(str(err))
            return
        self.lab.limits = self.limits
        self.lab.connect()
        for role, light in self.status.items():
            identity = self.lab.identities.get(role)
            light.setText("● " + (identity.split(",")[1].strip() if identity else "absent"))
            light.setStyleSheet("color: #080" if identity else "color: grey")
        self.connect_button.setText("Disconnect")
        self._validate()

    def _open_lab(self):
        """The lab as a run's config names it; the virtual lab with the fault file's faults
        on its clock when one is named (``hil lab serve --faults``'s file)."""
        faults = self.fault_file.text().strip()
        description = self.lab_description()
        if not faults:
            return open_lab(description)
        if "lab_file" in description:
            raise ConfigError("fault file", "faults are the virtual lab's: leave the lab "
                              "file empty")
        schedule = FaultSchedule.load(faults, description["devices"])
        return connect_virtual(devices=description["devices"], width=description["width"],
                               seed=description["seed"], faults=schedule)

    def lab_description(self) -> dict:
        """The lab as the CLI names it (hil.session), so both find the same sweeps."""
        return lab_description(self.lab_file.text().strip() or None, self.devices.value(),
                               0.5e-6, self.seed.value())

    def start_sweep(self) -> None:
        """The Start button: a switching-probability sweep of the chosen device over the
        form's current grid (mA in the form, A inside) in a worker thread, plotted as it runs."""
        if self.lab is None or self.worker is not None or not self._validate():
            return
        currents = np.linspace(self.start_current.value() * 1e-3,
                               self.stop_current.value() * 1e-3, self.points.value())
        self._points.clear()
        self._r_ahe.clear()
        self.fit_curve.setData([], [])
        worker = SweepWorker(self.lab, self.store.path, self.lab_description(),
                             self.device.value(), currents, self.iterations.value(),
                             self.timing.currentText())
        self._start(worker, self._on_reading, self._on_finished)
        worker.point.connect(self._on_point)
        worker.progress.connect(self._on_progress)
        self.thread.start()

    def _start(self, worker: ProcedureWorker, on_reading, on_finished) -> None:
        """Move a worker to its own thread, then listen to it. Every slot is a method of
        this window, so Qt queues each signal into the GUI thread."""
        self.thread = QThread(self)
        self.worker = worker
        worker.moveToThread(self.thread)
        self.thread.started.connect(worker.run)
        worker.reading.connect(on_reading)
        worker.finished.connect(on_finished)
        worker.failed.connect(self._on_failed)
        worker.aborted.connect(self._on_aborted)
        for signal in (worker.finished, worker.failed, worker.aborted):
            signal.connect(self._on_end)
        self.start_button.setEnabled(False)
        self.run_procedure_button.setEnabled(False)

    def _on_failed(self, message: str) -> None:
        self.reason.setText(f"failed: {message}")

    def _on_aborted(self, run_id: int) -> None:
        self.remaining.setText(f"run {run_id} aborted; outputs off")

    def run_procedure(self) -> None:
        """Single cycle, hysteresis, endurance, anisotropy or survey in the worker, each
        through the session's procedure of the same name (as the CLI and scripts run it)."""
        if self.lab is None or self.worker is not None or not self._validate():
            return
        kind = self.procedure.currentText()
        device, timing = self.device.value(), self.timing.currentText()
        current = self.procedure_current.value() * 1e-3
        cycles = self.procedure_cycles.value()
        top, field = self.limits.max_pulse_current, self.max_field.value()
        procedures = {
            "single cycle": lambda s: s.single_cycle(device, current),
            "hysteresis": lambda s: s.hysteresis(device, top, 12),
            "endurance": lambda s: s.endurance(device, current, cycles, timing),
            "anisotropy": lambda s: s.anisotropy(device, field, 15),
            # every routed device (the chip's, or the lab file's list), each swept over
            # the range a coarse search finds
            "survey": lambda s: s.survey(max(10, cycles // 100), timing),
        }
        self.proc_plot.clear()
        self.proc_plot.addLegend()
        self.proc_curve = self.proc_plot.plot([], [], pen=pg.mkPen("c"), symbol="o",
                                              symbolSize=4)
        self._proc_x, self._proc_y = [], []
        self._procedure_kind = kind
        worker = ProcedureWorker(self.lab, self.store.path, self.lab_description(),
                                 procedures[kind])
        self._start(worker, self._on_procedure_reading, self._on_procedure_done)
        self.thread.start()

    def toggle_pause(self) -> None:
        """The Pause / Resume button of a running procedure: it holds or goes on between
        batches of readings."""
        if self.worker is None:
            return
        if self.pause_button.text() == "Pause":
            self.worker.pause()
            self.pause_button.setText("Resume")
        else:
            self.worker.resume()
            self.pause_button.setText("Pause")

    def abort(self) -> None:
        """The Abort button: the running procedure stops between batches, outputs off (also
        called when the window closes)."""
        if self.worker is not None:
            self.worker.abort()

    def _on_reading(self, reading: dict) -> None:
        self._r_ahe.append(reading["r_after_write"])
        self._dirty = True

    def _on_point(self, index: int, current: float, switches: int, cycles: int) -> None:
        self._points[index] = (current, switches, cycles)
        self._dirty = True
        self._fit_due = self._fit_due or cycles == self.iterations.value()

    def _redraw(self) -> None:
        """Draw what arrived since the last frame; refit when a point was completed."""
        if not self._dirty:
            return
        self._dirty = False
        self.r_curve.setData(np.arange(len(self._r_ahe)), np.array(self._r_ahe))
        if not self._points:
            return
        data = np.array([self._points[k] for k in sorted(self._points)], dtype=float)
        currents, counts, trials = data[:, 0], data[:, 1], data[:, 2]
        p = counts / trials
        low, high = wilson_interval(counts.astype(int), trials.astype(int))
        self.psw_points.setData(currents, p)
        self.psw_errors.setData(x=currents, y=p, top=high - p, bottom=p - low)
        complete = trials >= trials.max()
        if self._fit_due and complete.sum() >= 4 and 0 < p.mean() < 1:
            self._fit_due = False
            try:  # the fit settles as the points arrive
                fit = fit_sigmoid(currents, p, trials)
            except (RuntimeError, ValueError):
                return
            self._show_fit(fit.as_dict())

    def _show_fit(self, fit: dict) -> None:
        grid = np.linspace(min(self._points.values())[0], max(self._points.values())[0], 200)
        self.fit_curve.setData(grid, sigmoid(grid, fit["i_bias"], fit["i0"]))
        scale = {"i_bias": 1e3, "i0": 1e6, "window": 1e3, "k": 1e-3, "c": 1e3}
        for row, name in enumerate(FIT_ROWS):
            self.fit_table.setItem(row, 0, QTableWidgetItem(f"{fit[name] * scale[name]:.5g}"))
            self.fit_table.setItem(row, 1, QTableWidgetItem(
                f"{fit[name + '_err'] * scale[name]:.2g}"))
        self.last_fit = fit

    def _on_procedure_reading(self, reading: dict) -> None:
        kind = self._procedure_kind
        if kind == "hysteresis":
            self._proc_x.append(reading["current"])
            self._proc_y.append(reading["r_ahe"])
            self.proc_plot.setLabel("bottom", "write current", units="A")
            self.proc_plot.setLabel("left", "R_AHE", units="ohm")
        elif kind == "endurance":
            self._proc_y.append(float(reading["switched"]))
            window = min(100, len(self._proc_y))
            average = np.convolve(self._proc_y, np.ones(window) / window, mode="valid")
            self.proc_curve.setData(np.arange(average.size) + window, average)
            self.proc_plot.setLabel("bottom", "cycle")
            self.proc_plot.setLabel("left", f"P_sw (moving average of {window})")
            return
        elif kind == "anisotropy":
            self._proc_x.append(reading["field"])
            self._proc_y.append((reading["r_up"] - reading["r_down"]) / 2)
            self.proc_plot.setLabel("bottom", "in-plane field", units="T")
            self.proc_plot.setLabel("left", "R_AHE", units="ohm")
        elif kind == "survey":
            self._proc_x.append(reading["current"])
            self._proc_y.append(float(reading["switched"]))
            return
        else:
            self._proc_x.append(len(self._proc_x))
            self._proc_y.append(reading["r_after_write"])
        self.proc_curve.setData(np.array(self._proc_x), np.array(self._proc_y))

    def _on_procedure_done(self, summary: dict) -> None:
        kind = self._procedure_kind
        if kind == "anisotropy":
            grid = np.linspace(min(self._proc_x), max(self._proc_x), 100)
            from protocols.procedures import anisotropy_model

            self.proc_plot.plot(grid, anisotropy_model(grid, summary["r0"], summary["h_an"]),
                                pen=pg.mkPen("r", width=2), name="Eq. S2 fit")
            text = f"H_an = {summary['h_an']:.4f} +- {summary['h_an_err']:.4f} T"
        elif kind == "endurance":
            text = f"{summary['switches']} switches in {summary['cycles']} cycles"
        elif kind == "survey":
            colours = ["y", "g", "m", "c", "w", "r"]
            for n, fit in enumerate(summary["fits"]):  # overlay of every device
                self.proc_plot.plot(fit["currents"], fit["p_switch"], pen=None, symbol="o",
                                    symbolBrush=colours[n % 6], name=f"device {fit['device']}")
            self.proc_plot.setLabel("bottom", "write current", units="A")
            self.proc_plot.setLabel("left", "P_sw")
            text = (f"I_bias variation {summary['i_bias_variation']:.1%}, window variation "
                    f"{summary['window_variation']:.1%}")
        elif kind == "single cycle":
            text = f"switched: {summary['switched']} (R_AHE {summary['r_after_write']:.3f} ohm)"
        else:
            text = f"run {summary['run_id']} finished"
        self.procedure_result.setText(text)
        self.last_run_id = summary["run_id"]
        self.last_procedure = summary

    def export_run(self, run_id: int, csv_path: str, png_path: str | None = None) -> None:
        """The run's readings as CSV and, optionally, the window's plots as PNG."""
        with open(csv_path, "w", newline="") as out:
            self.store.export_csv(run_id, out)
        if png_path:
            self.tabs.widget(0).grab().save(png_path)  # the characterisation plots

    def _export_dialog(self) -> None:
        item = self.runs.currentItem()
        if item is None:
            return
        run_id = item.data(Qt.ItemDataRole.UserRole)
        path, _ = QFileDialog.getSaveFileName(self, "Export run", f"run-{run_id}.csv",
                                              "CSV (*.csv)")
        if path:
            self.export_run(run_id, path, path.rsplit(".", 1)[0] + ".png")

    def _on_progress(self, done: int, total: int, remaining: float) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.remaining.setText(f"{done}/{total} cycles, about {remaining:.1f} lab s to go")

    def _on_finished(self, summary: dict) -> None:
        """Show the fit; a usable one becomes the procedures' current (its 50 % point,
        paper 002 SI S5), an unusable one is shown with its reason and taken nowhere."""
        self._dirty = True
        self._redraw()
        self._show_fit(summary)
        self.last_run_id = summary["run_id"]
        if summary.get("usable", True):
            self.procedure_current.setValue(fifty_percent_current(summary) * 1e3)
            self.fit_grade.setText(f"run {summary['run_id']}: usable; procedures use its "
                                   "50 % current")
        else:
            self.fit_grade.setText(f"run {summary['run_id']} is unusable: {summary['reason']}"
                                   "; it gives no calibration")

    def _on_end(self, *_: object) -> None:
        end_thread(self.thread)
        self.thread = None
        self.worker = None
        self.pause_button.setText("Pause")
        self._validate()
        self.refresh_runs()

    def refresh_runs(self) -> None:
        """The run list read again from the store: each run's kind and status, a sweep's
        I_bias, an unusable run's reason."""
        self.runs.clear()
        for run in self.store.list_runs():
            item = f"{run.id}: {run.kind} {run.status}"
            if run.status == "unusable" and run.result:
                item += f": {run.result.get('reason', '')}"
            elif run.kind == "sweep" and run.result and "i_bias" in run.result:
                item += f", I_bias {run.result['i_bias'] * 1e3:.4f} mA"
            self.runs.addItem(item)
            self.runs.item(self.runs.count() - 1).setData(Qt.ItemDataRole.UserRole, run.id)

    def overlay_selected(self) -> None:
        """The selected sweep run's P_sw points drawn over the live sweep's, to compare
        devices or days (other kinds of run are ignored)."""
        item = self.runs.currentItem()
        if item is None:
            return
        run = self.store.get_run(item.data(Qt.ItemDataRole.UserRole))
        if run.kind != "sweep" or not run.result or "currents" not in run.result:
            return
        self.psw_plot.plot(run.result["currents"], run.result["p_switch"], pen=None,
                           symbol="t", name=f"run {run.id}")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.abort()
        self.training.close_run()
        end_thread(self.thread, 5000)
        if self.lab is not None:
            self.lab.close()
        super().closeEvent(event)


def run_gui(store_path: str | None = None) -> int:
    """``hil gui``: open the window on the run store and run Qt's event loop until it closes."""
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    window = MainWindow(RunStore(store_path))
    window.show()
    return app.exec()

"""``hil gui``: characterise devices with live plots, fits as the data arrive, and an abort
that makes the instruments safe. Lab units (mA, uA) in the form, SI inside."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, QThread
from PyQt6.QtWidgets import (
    QDoubleSpinBox,
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
    QVBoxLayout,
    QWidget,
)

from hil.gui.worker import SweepWorker
from instruments.connection import Lab, LabFile
from instruments.limits import SafetyLimits
from protocols.fitting import fit_sigmoid, sigmoid, wilson_interval
from protocols.store import RunStore

FIT_ROWS = ("i_bias", "i0", "window", "k", "c")


def _spin(low: float, high: float, value: float, decimals: int = 4, suffix: str = ""):
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setDecimals(decimals)
    box.setValue(value)
    box.setSuffix(suffix)
    return box


class MainWindow(QMainWindow):
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

        central = QWidget()
        layout = QHBoxLayout(central)
        controls = QVBoxLayout()
        controls.addWidget(self._connection_panel())
        controls.addWidget(self._limits_panel())
        controls.addWidget(self._sweep_panel())
        controls.addWidget(self._runs_panel())
        controls.addStretch(1)
        layout.addLayout(controls, 1)
        layout.addLayout(self._plots(), 3)
        self.setCentralWidget(central)
        self.resize(1280, 760)
        self._validate()
        self.refresh_runs()

    # -- panels -------------------------------------------------------------------------
    def _connection_panel(self) -> QGroupBox:
        box = QGroupBox("Connection")
        form = QFormLayout(box)
        self.lab_file = QLineEdit()
        self.lab_file.setPlaceholderText("empty: the virtual lab")
        self.devices = QSpinBox()
        self.devices.setRange(1, 64)
        self.devices.setValue(4)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.connect_button = QPushButton("Connect")
        self.connect_button.clicked.connect(self.toggle_connection)
        self.status = {}
        form.addRow("lab file", self.lab_file)
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
        self.max_pulse.valueChanged.connect(self._limits_changed)
        form.addRow("device", self.device)
        form.addRow("max pulse current", self.max_pulse)
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
        self.reason = QLabel("")
        self.reason.setStyleSheet("color: #b00")
        self.reason.setWordWrap(True)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.pause_button = QPushButton("Pause")
        self.abort_button = QPushButton("Abort")
        self.start_button.clicked.connect(self.start_sweep)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.abort_button.clicked.connect(self.abort)
        for b in (self.start_button, self.pause_button, self.abort_button):
            buttons.addWidget(b)
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
        layout.addWidget(self.runs)
        layout.addWidget(overlay)
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
        layout.addWidget(self.psw_plot, 3)
        layout.addWidget(self.r_plot, 2)
        layout.addWidget(self.fit_table, 1)
        return layout

    # -- behaviour ------------------------------------------------------------------------
    def _limits_changed(self) -> None:
        self.limits = SafetyLimits(max_pulse_current=self.max_pulse.value() * 1e-3)
        if self.lab is not None:
            self.lab.limits = self.limits
        self._validate()

    def _validate(self) -> bool:
        """Refuse entries beyond a limit in the form, with the reason."""
        reasons = []
        limit = self.limits.max_pulse_current * 1e3
        for name, box in (("start", self.start_current), ("stop", self.stop_current)):
            if box.value() > limit:
                reasons.append(f"{name} {box.value():.4g} mA is above the device's safe limit "
                               f"of {limit:.4g} mA")
        if self.stop_current.value() <= self.start_current.value():
            reasons.append("stop must be above start")
        self.reason.setText("; ".join(reasons))
        ok = not reasons
        self.start_button.setEnabled(ok and self.lab is not None and self.worker is None)
        return ok

    def toggle_connection(self) -> None:
        if self.lab is not None:
            self.lab.close()
            self.lab = None
            for light in self.status.values():
                light.setText("● not connected")
                light.setStyleSheet("color: grey")
            self.connect_button.setText("Connect")
            self._validate()
            return
        path = self.lab_file.text().strip()
        if path:
            self.lab = Lab.from_file(LabFile.load(path))
        else:
            self.lab = Lab.virtual(devices=self.devices.value(), seed=self.seed.value())
        self.lab.limits = self.limits
        self.lab.connect()
        for role, light in self.status.items():
            identity = self.lab.identities.get(role)
            light.setText("● " + (identity.split(",")[1].strip() if identity else "absent"))
            light.setStyleSheet("color: #080" if identity else "color: grey")
        self.connect_button.setText("Disconnect")
        self._validate()

    def lab_description(self) -> dict:
        path = self.lab_file.text().strip()
        if path:
            return {"lab_file": path}
        return {"virtual": True, "devices": self.devices.value(), "width": 0.5e-6,
                "seed": self.seed.value()}

    def start_sweep(self) -> None:
        if self.lab is None or self.worker is not None or not self._validate():
            return
        config = {"lab": self.lab_description(), "device": self.device.value(),
                  "start": self.start_current.value() * 1e-3,
                  "stop": self.stop_current.value() * 1e-3,
                  "points": self.points.value(), "iterations": self.iterations.value(),
                  "currents": None}
        self._points.clear()
        self._r_ahe.clear()
        self.fit_curve.setData([], [])
        self.thread = QThread(self)
        self.worker = SweepWorker(self.lab, self.store.path, config)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.reading.connect(self._on_reading)
        self.worker.point.connect(self._on_point)
        self.worker.progress.connect(self._on_progress)
        for signal in (self.worker.finished, self.worker.failed, self.worker.aborted):
            signal.connect(self._on_end)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(lambda message: self.reason.setText(f"failed: {message}"))
        self.worker.aborted.connect(lambda run_id: self.remaining.setText(
            f"run {run_id} aborted; outputs off"))
        self.start_button.setEnabled(False)
        self.thread.start()

    def toggle_pause(self) -> None:
        if self.worker is None:
            return
        if self.pause_button.text() == "Pause":
            self.worker.pause()
            self.pause_button.setText("Resume")
        else:
            self.worker.resume()
            self.pause_button.setText("Pause")

    def abort(self) -> None:
        if self.worker is not None:
            self.worker.abort()

    def _on_reading(self, reading: dict) -> None:
        self._r_ahe.append(reading["r_after_write"])
        self.r_curve.setData(np.arange(len(self._r_ahe)), np.array(self._r_ahe))

    def _on_point(self, index: int, current: float, switches: int, cycles: int) -> None:
        self._points[index] = (current, switches, cycles)
        data = np.array([self._points[k] for k in sorted(self._points)], dtype=float)
        currents, counts, trials = data[:, 0], data[:, 1], data[:, 2]
        p = counts / trials
        low, high = wilson_interval(counts.astype(int), trials.astype(int))
        self.psw_points.setData(currents, p)
        self.psw_errors.setData(x=currents, y=p, top=high - p, bottom=p - low)
        complete = trials >= trials.max()
        if cycles == trials.max() and complete.sum() >= 4 and 0 < p.mean() < 1:
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

    def _on_progress(self, done: int, total: int, remaining: float) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.remaining.setText(f"{done}/{total} cycles, about {remaining:.1f} lab s to go")

    def _on_finished(self, summary: dict) -> None:
        self._show_fit(summary)
        self.last_run_id = summary["run_id"]

    def _on_end(self, *_: object) -> None:
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait()
        self.thread = None
        self.worker = None
        self.pause_button.setText("Pause")
        self._validate()
        self.refresh_runs()

    def refresh_runs(self) -> None:
        self.runs.clear()
        for run in self.store.list_runs():
            item = f"{run.id}: {run.kind} {run.status}"
            if run.kind == "sweep" and run.result and "i_bias" in run.result:
                item += f", I_bias {run.result['i_bias'] * 1e3:.4f} mA"
            self.runs.addItem(item)
            self.runs.item(self.runs.count() - 1).setData(Qt.ItemDataRole.UserRole, run.id)

    def overlay_selected(self) -> None:
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
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait(5000)
        if self.lab is not None:
            self.lab.close()
        super().closeEvent(event)


def run_gui(store_path: str | None = None) -> int:
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    window = MainWindow(RunStore(store_path))
    window.show()
    return app.exec()

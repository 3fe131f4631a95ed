"""The real window under pytest-qt (QT_QPA_PLATFORM=offscreen, set in conftest)."""

import time

import numpy as np
import pytest
from PyQt6.QtCore import QTimer

from hil.gui.window import MainWindow
from protocols.store import RunStore


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(RunStore(tmp_path / "runs.sqlite"))
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def _connect(window):
    window.seed.setValue(0)
    window.toggle_connection()
    assert window.lab is not None
    assert "6221" in window.status["pulse"].text()


def _short_sweep(window, points=6, iterations=15):
    truth = window.lab.virtual_lab.chip.devices.select(0).i_bias(100e-6)[0]
    window.start_current.setValue((truth - 25e-6) * 1e3)
    window.stop_current.setValue((truth + 25e-6) * 1e3)
    window.points.setValue(points)
    window.iterations.setValue(iterations)


def test_sweep_plots_points_fit_and_stores_the_run(window, qtbot):
    _connect(window)
    _short_sweep(window)
    window.start_sweep()
    qtbot.waitUntil(lambda: window.worker is None, timeout=60000)
    x, y = window.psw_points.getData()
    assert len(x) == 6 and np.all((y >= 0) & (y <= 1))
    fx, fy = window.fit_curve.getData()
    assert fx is not None and len(fx) == 200 and fy[0] < 0.5 < fy[-1]
    run = window.store.get_run(window.last_run_id)
    assert run.status == "finished" and len(window.store.readings(run.id)) == 6 * 15
    assert run.config["timing"] == "hardware"  # auto: the virtual lab has the trigger link
    assert abs(window.last_fit["i_bias"] - run.result["i_bias"]) < 1e-12
    assert window.fit_table.item(0, 0).text() != ""


def test_abort_turns_outputs_off_and_keeps_the_run_as_aborted(window, qtbot):
    _connect(window)
    _short_sweep(window, points=10, iterations=200)
    window.timing.setCurrentText("software")  # long enough to abort halfway
    emulator = window.lab.virtual_lab.instruments["pulse"]
    window.start_sweep()
    qtbot.waitUntil(lambda: window.progress.value() > 20, timeout=30000)
    window.abort()
    qtbot.waitUntil(lambda: window.worker is None, timeout=30000)
    assert emulator.output is False and emulator.wave_armed is False
    runs = window.store.list_runs()
    assert runs[-1].status == "aborted"
    assert 20 <= len(window.store.readings(runs[-1].id)) < 2000  # kept, not lost


def test_entry_beyond_a_limit_is_refused_with_the_reason(window):
    _connect(window)
    window.max_pulse.setValue(0.5)
    window.stop_current.setValue(0.6)
    assert not window.start_button.isEnabled()
    assert "above the device's safe limit of 0.5 mA" in window.reason.text()
    window.stop_current.setValue(0.45)
    assert window.start_button.isEnabled() and window.reason.text() == ""
    window.max_field.setValue(0.3)  # the anisotropy panel's field, beyond the 0.1 T limit
    assert not window.run_procedure_button.isEnabled()
    assert "above the limit of 0.1 T" in window.reason.text()
    window.max_field_limit.setValue(0.4)
    assert window.run_procedure_button.isEnabled()
    assert window.lab.limits.max_field == pytest.approx(0.4)  # the lab takes the new limits


def test_window_stays_responsive_during_a_sweep(window, qtbot):
    _connect(window)
    _short_sweep(window, points=8, iterations=40)
    window.timing.setCurrentText("software")  # a reading at a time: the busiest signal flow
    lateness = []
    last = [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        lateness.append(now - last[0] - 0.010)
        last[0] = now

    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(10)
    window.start_sweep()
    qtbot.waitUntil(lambda: window.worker is None, timeout=60000)
    timer.stop()
    assert len(lateness) > 20
    assert max(lateness) < 0.100, max(lateness)


@pytest.mark.parametrize("kind", ["single cycle", "hysteresis", "endurance", "anisotropy",
                                  "survey"])
def test_procedure_panels_run_plot_and_record(window, qtbot, kind):
    _connect(window)
    _short_sweep(window)
    window.max_field_limit.setValue(0.25)
    window.max_field.setValue(0.2)
    window.procedure.setCurrentText(kind)
    window.procedure_current.setValue(0.7)
    window.procedure_cycles.setValue(200 if kind == "endurance" else 1000)
    window.run_procedure()
    qtbot.waitUntil(lambda: window.worker is None, timeout=60000)
    run = window.store.get_run(window.last_run_id)
    assert run.status == "finished" and run.kind == kind.replace(" ", "_")
    assert window.procedure_result.text() != ""
    if kind == "anisotropy":
        assert window.last_procedure["h_an"] == pytest.approx(0.729, rel=0.05)
    if kind == "endurance":
        x, y = window.proc_curve.getData()
        assert len(x) == 101 and y[-1] == 1.0  # 0.7 mA: every cycle switches
    if kind == "survey":
        assert len(window.last_procedure["fits"]) == 4  # every device of the chip
    assert window.lab.virtual_lab.instruments["pulse"].output is False


def test_run_browser_exports_csv_and_png(window, qtbot, tmp_path):
    _connect(window)
    _short_sweep(window, points=4, iterations=5)
    window.start_sweep()
    qtbot.waitUntil(lambda: window.worker is None, timeout=60000)
    assert window.runs.count() == 1
    window.export_run(window.last_run_id, str(tmp_path / "run.csv"), str(tmp_path / "run.png"))
    rows = (tmp_path / "run.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 4 * 5 and "current" in rows[0]
    assert (tmp_path / "run.png").read_bytes()[:4] == b"\x89PNG"

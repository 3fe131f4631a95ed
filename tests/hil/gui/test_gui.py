"""The real window under pytest-qt (QT_QPA_PLATFORM=offscreen, set in conftest)."""

import numpy as np
import pytest

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


def _count_session_calls(monkeypatch, method: str) -> list[int]:
    """The run ids of every call of ``Session.<method>`` (the window runs procedures only
    through the public API, as the CLI and scripts do)."""
    from hil.session.session import Session

    calls: list[int] = []
    original = getattr(Session, method)

    def counted(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls.append(result.run_id)
        return result

    monkeypatch.setattr(Session, method, counted)
    return calls


def test_sweep_plots_points_fit_and_stores_the_run(window, qtbot, monkeypatch):
    calls = _count_session_calls(monkeypatch, "sweep")
    _connect(window)
    _short_sweep(window)
    window.start_sweep()
    qtbot.waitUntil(lambda: window.worker is None, timeout=600000)
    x, y = window.psw_points.getData()
    assert len(x) == 6 and np.all((y >= 0) & (y <= 1))
    fx, fy = window.fit_curve.getData()
    assert fx is not None and len(fx) == 200 and fy[0] < 0.5 < fy[-1]
    run = window.store.get_run(window.last_run_id)
    assert run.status == "finished" and len(window.store.readings(run.id)) == 6 * 15
    assert run.config["timing"] == "hardware"  # auto: the virtual lab has the trigger link
    assert abs(window.last_fit["i_bias"] - run.result["i_bias"]) < 1e-12
    assert window.fit_table.item(0, 0).text() != ""
    assert calls == [run.id]
    assert run.config["currents"] == pytest.approx(np.linspace(
        window.start_current.value(), window.stop_current.value(), 6) * 1e-3)


def test_abort_turns_outputs_off_and_keeps_the_run_as_aborted(window, qtbot):
    _connect(window)
    _short_sweep(window, points=10, iterations=200)
    window.timing.setCurrentText("software")  # long enough to abort halfway
    emulator = window.lab.virtual_lab.instruments["pulse"]
    window.start_sweep()
    qtbot.waitUntil(lambda: window.progress.value() > 20, timeout=600000)
    window.abort()
    qtbot.waitUntil(lambda: window.worker is None, timeout=600000)
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


def test_window_does_constant_work_per_reading_during_a_sweep(window, qtbot, monkeypatch):
    """Responsiveness without a clock: each reading's slot on the GUI thread only stores
    the reading (no drawing, no fitting); drawing waits for the frame timer and the fit
    runs at most once per completed point. How late the GUI's timers run under a sweep is
    measured in bench/app/gui_responsiveness.py."""
    import threading

    import hil.gui.window as window_module

    _connect(window)
    _short_sweep(window, points=8, iterations=40)
    window.timing.setCurrentText("software")  # a reading at a time: the busiest signal flow
    in_slot, counts = [False], {"readings": 0, "points": 0, "draws_in_slot": 0, "fits": 0,
                                "off_thread": 0}
    gui_thread = threading.get_ident()

    def slot(name, original):
        def wrapped(self, *args):
            counts[name] += 1
            counts["off_thread"] += threading.get_ident() != gui_thread
            in_slot[0] = True
            try:
                return original(self, *args)
            finally:
                in_slot[0] = False
        return wrapped

    monkeypatch.setattr(MainWindow, "_on_reading", slot("readings", MainWindow._on_reading))
    monkeypatch.setattr(MainWindow, "_on_point", slot("points", MainWindow._on_point))
    for item in (window.psw_points, window.fit_curve, window.r_curve):
        original = item.setData

        def counted(*args, _original=original, **kwargs):
            counts["draws_in_slot"] += in_slot[0]
            return _original(*args, **kwargs)

        monkeypatch.setattr(item, "setData", counted)
    real_fit = window_module.fit_sigmoid

    def fit(*args, **kwargs):
        counts["fits"] += 1
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(window_module, "fit_sigmoid", fit)
    window.start_sweep()
    qtbot.waitUntil(lambda: window.worker is None, timeout=6000000)
    assert counts["readings"] == 8 * 40 and counts["points"] == 8 * 40
    assert counts["off_thread"] == 0  # queued into the GUI thread
    assert counts["draws_in_slot"] == 0  # a reading never draws
    assert counts["fits"] <= 8  # at most one fit per completed point
    x, _ = window.psw_points.getData()
    assert len(x) == 8  # and the frames did draw every point


@pytest.mark.parametrize("kind", ["single cycle", "hysteresis", "endurance", "anisotropy",
                                  "survey"])
def test_procedure_panels_run_plot_and_record(window, qtbot, kind, monkeypatch):
    calls = _count_session_calls(monkeypatch, kind.replace(" ", "_"))
    _connect(window)
    _short_sweep(window)
    window.max_field_limit.setValue(0.25)
    window.max_field.setValue(0.2)
    window.procedure.setCurrentText(kind)
    window.procedure_current.setValue(0.7)
    window.procedure_cycles.setValue(200 if kind == "endurance" else 1000)
    window.run_procedure()
    qtbot.waitUntil(lambda: window.worker is None, timeout=600000)
    run = window.store.get_run(window.last_run_id)
    assert run.status == "finished" and run.kind == kind.replace(" ", "_")
    assert window.procedure_result.text() != ""
    assert calls == [window.last_run_id]  # the public API's procedure, run once
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
    qtbot.waitUntil(lambda: window.worker is None, timeout=600000)
    assert window.runs.count() == 1
    window.export_run(window.last_run_id, str(tmp_path / "run.csv"), str(tmp_path / "run.png"))
    rows = (tmp_path / "run.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 4 * 5 and "current" in rows[0]
    assert (tmp_path / "run.png").read_bytes()[:4] == b"\x89PNG"


def test_an_unusable_sweep_is_shown_and_never_becomes_the_procedures_current(window, qtbot):
    _connect(window)
    truth = window.lab.virtual_lab.chip.devices.select(0).i_bias(100e-6)[0]
    window.start_current.setValue((truth - 200e-6) * 1e3)  # far below switching
    window.stop_current.setValue((truth - 150e-6) * 1e3)
    window.points.setValue(4)
    window.iterations.setValue(5)
    before = window.procedure_current.value()
    window.start_sweep()
    qtbot.waitUntil(lambda: window.worker is None, timeout=600000)
    run = window.store.get_run(window.last_run_id)
    assert run.status == "unusable" and run.result["reason"].startswith("never crossed 50 %")
    assert "is unusable: never crossed 50 %" in window.fit_grade.text()
    assert window.procedure_current.value() == before
    assert "unusable" in window.runs.item(0).text()
    _short_sweep(window, points=8, iterations=40)  # a usable one becomes the current
    window.start_sweep()
    qtbot.waitUntil(lambda: window.worker is None, timeout=600000)
    run = window.store.get_run(window.last_run_id)
    assert run.status == "finished"
    assert window.procedure_current.value() == pytest.approx(run.result["i_50"] * 1e3,
                                                             abs=1e-4)  # its 50 % current


def test_a_lab_file_that_cannot_be_read_is_refused_with_the_reason(window, tmp_path):
    window.lab_file.setText(str(tmp_path / "missing.toml"))
    window.toggle_connection()
    assert window.lab is None and window.connect_button.text() == "Connect"
    assert window.reason.text().startswith("lab: ")
    assert not window.start_button.isEnabled()

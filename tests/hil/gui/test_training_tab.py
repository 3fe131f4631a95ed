"""The training tab in the real window under pytest-qt (QT_QPA_PLATFORM=offscreen, set in
conftest): a training run on the CLI's trainer in a worker thread, paused, resumed and aborted
between batches through the run's watch, judged by the batch counter, the window's timers,
the real SQLite store and, on the virtual lab, what the emulated instruments hold."""

import pytest
from PyQt6.QtCore import QTimer

from hil.gui.window import MainWindow
from protocols.store import RunStore

WAIT = 180_000  # ms: a loaded two-core machine; the conditions end the waits


@pytest.fixture
def window(qtbot, tmp_path):
    w = MainWindow(RunStore(tmp_path / "runs.sqlite"))
    qtbot.addWidget(w)
    w.show()
    w.tabs.setCurrentWidget(w.training)
    yield w
    w.close()


class Ticks:
    """A 20 ms timer of the GUI thread and how often it fired: it fires only while the GUI
    thread's event loop runs."""

    def __init__(self, window) -> None:
        self.count = 0
        self.timer = QTimer(window)
        self.timer.timeout.connect(self._tick)
        self.timer.start(20)

    def _tick(self) -> None:
        self.count += 1


def _events(tab) -> list[tuple[str, str]]:
    table = tab.event_table
    return [(table.item(r, 1).text(), table.item(r, 2).text()) for r in range(table.rowCount())]


def test_pause_holds_the_batches_resume_goes_on_abort_keeps_the_run(window, qtbot):
    """The model bank (as ``hil train --backend model`` runs it): a pause stops the run
    between batches (the counter stands while the window's timer keeps firing), resume goes
    on, abort ends it recorded as aborted, each step in the events table with the run's
    record the same."""
    tab = window.training
    tab.epochs.setValue(200)  # far longer than the test lets it run
    ticks = Ticks(window)
    tab.start()
    assert tab.busy and not tab.start_button.isEnabled()
    qtbot.waitUntil(lambda: tab.batches >= 3, timeout=WAIT)
    assert ticks.count > 0  # the GUI thread ran its timers while the run trained
    tab.pause()
    qtbot.waitUntil(lambda: tab.status.text().startswith("paused between batches"),
                    timeout=WAIT)
    held, ticked = tab.batches, ticks.count
    qtbot.wait(800)  # the event loop runs: queued batch signals would arrive now
    assert tab.batches == held and tab.worker.watch.batches == held  # between batches
    assert ticks.count > ticked  # responsive while paused
    assert tab.resume_button.isEnabled() and not tab.pause_button.isEnabled()
    tab.resume()
    qtbot.waitUntil(lambda: tab.batches > held + 1, timeout=WAIT)
    tab.abort()
    qtbot.waitUntil(lambda: not tab.busy, timeout=WAIT)
    assert tab.status.text().startswith(f"aborted: run {tab.run_id}")
    run = RunStore(window.store.path).get_run(tab.run_id)  # the real store, read afresh
    assert run.kind == "train" and run.status == "aborted"
    assert _events(tab) == [("operator", "pause"), ("operator", "resume"),
                            ("operator", "stop")]
    recorded = window.store.provenance(run.id)["events"]
    assert [(e["suspender"], e["action"]) for e in recorded] == _events(tab)
    assert tab.device_table.rowCount() == 4  # the four output neurons, no pulse counter
    assert [tab.device_table.item(r, 6).text() for r in range(4)] == ["-"] * 4
    assert tab.loss and tab.start_button.isEnabled()


def test_a_lab_training_shows_a_suspender_event_and_abort_turns_outputs_off(
        window, qtbot, tmp_path):
    """The virtual lab with device 1 dying at 27 lab s (a fault file, as ``hil lab serve
    --faults`` reads): the stuck suspender retires it for spare 4 and its sweep, both in the
    events table with their lab time; the devices' table shows the spare and every device's
    pulses; the field supply, switched on while the run is paused, is off after the abort
    and the run is kept as aborted."""
    faults = tmp_path / "faults.toml"
    faults.write_text("[[die]]\ndevice = 1\nat = 27.0\n")
    settings = tmp_path / "run.toml"
    settings.write_text("[suspenders]\nsweep_iterations = 50\n[suspenders.stuck]\n"
                        "window = 100\n")
    window.devices.setValue(6)
    window.fault_file.setText(str(faults))
    window.toggle_connection()
    virtual = window.lab.virtual_lab
    tab = window.training
    tab.backend.setCurrentText("lab")
    tab.spares.setText("4, 5")
    tab.suspenders_file.setText(str(settings))
    tab.epochs.setValue(200)
    tab.test_per_class.setValue(5)
    tab.start()
    assert not window.start_button.isEnabled()  # the lab is the training's now
    qtbot.waitUntil(lambda: ("recalibrate", "recalibrated") in _events(tab), timeout=WAIT)
    tab.pause()
    qtbot.waitUntil(lambda: tab.status.text().startswith("paused between batches"),
                    timeout=WAIT)
    retire = _events(tab).index(("retire", "retire"))
    assert tab.event_table.item(retire, 3).text() == "device 1"
    assert float(tab.event_table.item(retire, 0).text()) >= 27.0  # on the lab's clock
    devices = [tab.device_table.item(r, 2).text() for r in range(4)]
    assert devices == ["0", "4", "2", "3"]
    pulses = [int(tab.device_table.item(r, 6).text()) for r in range(4)]
    assert all(p > 0 for p in pulses)
    assert tab.lab_left.text().startswith("lab time left: ")
    window.lab["field"].set_field(0.005)  # the worker waits between batches meanwhile
    assert virtual.instruments["field"].output
    tab.abort()
    qtbot.waitUntil(lambda: not tab.busy, timeout=WAIT)
    assert virtual.instruments["field"].output is False
    assert virtual.instruments["pulse"].output is False
    run = RunStore(window.store.path).get_run(tab.run_id)
    assert run.kind == "train" and run.status == "aborted"
    recorded = window.store.provenance(run.id)["events"]
    assert [(e["suspender"], e["action"]) for e in recorded] == _events(tab)
    assert window.start_button.isEnabled()  # the lab is the window's again


def test_a_lab_training_without_a_lab_is_refused_with_the_reason(window):
    tab = window.training
    tab.backend.setCurrentText("lab")
    tab.start()
    assert not tab.busy and tab.reason.text() == "lab: not connected: connect to a lab first"
    tab.backend.setCurrentText("model")
    tab.spares.setText("4, x")
    tab.start()
    assert not tab.busy and tab.reason.text().startswith("spares: ")

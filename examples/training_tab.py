"""The GUI's training tab through a short watched run on the virtual lab with faults, saved
as a picture (docs/training-tab.png): the window is driven as a user drives it (connect with
a fault file, the lab backend, spares and a run TOML's suspenders, Start) and grabbed when
the run ends.

    QT_QPA_PLATFORM=offscreen python examples/training_tab.py --out docs/training-tab.png

The faults: device 1 dies at 27 lab s (the calibration sweeps end near 26 s) and device 2
drifts at 1800 %/h from the start; the drift check runs every 10 lab s.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

FAULTS = """[[die]]
device = 1
at = 27.0
[[drift]]
devices = [2]
percent_per_hour = 1800.0
at = 0.0
"""
SUSPENDERS = """[suspenders]
sweep_iterations = 50
[suspenders.stuck]
window = 100
[suspenders.drift]
every = 10.0
"""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="the training tab after a run with faults")
    parser.add_argument("--out", default="docs/training-tab.png")
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args(argv)
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from hil.gui.window import MainWindow
    from protocols.store import RunStore

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / "faults.toml").write_text(FAULTS)
        (folder / "run.toml").write_text(SUSPENDERS)
        window = MainWindow(RunStore(folder / "runs.sqlite"))
        window.resize(1500, 1000)
        window.show()
        window.devices.setValue(6)
        window.fault_file.setText(str(folder / "faults.toml"))
        window.toggle_connection()
        tab = window.training
        window.tabs.setCurrentWidget(tab)
        tab.backend.setCurrentText("lab")
        tab.spares.setText("4, 5")
        tab.suspenders_file.setText(str(folder / "run.toml"))
        tab.epochs.setValue(args.epochs)
        tab.test_per_class.setValue(5)
        tab.start()
        while tab.busy:
            app.processEvents()
            time.sleep(0.02)
        app.processEvents()
        window.grab().save(args.out)
        events = [(tab.event_table.item(r, 0).text(), tab.event_table.item(r, 1).text(),
                   tab.event_table.item(r, 2).text()) for r in range(tab.event_table.rowCount())]
        report = {"status": tab.status.text(), "batches": tab.batches, "events": events}
        window.close()
    print(report)
    return report


if __name__ == "__main__":
    main()

"""How late the GUI's 10 ms timer runs while a software-timed sweep streams readings into
the window (the busiest signal flow). Wall-clock numbers depend on the machine's load:
the script prints ``os.getloadavg()`` beside them. The test suite checks the load-free
part (tests/hil/gui/test_gui.py: constant work per reading on the GUI thread).

    QT_QPA_PLATFORM=offscreen python bench/app/gui_responsiveness.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> None:
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication

    from hil.gui.window import MainWindow
    from protocols.store import RunStore

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(RunStore(Path(folder) / "runs.sqlite"))
        window.show()
        window.seed.setValue(0)
        window.toggle_connection()
        truth = window.lab.virtual_lab.chip.devices.select(0).i_bias(100e-6)[0]
        window.start_current.setValue((truth - 25e-6) * 1e3)
        window.stop_current.setValue((truth + 25e-6) * 1e3)
        window.points.setValue(8)
        window.iterations.setValue(40)
        window.timing.setCurrentText("software")
        lateness, last = [], [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            lateness.append(now - last[0] - 0.010)
            last[0] = now

        timer = QTimer()
        timer.timeout.connect(tick)
        timer.start(10)
        window.start_sweep()
        while window.worker is not None:
            app.processEvents()
            time.sleep(0.001)
        timer.stop()
        window.toggle_connection()
        window.close()
    late = sorted(lateness)
    print(f"10 ms timer during a 320-reading sweep: {len(late)} ticks, median lateness "
          f"{late[len(late) // 2] * 1e3:.1f} ms, max {late[-1] * 1e3:.1f} ms "
          f"(load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()

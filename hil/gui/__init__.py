"""The device-characterisation window (PyQt6 + pyqtgraph), the other front end over the
public API; ``open_window`` starts it without loading Qt until every check has passed."""

from __future__ import annotations

import os
import sys

from hil.errors import ConfigError
from hil.extras import require

__all__ = ["open_window"]


def open_window(store: str | None = None) -> int:
    """``hil gui``: the window on the run store ``store`` until it closes. Refused, naming
    what to do, when the [gui] extra is not installed or (Linux) there is no display to
    open it on, where Qt itself would abort the process."""
    require("gui")
    if sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
            or os.environ.get("QT_QPA_PLATFORM")):
        raise ConfigError("display", "no display to open the window on: set DISPLAY (X11) "
                          "or WAYLAND_DISPLAY, or QT_QPA_PLATFORM=offscreen to run without "
                          "a screen")
    from hil.gui.window import run_gui  # Qt loads only once the checks have passed

    return run_gui(store)

"""Small widgets both tabs of the window build the same way."""

from __future__ import annotations

from collections.abc import Callable

from PyQt6.QtCore import QThread
from PyQt6.QtWidgets import QHBoxLayout, QLabel, QPushButton


def button_row(*buttons: tuple[str, Callable[[], None]]
               ) -> tuple[QHBoxLayout, list[QPushButton]]:
    """A row of push buttons, each ``(text, slot)``, and the buttons in that order."""
    row = QHBoxLayout()
    made = []
    for text, slot in buttons:
        button = QPushButton(text)
        button.clicked.connect(slot)
        row.addWidget(button)
        made.append(button)
    return row, made


def reason_label() -> QLabel:
    """Where a refusal says why (red, wrapped)."""
    label = QLabel("")
    label.setStyleSheet("color: #b00")
    label.setWordWrap(True)
    return label


def end_thread(thread: QThread | None, timeout_ms: int | None = None) -> None:
    """Ask a worker's thread to leave its event loop and wait for it (``timeout_ms``: at
    most that long)."""
    if thread is None:
        return
    thread.quit()
    if timeout_ms is None:
        thread.wait()
    else:
        thread.wait(timeout_ms)

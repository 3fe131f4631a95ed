"""The lab session: opening a lab (the virtual lab or a lab file), the procedures recorded
through the one runner, and the run store they write."""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["ProcedureResult", "Recording", "Session", "VirtualLabConnection", "connect_virtual",
           "cycle_config", "lab_description", "lab_from_file", "open_lab", "persistence",
           "record_run", "virtual_devices"]
_HOMES = {"VirtualLabConnection": "lab", "connect_virtual": "lab", "lab_from_file": "lab",
          "virtual_devices": "lab",
          "Recording": "runner", "cycle_config": "runner", "record_run": "runner",
          "ProcedureResult": "session", "Session": "session", "lab_description": "session",
          "open_lab": "session", "persistence": "session"}


def __getattr__(name: str) -> Any:  # the instruments load on first use
    if name not in _HOMES:
        raise AttributeError(f"module 'hil.session' has no attribute {name!r}")
    return getattr(import_module(f"hil.session.{_HOMES[name]}"), name)

"""Talking to real boxes: pymeasure-based Keithley drivers, safety limits, and the lab
connection (roles -> VISA resources, outputs off on every exit path)."""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["Clock", "FieldSupply", "HallVoltmeter", "Lab", "LabConnectionError", "LabFile",
           "LimitError", "PulseSource", "SafetyLimits", "SwitchCard", "SwitchSystem",
           "SwitchWiring"]
_HOMES = {"Clock": "connection", "Lab": "connection", "LabFile": "connection",
          "LabConnectionError": "errors", "LimitError": "limits", "SafetyLimits": "limits",
          "FieldSupply": "keithley", "HallVoltmeter": "keithley", "PulseSource": "keithley",
          "SwitchCard": "keithley", "SwitchSystem": "keithley", "SwitchWiring": "keithley"}


def __getattr__(name: str) -> Any:  # pyvisa and pymeasure load on first use
    if name not in _HOMES:
        raise AttributeError(f"module 'instruments' has no attribute {name!r}")
    return getattr(import_module(f"instruments.{_HOMES[name]}"), name)

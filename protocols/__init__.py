"""Measurement procedures on any rig: the reset-write-read cycle, switching-probability
sweeps and their sigmoid fit, hysteresis, endurance, anisotropy, persistence; the run store."""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["CycleSettings", "ProtocolError", "ResetWriteRead", "RunStore", "SigmoidFit",
           "SweepResult", "fit_sigmoid", "sweep_device"]
_HOMES = {"CycleSettings": "cycle", "ResetWriteRead": "cycle", "ProtocolError": "errors",
          "RunStore": "store", "SigmoidFit": "fitting", "fit_sigmoid": "fitting",
          "SweepResult": "sweep", "sweep_device": "sweep"}


def __getattr__(name: str) -> Any:  # each loads on first use
    if name not in _HOMES:
        raise AttributeError(f"module 'protocols' has no attribute {name!r}")
    return getattr(import_module(f"protocols.{_HOMES[name]}"), name)

"""Neuron banks: the one seam between training and devices (DESIGN.md), and its backends:
simulated Hall bars (model), LLGS macrospins, lab devices through the instruments, and a
multiplexed bank (several neurons per device)."""

from __future__ import annotations

from typing import Any

from hil.banks.base import Calibration, MultiplexedBank, NeuronBank
from hil.banks.calibration import (
    calibrated,
    calibrations_from_fits,
    characterise,
    nominal_calibration,
)
from hil.banks.model import ModelBank, model_bank

__all__ = ["Calibration", "LLGSBank", "LabBank", "ModelBank", "MultiplexedBank",
           "NeuronBank", "calibrated", "calibrations_from_fits", "characterise", "model_bank",
           "nominal_calibration"]


def __getattr__(name: str) -> Any:  # the LLGS and lab banks load torch / pyvisa on demand
    if name == "LLGSBank":
        from hil.banks.llgs import LLGSBank

        return LLGSBank
    if name == "LabBank":
        from hil.banks.lab import LabBank

        return LabBank
    raise AttributeError(f"module 'hil.banks' has no attribute {name!r}")

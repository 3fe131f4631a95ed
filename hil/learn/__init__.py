"""Learning with devices in the loop: spike encoding, data (MNIST, IDX files, a user's torch
Datasets), the training configuration, the trainer with torch's conventions, trained
weights out of the run store, and the run's figure."""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["DigitSplit", "Evaluation", "TrainConfig", "TrainResult", "Trainer", "as_dataset",
           "build_banks", "export_weights", "from_datasets", "load_digits", "load_net",
           "make_optimiser", "make_scheduler", "poisson_spikes", "record_training",
           "trained_models"]


_HOMES = {"TrainConfig": "config", "DigitSplit": "data", "as_dataset": "data",
          "from_datasets": "data", "load_digits": "data", "poisson_spikes": "encoding",
          "Evaluation": "train", "Trainer": "train", "TrainResult": "train",
          "build_banks": "train", "make_optimiser": "train", "make_scheduler": "train",
          "export_weights": "weights", "load_net": "weights", "trained_models": "weights",
          "record_training": "record"}


def __getattr__(name: str) -> Any:  # torch loads on first use: the CLI's help stays fast
    if name not in _HOMES:
        raise AttributeError(f"module 'hil.learn' has no attribute {name!r}")
    return getattr(import_module(f"hil.learn.{_HOMES[name]}"), name)

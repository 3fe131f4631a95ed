"""Your own training loop, recorded: :func:`record_training` puts a loop over a model with
device neurons (:class:`~hil.nn.layers.DeviceNeurons`) into the run store, as ``hil train``
records its own.

    with hil.record_training(store, model, optimizer, config={"lr": 1e-3}) as run:
        for epoch in run.epochs(10):      # after a crash: from the last recorded epoch
            loss = ...                     # your loop, your loss
            run.log(epoch, loss=loss)      # metrics and a checkpoint, one transaction each
        run.result = {"accuracy": accuracy}

The run records what the model ran on (each device layer's bank: its devices, lab file,
chip and each neuron's calibration with where it came from; every instrument's settings
at the start), the model and optimiser, the seeds and the code version; each ``log`` writes
the metrics and a checkpoint (the model's and optimiser's state, torch's, numpy's and
Python's global random streams, and every bank's state, the virtual lab's devices
included), so ``resume=RUN`` goes on to the result the uninterrupted loop would have had.
"""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from hil.banks.base import NeuronBank
from hil.nn.layers import DeviceNeurons, device_layers
from protocols.store import ActiveRun, RunStore

KIND = "training-loop"


class RecordedTraining:
    """A user's loop being recorded (what :func:`record_training` yields)."""

    def __init__(self, run: ActiveRun, model: nn.Module,
                 optimizer: torch.optim.Optimizer | None, scheduler: Any | None) -> None:
        self.run, self.model, self.optimizer, self.scheduler = run, model, optimizer, scheduler
        self.result: dict[str, Any] | None = None
        self.first_epoch = 0  # after a resume: the epoch after the last one logged
        self.state: dict[str, Any] | None = None  # your ``state`` of the resumed checkpoint
        self._described: list[int] = []  # ids of the banks already in the record

    @property
    def id(self) -> int:
        """The run's id in the store (what ``--resume`` takes)."""
        return self.run.id

    def epochs(self, total: int) -> Iterator[int]:
        """The epochs still to run: ``range(total)``, or after a resume the rest of it."""
        return iter(range(self.first_epoch, total))

    def log(self, epoch: int, state: dict[str, Any] | None = None, **metrics: float) -> None:
        """Epoch ``epoch``'s metrics and a checkpoint (``state``: anything else of yours
        to restore on resume, torch-saveable; read back as :attr:`state`)."""
        self._describe()
        self.run.log_metrics(epoch, {k: float(v) for k, v in metrics.items()})
        buffer = io.BytesIO()
        torch.save({"model": self.model.state_dict(),
                    "optimizer": None if self.optimizer is None else self.optimizer.state_dict(),
                    "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
                    "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state(),
                    "python_rng": random.getstate(),
                    "banks": [None if layer.bank is None else layer.bank.get_state()
                              for layer in device_layers(self.model)],
                    "user": state}, buffer)
        self.run.save_checkpoint(epoch, buffer.getvalue())

    def _restore(self) -> None:
        checkpoint = self.run.latest_checkpoint()
        if checkpoint is None:
            return
        saved = torch.load(io.BytesIO(checkpoint[1]), weights_only=False)
        self.model.load_state_dict(saved["model"])
        if self.optimizer is not None and saved["optimizer"] is not None:
            self.optimizer.load_state_dict(saved["optimizer"])
        if self.scheduler is not None and saved["scheduler"] is not None:
            self.scheduler.load_state_dict(saved["scheduler"])
        torch.set_rng_state(saved["torch_rng"])
        np.random.set_state(saved["numpy_rng"])
        random.setstate(saved["python_rng"])
        for layer, bank_state in zip(device_layers(self.model), saved["banks"], strict=True):
            if bank_state is None:
                continue
            if layer.bank is not None:
                layer.bank.set_state(bank_state)
            else:  # a lazy layer: its bank gets the state as soon as it is built
                _restore_when_built(layer, bank_state)
        self.state = saved["user"]
        self.first_epoch = checkpoint[0] + 1

    def _describe(self) -> None:
        """The banks in the record (again when a lazy layer has built its bank since)."""
        banks = [layer.bank for layer in device_layers(self.model)]
        if [id(b) for b in banks] == self._described:
            return
        self._described = [id(b) for b in banks]
        self.run.describe(banks=[None if b is None else b.describe() for b in banks])
        shots = [b.instrument_snapshot() for b in banks if b is not None]
        shots = [s for s in shots if s]
        if shots:
            self.run.snapshot(shots[0] if len(shots) == 1 else
                              {f"layer {i}": s for i, s in enumerate(shots)})


def _restore_when_built(layer: DeviceNeurons, state: Any) -> None:
    factory = layer._factory  # noqa: SLF001 - the lazy layer's own bank factory

    def build(n: int) -> NeuronBank:
        bank = factory(n)
        bank.set_state(state)
        return bank

    layer._factory = build  # noqa: SLF001


@contextmanager
def record_training(store: RunStore, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, *,
                    scheduler: Any | None = None, config: dict[str, Any] | None = None,
                    seed: int | None = None,
                    resume: int | None = None) -> Iterator[RecordedTraining]:
    """Record a training loop of ``model`` (any torch module with device-neuron layers) in
    ``store``'s run context: a new run of ``config`` (your hyperparameters, JSON-ready), or
    with ``resume`` the killed run, restored from its last checkpoint (``run.epochs``
    then starts after it). The run finishes ``finished`` when the block ends, ``aborted``
    on Ctrl-C, ``failed`` on an error."""
    layers = device_layers(model)
    settings = {**(config or {}), "model": repr(model),
                "optimizer": None if optimizer is None else repr(optimizer),
                "scheduler": None if scheduler is None else type(scheduler).__name__,
                "device_layers": len(layers)}
    with store.run(KIND, settings, seed=seed, resume=resume) as run:
        recorded = RecordedTraining(run, model, optimizer, scheduler)
        if run.resumed:
            recorded._restore()  # noqa: SLF001
        run.describe(model=repr(model), seeds={"seed": seed,
                                               "torch_initial_seed": torch.initial_seed()})
        recorded._describe()  # noqa: SLF001
        yield recorded
        run.result = recorded.result

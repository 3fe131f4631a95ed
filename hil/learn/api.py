"""One call to train: :func:`train` (``hil.train``)."""

from __future__ import annotations

from typing import Any

from hil.learn.config import TrainConfig
from hil.learn.train import Trainer, TrainResult
from protocols.store import RunStore


def train(store: RunStore | str | None = None, *, banks=None, data=None, optimizer=None,
          scheduler=None, progress=None, **config: Any) -> TrainResult:
    """Train once: ``config`` are :class:`TrainConfig` fields (SI values) over the
    backend's run defaults (:meth:`TrainConfig.for_backend`, as ``hil train`` takes them),
    ``store`` the run store (a path, or the user's default); the other arguments as
    :class:`Trainer`'s.
    ``optimizer`` and ``scheduler`` are names (as in the config) or factories (objects)."""
    if isinstance(optimizer, str):
        config["optimizer"], optimizer = optimizer, None
    if isinstance(scheduler, str):
        config["scheduler"], scheduler = scheduler, None
    trainer = Trainer(TrainConfig.for_backend(**config), progress, data=data, optimizer=optimizer,
                      scheduler=scheduler, banks=banks)
    return trainer.run(store if isinstance(store, RunStore) else RunStore(store))

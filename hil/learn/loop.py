"""The one epoch loop every trainer runs: batches drawn at each epoch's start, one step per
batch, the epoch's mean loss and hit rate, and what happens between epochs (a schedule,
metrics, a checkpoint, early stopping) left to the caller.

The HIL trainer (paper 002 Methods 4.6) and its software baseline, the grids' paired
comparison and co-design network, the trainable activation (paper 000) and the
two-polariser network (paper 003) all train through :func:`run_epochs`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sized
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class EpochStats:
    """One epoch: its index, the summed loss and the hits over its images."""

    epoch: int
    loss: float  # mean per image
    accuracy: float  # hits per image


Step = Callable[[torch.Tensor], tuple[float, int]]  # a batch -> (summed loss, hits)


def run_epochs(batches: Callable[[], Iterable[torch.Tensor]], step: Step, epochs: int,
               first_epoch: int = 0,
               after_epoch: Callable[[EpochStats], bool | None] | None = None
               ) -> list[EpochStats]:
    """Epochs ``first_epoch`` .. ``epochs - 1``: each draws its batches (``batches()``: index
    tensors, in order) and runs ``step`` on each; ``after_epoch`` hears the epoch's stats
    and stops the loop by returning True (early stopping)."""
    history = []
    for epoch in range(first_epoch, epochs):
        total, hits, images = 0.0, 0, 0
        for batch in batches():
            loss, hit = step(batch)
            total, hits, images = total + loss, hits + hit, images + len(batch)
        stats = EpochStats(epoch, total / images, hits / images)
        history.append(stats)
        if after_epoch is not None and after_epoch(stats):
            break
    return history


def shuffled(n: int, size: int, generator: torch.Generator) -> Callable[[], list[torch.Tensor]]:
    """Each epoch's batches: a permutation of ``n`` images from ``generator``, in batches of
    ``size`` (the last one shorter)."""
    return lambda: list(torch.randperm(n, generator=generator).split(size))


def descend(optimiser: torch.optim.Optimizer, loss: torch.Tensor, batch: Sized) -> float:
    """One update on a batch's summed ``loss`` (its mean's gradient); the summed loss."""
    optimiser.zero_grad()
    (loss / len(batch)).backward()
    optimiser.step()
    return float(loss.detach())

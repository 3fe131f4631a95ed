"""Reading a network's classes off the devices (paper 002 Methods 4.6, Fig. 4d-e).

One pass presents each image as T steps of Poisson spikes and counts every output device's
switches. Three readouts of that pass are kept side by side:

- ``devices``: the output that switched most; an image whose top count is shared is read
  again on the devices (more spike trains, more switches) until the tie breaks, up to
  ``rereads`` times (:func:`hil.nn.network.device_classes`). Nothing but switch counts is
  read: this is the accuracy a chip without a software model reports.
- ``software_tie_break``: the same counts, ties broken by the software's mean normalised
  input (:func:`hil.nn.network.predict`), as the project reported before.
- ``inputs``: the largest mean normalised input of the output layer (paper 002 computes its
  confidence "from the normalized inputs to the neurons from the network"): a software value,
  computed from the weights and the hidden devices' spikes.

Every network scored on one image set with one ``seed`` sees the same spike trains.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from hil.learn.encoding import poisson_spikes
from hil.nn.network import DeviceCurrents, SpikingNet, device_classes, predict

EVAL_CHUNK = 200  # images per evaluation batch (bounds memory at T x 200 x 784)
REREADS = 5  # re-reads of a tied image before a coin decides among its tied outputs
READOUTS = ("devices", "software_tie_break", "inputs")
Stage = Callable[[int, int], None]


@dataclass
class Readout:
    """Classes per image under each readout, and how the ties went (counts of images)."""

    labels: torch.Tensor
    classes: dict[str, torch.Tensor]
    logits: torch.Tensor  # displayed logits of the first read, logit((count + 1/2)/(T + 1))
    tied: int  # images whose top count was shared after the first read
    unresolved: int  # still tied after every re-read (a seeded coin chose)
    rereads: int  # re-read rounds taken

    def accuracy(self, readout: str = "devices") -> float:
        """Fraction of images whose class under ``readout`` (one of ``READOUTS``) is their label."""
        return float((self.classes[readout] == self.labels).double().mean())

    def accuracies(self) -> dict[str, float]:
        """Each readout's accuracy, by name."""
        return {name: self.accuracy(name) for name in self.classes}

    @property
    def confidence(self) -> torch.Tensor:
        """Softmax of the displayed logits (paper 002 Fig. 4d's confidence, as realised)."""
        return torch.softmax(self.logits, dim=-1)


def derived_seed(seed: int, stream: int) -> int:
    """A seed for a torch generator, independent of ``seed``'s own stream."""
    return int(np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0] >> 1)


def spike_trains(x: torch.Tensor, steps: int, seed: int) -> Iterator[torch.Tensor]:
    """The spike trains :func:`read_out` presents for ``seed``, chunk by chunk (T, chunk,
    features); ``list(...)`` of them, given as ``spikes``, lets several networks share one
    draw (the same numbers, drawn once)."""
    gen = torch.Generator().manual_seed(seed)
    for chunk in torch.arange(len(x)).split(EVAL_CHUNK):
        yield poisson_spikes(x[chunk], steps, gen)


@torch.no_grad()
def read_out(net: SpikingNet, devices: list[DeviceCurrents], x: torch.Tensor,
             labels: torch.Tensor, steps: int, seed: int, rereads: int = REREADS,
             software: bool = True, stage: Stage | None = None,
             spikes: Sequence[torch.Tensor] | None = None) -> Readout:
    """Every readout of ``x`` (labels as class indices) through ``devices``; with
    ``software=False`` only the devices' own (the software values are never touched).
    ``spikes``: the chunks :func:`spike_trains` gives for ``x``, ``steps`` and ``seed``,
    drawn once for several networks."""
    was_training = net.training
    net.eval()
    counts, logits, inputs = [], [], []
    chunks = -(-len(x) // EVAL_CHUNK)
    trains = spike_trains(x, steps, seed) if spikes is None else iter(spikes)
    for n in range(chunks):
        if stage is not None:
            stage(n, chunks)
        out_logits, out_spikes, mean_input = net.forward_devices(next(trains), devices)
        counts.append(out_spikes.sum(0))
        logits.append(out_logits)
        if software:
            inputs.append(mean_input)
    if stage is not None:
        stage(chunks, chunks)
    again = torch.Generator().manual_seed(derived_seed(seed, 1))

    def reread(rows: torch.Tensor) -> torch.Tensor:
        return torch.cat([net.forward_devices(poisson_spikes(x[part], steps, again),
                                              devices)[1].sum(0)
                          for part in rows.split(EVAL_CHUNK)])

    coin = torch.Generator().manual_seed(derived_seed(seed, 2))
    device, ties = device_classes(torch.cat(counts), reread, rereads, coin)
    classes = {"devices": device}
    shown = torch.cat(logits)
    if software:
        mean_input = torch.cat(inputs)
        classes["software_tie_break"] = predict(shown, mean_input)[0]
        classes["inputs"] = mean_input.argmax(-1)
    net.train(was_training)
    return Readout(labels, classes, shown, **ties)

"""Device neurons as a torch layer for any model (paper 002, Islam et al., Hardware in Loop
Learning with Spin Stochastic Neurons, Methods 4.6).

:class:`DeviceNeurons` puts a bank's neurons after any layer a user writes (linear or
convolutional): the forward pass turns each normalised input z into a write current through
the bank's calibration, asks the devices, and passes on their switch flags (or their measured
rate, or the measured logit for an output layer); the backward pass is the measured
activation's, never the ideal sigmoid's (:mod:`hil.nn.network`), with the clamp-aware or
exact rule as options (``gradient``). Like aihwkit's analog layers, a model gets them by
construction or by :func:`to_device_neurons`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Literal

import torch
from torch import nn

from hil.banks.base import Calibration, NeuronBank
from hil.nn.network import (
    GRADIENTS,
    DeviceCurrents,
    _HiddenSpikes,
    _OutputLogit,
    measured_rate,
)

BankFactory = Callable[[int], NeuronBank]
Output = Literal["spikes", "rate", "logit"]
OUTPUTS = ("spikes", "rate", "logit")


class DeviceNeurons(nn.Module):
    """A bank's neurons, one per feature of the layer before.

    ``bank``: a :class:`~hil.banks.NeuronBank` whose size must match the features per sample,
    or a factory ``n -> bank`` called on the first forward pass with the size the data has
    (as torch's lazy layers do). ``steps``: T, the write pulses per input; with ``steps=None``
    the input already carries a leading time axis (T, B, ...) of spike-driven inputs, as in
    paper 002's network. ``output``: ``"rate"`` (the measured rate (count + 1/2)/(T + 1), the
    default), ``"spikes"`` (the T switch flags) or ``"logit"`` (logit of the measured rate, for
    an output layer trained with a cross-entropy loss; :func:`hil.nn.output_loss` with the
    switch flags makes its error the unbiased count / T - y). ``gradient``: the backward
    rule, one of ``straight-through``, ``clamp-aware``, ``exact`` (:mod:`hil.nn.network`).
    """

    def __init__(self, bank: NeuronBank | BankFactory, steps: int | None = 20,
                 output: Output = "rate",
                 calibration: Sequence[Calibration] | None = None,
                 gradient: str = "straight-through") -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output = {output!r} is not one of {', '.join(OUTPUTS)}")
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient = {gradient!r} is not one of {', '.join(GRADIENTS)}")
        self.gradient = gradient
        if steps is not None and (not isinstance(steps, int) or steps < 1):
            raise ValueError(f"steps = {steps!r} is outside the allowed range [1, inf)")
        self.steps = steps
        self.output = output
        self._factory: BankFactory | None = None if isinstance(bank, NeuronBank) else bank
        self.bank: NeuronBank | None = bank if isinstance(bank, NeuronBank) else None
        self._calibration = None if calibration is None else list(calibration)
        self._currents: DeviceCurrents | None = None

    @property
    def n_neurons(self) -> int | None:
        """The bank's neurons, or None while the bank is not yet built (a factory builds it on first
        use)."""
        return None if self.bank is None else self.bank.n_neurons

    def set_calibration(self, calibration: Sequence[Calibration]) -> None:
        """The I_bias, I0 the software maps z to currents with (e.g. measured by a sweep)."""
        self._calibration = list(calibration)
        self._currents = None

    def devices(self, features: int | None = None) -> DeviceCurrents:
        """The bank behind the layer with its calibration (built now for a factory)."""
        if self.bank is None:
            if features is None:
                raise RuntimeError("DeviceNeurons: no bank yet; it is built on the first "
                                   "forward pass from the data's size")
            self.bank = self._factory(features)
        if self._currents is None:
            self._currents = DeviceCurrents(self.bank, self._calibration or self.bank.calibration,
                                            self.gradient)
        return self._currents

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        timed = self.steps is None
        sample_shape = z.shape[2:] if timed else z.shape[1:]
        if z.dim() < (3 if timed else 2):
            expected = "(T, batch, features...)" if timed else "(batch, features...)"
            raise ValueError(f"DeviceNeurons: input of shape {tuple(z.shape)}; expected "
                             f"{expected}")
        features = math.prod(sample_shape)
        if self.bank is not None and features != self.bank.n_neurons:
            raise ValueError(
                f"DeviceNeurons: input of shape {tuple(z.shape)} has {features} features per "
                f"sample (shape {tuple(sample_shape)}), but the bank has {self.bank.n_neurons} "
                f"neurons (shape ({self.bank.n_neurons},)); give a bank of {features} neurons "
                "or a factory n -> bank")
        devices = self.devices(features)
        if timed:
            flat = z.reshape(z.shape[0], z.shape[1], features)
        else:  # the same input written T times
            flat = z.reshape(1, z.shape[0], features).expand(self.steps, -1, -1)
        if self.output == "logit":
            logits, spikes = _OutputLogit.apply(flat, devices)
            return logits.reshape(z.shape[1:] if timed else z.shape)
        spikes = _HiddenSpikes.apply(flat, devices)
        if self.output == "spikes":
            return spikes.reshape(flat.shape[0], *z.shape[-1 - len(sample_shape):])
        rate = measured_rate(spikes)
        return rate.reshape(z.shape[1:] if timed else z.shape)

    def close(self) -> None:
        """Close the bank (a lab bank turns its outputs off)."""
        if self.bank is not None:
            self.bank.close()

    def extra_repr(self) -> str:
        size = "lazy" if self.bank is None else str(self.bank.n_neurons)
        return (f"neurons={size}, steps={self.steps}, output={self.output!r}, "
                f"gradient={self.gradient!r}")


ACTIVATIONS = (nn.Sigmoid, nn.ReLU, nn.Tanh, nn.SiLU, nn.GELU, nn.LeakyReLU)


def to_device_neurons(model: nn.Module,
                      banks: Sequence[NeuronBank | BankFactory] | BankFactory,
                      steps: int | None = 20,
                      activations: tuple[type[nn.Module], ...] = ACTIVATIONS) -> nn.Module:
    """``model`` with every activation module (sigmoid, ReLU, ...) replaced, in order, by
    :class:`DeviceNeurons` on the next bank of ``banks`` (or on banks a factory builds at
    the data's size). The model is changed in place and returned."""
    found = list(_activations(model, activations))
    if callable(banks) and not isinstance(banks, Sequence):
        banks = [banks] * len(found)
    if len(banks) != len(found):
        raise ValueError(f"banks: the model has {len(found)} activations, got {len(banks)} "
                         "banks")
    for (parent, name), bank in zip(found, banks, strict=True):
        setattr(parent, name, DeviceNeurons(bank, steps=steps))
    return model


def _activations(module: nn.Module, kinds) -> Iterator[tuple[nn.Module, str]]:
    for name, child in module.named_children():
        if isinstance(child, kinds):
            yield module, name
        else:
            yield from _activations(child, kinds)


def device_layers(model: nn.Module) -> list[DeviceNeurons]:
    """The model's device layers, in order."""
    return [m for m in model.modules() if isinstance(m, DeviceNeurons)]

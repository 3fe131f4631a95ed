"""Feed-forward network whose neurons are bank neurons (paper 002 Methods 4.6, Fig. 4a).

Per time step t a layer's input spikes s_t give z_t = s_t @ W + b, the write currents
I_t = I_bias + I0 * z_t (with the calibration the software has, clipped to the safe range),
and the bank's switch flags are the layer's output spikes. The forward pass asks the
devices; the backward pass uses the **measured** activation, never the ideal sigmoid at
the ideal input: a hidden neuron passes grad * a (1 - a) with a its measured rate, and the
output layer reports the measured logit z_hat = logit(a), so a cross-entropy loss gives
delta = a - y. Because the device layer is a ``torch.autograd.Function``, any torch
optimiser, scheduler and checkpoint works unchanged (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from hil.banks.base import Calibration, NeuronBank


def measured_rate(switched: torch.Tensor) -> torch.Tensor:
    """Activation a = (count + 1/2) / (T + 1): count / T with a continuity correction that
    keeps a saturated neuron's logit finite (count / T itself is reported alongside)."""
    steps = switched.shape[0]
    return (switched.sum(0) + 0.5) / (steps + 1.0)


class DeviceCurrents:
    """Maps normalised inputs z to write currents for one bank, with its calibration."""

    def __init__(self, bank: NeuronBank, calibration: Sequence[Calibration]) -> None:
        if len(calibration) != bank.n_neurons:
            raise ValueError(f"calibration: need {bank.n_neurons} entries, got {len(calibration)}")
        self.bank = bank
        self.i_bias = torch.tensor([c.i_bias for c in calibration], dtype=torch.float64)
        self.i0 = torch.tensor([c.i0 for c in calibration], dtype=torch.float64)
        self.max_current = torch.from_numpy(bank.max_current.astype(np.float64))

    def currents(self, z: torch.Tensor) -> torch.Tensor:
        i = self.i_bias + self.i0 * z.detach().to(torch.float64)
        return torch.minimum(i.clamp_min(0.0), self.max_current)

    def switch(self, z: torch.Tensor) -> torch.Tensor:
        switched = self.bank.switch(self.currents(z).numpy())
        return torch.from_numpy(switched).to(z.dtype)


class _HiddenSpikes(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: torch.Tensor, devices: DeviceCurrents) -> torch.Tensor:
        spikes = devices.switch(z)
        a = measured_rate(spikes)
        ctx.save_for_backward(a * (1.0 - a))
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor):
        (slope,) = ctx.saved_tensors
        return grad_spikes * slope, None


class _OutputLogit(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: torch.Tensor, devices: DeviceCurrents) -> tuple[torch.Tensor, ...]:
        spikes = devices.switch(z)
        ctx.steps = z.shape[0]
        ctx.mark_non_differentiable(spikes)
        return torch.logit(measured_rate(spikes)), spikes

    @staticmethod
    def backward(ctx, grad_logit: torch.Tensor, _grad_spikes: torch.Tensor):
        # d z_hat / d z_t = 1 / T: the device realises a = sigmoid(z) on average.
        steps = ctx.steps
        return grad_logit.unsqueeze(0).expand(steps, *grad_logit.shape) / steps, None


class SpikingNet(nn.Module):
    """Layers inputs (784 for MNIST) -> hidden... -> classes; every neuron is a bank neuron."""

    def __init__(self, sizes: Sequence[int], generator: torch.Generator | None = None,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"layer sizes {list(sizes)} must be >= 1 with at least two layers")
        self.sizes = list(sizes)
        pairs = zip(sizes[:-1], sizes[1:], strict=True)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in pairs)
        bound_gen = generator if generator is not None else torch.Generator().manual_seed(0)
        with torch.no_grad():  # nn.Linear's default init, but from our seeded generator
            for layer in self.layers:
                bound = 1.0 / np.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=bound_gen)
                layer.bias.uniform_(-bound, bound, generator=bound_gen)

    def forward_devices(
        self, spikes: torch.Tensor, devices: Sequence[DeviceCurrents]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """spikes (T, B, 784) -> (measured logits (B, C), output switch flags (T, B, C),
        mean normalised input of the output layer (B, C))."""
        if len(devices) != len(self.layers):
            raise ValueError(f"need one bank per layer ({len(self.layers)}), got {len(devices)}")
        if spikes.shape[-1] != self.sizes[0]:
            raise ValueError(f"input of shape {tuple(spikes.shape)} has {spikes.shape[-1]} "
                             f"features; the first layer takes {self.sizes[0]} (weight shape "
                             f"{tuple(self.layers[0].weight.shape)})")
        x = spikes
        for layer, bank in zip(self.layers[:-1], devices[:-1], strict=True):
            x = _HiddenSpikes.apply(layer(self.dropout(x)), bank)
        z = self.layers[-1](self.dropout(x))
        logits, out_spikes = _OutputLogit.apply(z, devices[-1])
        return logits, out_spikes, z.detach().mean(0)

    def forward_ideal(self, intensities: torch.Tensor) -> torch.Tensor:
        """Software network with ideal sigmoids on pixel intensities: output logits."""
        x = intensities
        for layer in self.layers[:-1]:
            x = torch.sigmoid(layer(self.dropout(x)))
        return self.layers[-1](self.dropout(x))


def predict(logits: torch.Tensor, mean_input: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Class and per-class confidence (paper 002 Methods 4.6).

    The confidence is a softmax over the normalised inputs as the devices realised them,
    z_hat = logit(a); the class is the most confident neuron, ties (equal counts) broken by
    the software's normalised input."""
    confidence = torch.softmax(logits, dim=-1)
    tie_break = 1e-6 * torch.softmax(mean_input, dim=-1)
    return torch.argmax(logits + tie_break, dim=-1), confidence

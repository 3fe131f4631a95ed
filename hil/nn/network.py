"""Feed-forward network whose neurons are bank neurons (paper 002 Methods 4.6, Fig. 4a).

Per time step t a layer's input spikes s_t give z_t = s_t @ W + b, the write currents
I_t = I_bias + I0 * z_t (with the calibration the software has, clipped to the safe range),
and the bank's switch flags are the layer's output spikes. The forward pass asks the
devices; the backward pass uses the **measured** activation, never the ideal sigmoid at
the ideal input: a hidden neuron passes grad * a (1 - a) with a its measured rate, and the
output layer reports the measured logit z_hat = logit(a). Because the device layer is a
``torch.autograd.Function``, any torch optimiser, scheduler and checkpoint works unchanged
(DESIGN.md).

The error is paper 002's: the activation count / T against the target (Methods 4.6: "the
activation is then used for error and gradient calculations"). :func:`output_loss` gives
it (its gradient with respect to z_hat is count / T - y, an unbiased estimate of the
expected rate's error); the continuity-corrected rate (count + 1/2) / (T + 1) only keeps the
displayed logit and loss finite. The backward rule through the devices is one of
``GRADIENTS``: ``straight-through`` (the device realises a = sigmoid(z) on average, at every
step), ``clamp-aware`` (the same, but zero at a step whose write current was clamped to
[0, max]: a clamped current does not move with z), or ``exact`` (the derivative of the
calibrated device model's expected rate, the logistic of Eq. 2 at the clamped currents).
Predictions read the devices only (:func:`device_classes`); :func:`predict` keeps the
software tie-break for comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hil.banks.base import Calibration, NeuronBank

GRADIENTS = ("straight-through", "clamp-aware", "exact")
ERRORS = ("unbiased", "corrected")


def measured_rate(switched: torch.Tensor) -> torch.Tensor:
    """Activation a = (count + 1/2) / (T + 1): count / T with a continuity correction that
    keeps a saturated neuron's logit finite, for display (:func:`count_rate` is the
    unbiased one the error uses)."""
    steps = switched.shape[0]
    return (switched.sum(0) + 0.5) / (steps + 1.0)


def count_rate(switched: torch.Tensor) -> torch.Tensor:
    """count / T: the unbiased estimate of a neuron's expected switching rate."""
    return switched.sum(0) / switched.shape[0]


def output_loss(logits: torch.Tensor, spikes: torch.Tensor, target: torch.Tensor,
                error: str = "unbiased") -> torch.Tensor:
    """Summed binary cross-entropy of the displayed logits against ``target`` (its value),
    whose gradient with respect to each logit is the error: ``unbiased``: count / T - y
    (paper 002 Methods 4.6); ``corrected``: sigmoid(logit) - y = (count + 1/2)/(T + 1) - y,
    which never reaches 0 and so pushes every correctly-off output further down."""
    if error not in ERRORS:
        raise ValueError(f"error = {error!r} is not one of {', '.join(ERRORS)}")
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="sum")
    if error == "corrected":
        return loss
    shift = (count_rate(spikes) - torch.sigmoid(logits)).detach()
    return loss + (shift * (logits - logits.detach())).sum()


class DeviceCurrents:
    """Maps normalised inputs z to write currents for one bank, with its calibration, and
    names the backward rule (``gradient``, one of ``GRADIENTS``) its layer uses."""

    def __init__(self, bank: NeuronBank, calibration: Sequence[Calibration],
                 gradient: str = "straight-through") -> None:
        if len(calibration) != bank.n_neurons:
            raise ValueError(f"calibration: need {bank.n_neurons} entries, got {len(calibration)}")
        if gradient not in GRADIENTS:
            raise ValueError(f"gradient = {gradient!r} is not one of {', '.join(GRADIENTS)}")
        self.bank = bank
        self.gradient = gradient
        self.i_bias_np = np.array([c.i_bias for c in calibration], dtype=np.float64)
        self.i0_np = np.array([c.i0 for c in calibration], dtype=np.float64)
        self.i_bias = torch.from_numpy(self.i_bias_np)
        self.i0 = torch.from_numpy(self.i0_np)
        self.max_current_np = np.broadcast_to(
            np.asarray(bank.max_current, dtype=np.float64), self.i0_np.shape).copy()
        self.max_current = torch.from_numpy(self.max_current_np)

    def _unclipped(self, z: torch.Tensor) -> np.ndarray:
        # I_bias + I0 z in float64, computed in place (the same numbers as torch's ops)
        i = z.detach().numpy().astype(np.float64)
        np.multiply(self.i0_np, i, out=i)
        np.add(self.i_bias_np, i, out=i)
        return i

    def currents(self, z: torch.Tensor) -> torch.Tensor:
        """Write currents I = I_bias + I0 z clipped to [0, max] (A)."""
        i = self._unclipped(z)
        return torch.from_numpy(np.clip(i, 0.0, self.max_current_np, out=i))

    def drive(self, z: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """The clipped write currents and where they were not clamped (0 < I < max)."""
        i = self._unclipped(z)
        inside = (i > 0.0) & (i < self.max_current_np)
        return np.clip(i, 0.0, self.max_current_np, out=i), inside

    def switch_currents(self, currents: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        """Run the bank's reset-write-read on ``currents`` (A): 1 where a device switched, as a
        tensor of ``dtype``."""
        return torch.from_numpy(self.bank.switch(currents)).to(dtype)

    def switch(self, z: torch.Tensor) -> torch.Tensor:
        """One reset-write-read of the bank at the clipped currents of ``z``: 1 where a device
        switched."""
        return self.switch_currents(self.currents(z).numpy(), z.dtype)

    def model_rate(self, currents: np.ndarray, switched: bool = True) -> np.ndarray:
        """The calibrated model's switching probability sigmoid((I - I_bias) / I0) (Eq. 2),
        or (``switched=False``) its complement computed directly, which keeps its value
        where P rounds to 1 (a device driven far above I_bias)."""
        sign = -1.0 if switched else 1.0
        with np.errstate(over="ignore"):  # exp overflows to inf: the rate is then 0
            return 1.0 / (1.0 + np.exp(sign * (currents - self.i_bias_np) / self.i0_np))

    def slope(self, currents: np.ndarray, inside: np.ndarray, rate: torch.Tensor
              ) -> torch.Tensor:
        """d(expected switch)/dz per step under this layer's ``gradient`` rule: the measured
        rate's a (1 - a) (straight-through; zero where clamped for clamp-aware) or the
        calibrated model's P'(z) = P (1 - P) at the step's current, zero where clamped."""
        if self.gradient == "exact":
            p = self.model_rate(currents)
            return torch.from_numpy(p * (1.0 - p) * inside).to(rate.dtype)
        a = rate * (1.0 - rate)
        if self.gradient == "clamp-aware":
            return a * torch.from_numpy(inside).to(rate.dtype)
        return a.expand(currents.shape)


class _HiddenSpikes(torch.autograd.Function):
    """Forward: the devices' switch flags (T, B, N). Backward: grad * d(switch)/dz per step
    (:meth:`DeviceCurrents.slope`)."""

    @staticmethod
    def forward(ctx, z: torch.Tensor, devices: DeviceCurrents) -> torch.Tensor:
        currents, inside = devices.drive(z)
        spikes = devices.switch_currents(currents, z.dtype)
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(devices.slope(currents, inside, measured_rate(spikes)))
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor):
        (slope,) = ctx.saved_tensors
        return grad_spikes * slope, None


def _logit_weights(devices: DeviceCurrents, currents: np.ndarray, inside: np.ndarray,
                   dtype: torch.dtype) -> torch.Tensor | None:
    """d z_hat / d z_t per step, or None for straight-through's 1 / T at every step (the
    device realises a = sigmoid(z) on average). Clamp-aware: 1 / T where the current was
    not clamped, else 0. Exact: the derivative of logit(p) with p = mean_t P(I_t) the
    calibrated model's expected rate: P'(z_t) / (T p (1 - p)), zero where clamped."""
    steps = currents.shape[0]
    if devices.gradient == "straight-through":
        return None
    if devices.gradient == "clamp-aware":
        return torch.from_numpy(inside / steps).to(dtype)
    p_t = devices.model_rate(currents)
    q_t = devices.model_rate(currents, switched=False)  # 1 - P, not rounded to 0 near P = 1
    spread = np.maximum(steps * p_t.mean(0) * q_t.mean(0),
                        np.finfo(np.float64).tiny)  # p_t q_t = 0 wherever the spread is 0
    return torch.from_numpy(p_t * q_t * inside / spread).to(dtype)


class _OutputLogit(torch.autograd.Function):
    """Forward: the displayed logit logit((count + 1/2) / (T + 1)) (B, N) and the switch
    flags. Backward: grad * d z_hat / d z_t (:func:`_logit_weights`)."""

    @staticmethod
    def forward(ctx, z: torch.Tensor, devices: DeviceCurrents) -> tuple[torch.Tensor, ...]:
        currents, inside = devices.drive(z)
        spikes = devices.switch_currents(currents, z.dtype)
        ctx.steps = z.shape[0]
        ctx.weights = (_logit_weights(devices, currents, inside, z.dtype)
                       if ctx.needs_input_grad[0] else None)
        ctx.mark_non_differentiable(spikes)
        return torch.logit(measured_rate(spikes)), spikes

    @staticmethod
    def backward(ctx, grad_logit: torch.Tensor, _grad_spikes: torch.Tensor):
        steps = ctx.steps
        if ctx.weights is None:
            return grad_logit.unsqueeze(0).expand(steps, *grad_logit.shape) / steps, None
        return grad_logit.unsqueeze(0) * ctx.weights, None


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

    def forward(self, x: torch.Tensor,
                devices: Sequence[DeviceCurrents] | None = None) -> torch.Tensor:
        """``net(intensities)``: the software network's output logits (ideal sigmoids), what a
        loaded or exported net computes without a chip; ``net(spikes, devices)``: the
        devices' measured logits (:meth:`forward_devices`)."""
        if devices is None:
            return self.forward_ideal(x)
        return self.forward_devices(x, devices)[0]

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
    """Class and per-class confidence (paper 002 Methods 4.6), ties broken by software.

    The confidence is a softmax over the normalised inputs as the devices realised them,
    z_hat = logit(a); the class is the most confident neuron, ties (equal counts) broken by
    the software's normalised input: a software value, so this readout is reported beside
    the devices' own (:func:`device_classes`), never instead of it."""
    confidence = torch.softmax(logits, dim=-1)
    tie_break = 1e-6 * torch.softmax(mean_input, dim=-1)
    return torch.argmax(logits + tie_break, dim=-1), confidence


def tied(counts: torch.Tensor) -> torch.Tensor:
    """Rows (images) whose largest switch count is shared by two or more outputs."""
    return (counts == counts.max(-1, keepdim=True).values).sum(-1) > 1


def device_classes(counts: torch.Tensor, reread: Callable[[torch.Tensor], torch.Tensor],
                   rereads: int, generator: torch.Generator
                   ) -> tuple[torch.Tensor, dict[str, int]]:
    """The class each image's output devices give, from their switch counts (B, C) alone.

    An image whose largest count is shared is read again on the devices: ``reread(rows)``
    presents those images for another T steps and returns their new counts, which are
    added, up to ``rereads`` times; an image still tied then takes one of its tied outputs
    at random (``generator``). No software value (weights, normalised inputs) is read."""
    counts = counts.clone()
    first = tied(counts)
    todo = first.nonzero().flatten()
    taken = 0
    while todo.numel() and taken < rereads:
        counts[todo] += reread(todo)
        taken += 1
        todo = todo[tied(counts[todo])]
    top = (counts == counts.max(-1, keepdim=True).values).to(torch.float64)
    classes = counts.argmax(-1)
    if todo.numel():
        classes[todo] = torch.multinomial(top[todo], 1, generator=generator).flatten()
    return classes, {"tied": int(first.sum()), "unresolved": int(todo.numel()),
                     "rereads": taken}


def device_hits(counts: torch.Tensor, labels: torch.Tensor) -> float:
    """Expected correct images of one read whose ties are decided by a fair coin among the
    tied outputs: a device-only training accuracy without extra reads."""
    top = (counts == counts.max(-1, keepdim=True).values).to(torch.float64)
    return float((top.gather(-1, labels[:, None]).flatten() / top.sum(-1)).sum())

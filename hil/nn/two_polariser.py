"""Paper 003's neurons as a torch layer: the device computes the activation in the forward
pass and, for the backward pass, paper 003's derivative: the tanh fit's, read as m_z^2 by the
second polariser, not the activation's own slope (``TwoPolariserBank.own_derivative``)
(Rodrigues et al., A design of magnetic tunnel junctions for the deployment of neuromorphic
hardware for edge computing, Fig. 3a).

``derivative="device"`` multiplies the incoming gradient by the derivative the device read
(m_z^2 from reference layer 2, in the nominal unit), ``"software"`` by software's analytic
derivative of the nominal activation, A sech^2(z). Both take the activation from the device,
so the two modes differ only in where the backward pass's derivative comes from.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from hil.banks.two_polariser import TwoPolariserBank

Derivative = Literal["device", "software"]
DERIVATIVES = ("device", "software")


class _DeviceTanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: torch.Tensor, bank: TwoPolariserBank, derivative: str) -> torch.Tensor:
        values = z.detach().cpu().numpy().astype(float)
        activation, device_slope = bank.activate(values)
        slope = device_slope if derivative == "device" else bank.software_derivative(values)
        ctx.save_for_backward(torch.as_tensor(np.asarray(slope), dtype=z.dtype, device=z.device))
        return torch.as_tensor(activation, dtype=z.dtype, device=z.device)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (slope,) = ctx.saved_tensors
        return grad * slope, None, None


class TwoPolariserNeurons(nn.Module):
    """One two-polariser device per feature: (batch, n) pre-activations -> activations."""

    def __init__(self, bank: TwoPolariserBank, derivative: Derivative = "device") -> None:
        super().__init__()
        if derivative not in DERIVATIVES:
            raise ValueError(f"derivative = {derivative!r} is not one of "
                             f"{', '.join(DERIVATIVES)}")
        self.bank = bank
        self.derivative = derivative

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.shape[-1] != self.bank.n_neurons:
            raise ValueError(f"input: last axis must hold the {self.bank.n_neurons} neurons, "
                             f"got shape {tuple(z.shape)}")
        return _DeviceTanh.apply(z, self.bank, self.derivative)

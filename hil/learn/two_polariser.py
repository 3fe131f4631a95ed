"""Training with paper 003's neurons: a 784-H-C network whose hidden layer is two-polariser
devices, trained by backpropagation with the device's own derivative or with software's
(Rodrigues et al., A design of magnetic tunnel junctions for the deployment of neuromorphic
hardware for edge computing: cross-entropy and Adam at 0.001, its Results).

Modes: ``device`` (device activation, device derivative), ``software`` (device activation,
software's A sech^2 derivative) and ``ideal`` (tanh and its exact derivative in software, the
paper's reference network). A run's seed fixes the weights' start, the batch order and the
devices (variation and noise), so runs of one seed in different modes are paired.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from hil.banks.two_polariser import TwoPolariserBank
from hil.learn.data import DigitSplit
from hil.nn.two_polariser import TwoPolariserNeurons

MODES = ("device", "software", "ideal")


@dataclass(frozen=True)
class TwoPolariserRun:
    """One run's settings (mode, seed, variation, read noise, samples, schedule), so runs of
    one seed in different modes can be paired."""
    mode: str
    seed: int
    eta: float
    read_noise: float
    samples: int
    lr: float
    epochs: int
    hidden: int
    validation_accuracy: float | None
    test_accuracy: float

    def as_dict(self) -> dict:
        return asdict(self)


def _network(n_in: int, hidden: int, n_out: int, mode: str,
             bank: TwoPolariserBank | None) -> nn.Sequential:
    activation = nn.Tanh() if mode == "ideal" else TwoPolariserNeurons(bank, mode)
    return nn.Sequential(nn.Linear(n_in, hidden), activation, nn.Linear(hidden, n_out))


def _accuracy(net: nn.Module, x: np.ndarray, y: np.ndarray, labels: np.ndarray) -> float:
    with torch.no_grad():
        logits = net(torch.as_tensor(x))
    return float((labels[logits.argmax(1).numpy()] == y).mean())


def train_two_polariser(
    split: DigitSplit, mode: str = "device", hidden: int = 64, eta: float = 0.0,
    read_noise: float = 0.0, samples: int = 100, lr: float = 1e-3, epochs: int = 10,
    batch_size: int = 64, seed: int = 0,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> TwoPolariserRun:
    """Train on ``split``'s training images, report accuracy on ``validation`` (if given) and
    on the held-out images, both read through the devices (their noise included)."""
    if mode not in MODES:
        raise ValueError(f"mode = {mode!r} is not one of {', '.join(MODES)}")
    for name, value in (("hidden", hidden), ("epochs", epochs), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} = {value!r} is outside the allowed range [1, inf)")
    if not lr > 0:
        raise ValueError(f"lr = {lr:g} is outside the allowed range (0, inf)")
    torch.manual_seed(seed)
    labels = np.array(split.classes)
    target = {c: i for i, c in enumerate(labels)}
    y_train = torch.as_tensor([target[int(c)] for c in split.train_y])
    x_train = torch.as_tensor(split.train_x)
    bank = None if mode == "ideal" else TwoPolariserBank(
        hidden, samples=samples, read_noise=read_noise, eta=eta, seed=seed)
    net = _network(x_train.shape[1], hidden, labels.size, mode, bank)
    optimiser = torch.optim.Adam(net.parameters(), lr=lr)
    order = np.random.default_rng(seed)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        perm = order.permutation(len(y_train))
        for start in range(0, perm.size, batch_size):
            idx = torch.as_tensor(perm[start:start + batch_size])
            optimiser.zero_grad()
            loss_fn(net(x_train[idx]), y_train[idx]).backward()
            optimiser.step()
    val = None if validation is None else _accuracy(net, *validation, labels)
    test = _accuracy(net, split.test_x, split.test_y, labels)
    if bank is not None:
        bank.close()
    return TwoPolariserRun(mode, seed, eta, read_noise, samples, lr, epochs, hidden, val, test)

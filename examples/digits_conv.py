"""A user's own convolutional network with device neurons, on scikit-learn's 8 x 8 digits.

    python examples/digits_conv.py            # the full run: 94.7 % held out (seed 0)
    python examples/digits_conv.py --short    # two epochs, for CI

Conv2d(1, 8, 3) -> 288 device neurons (simulated 0.5 um Hall bars with paper 002's 25 %
device-to-device variation, each characterised by a sweep first) -> Linear(288, 10). The
device layer's forward pass asks the devices T = 16 times per image; its backward pass is
the measured activation's (paper 002, Islam et al., Hardware in Loop Learning with Spin
Stochastic Neurons, Methods 4.6). The bank is built at the size the data gives it.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import hil


def digits(seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """scikit-learn's 1,797 digits as (1, 8, 8) images in [0, 1]; a stratified 80/20 split."""
    data = load_digits()
    x = torch.tensor(data.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(data.target)
    train_x, test_x, train_y, test_y = train_test_split(
        x, y, test_size=0.2, stratify=y, random_state=seed)
    return TensorDataset(train_x, train_y), TensorDataset(test_x, test_y)


def device_bank(n: int, seed: np.random.SeedSequence) -> hil.NeuronBank:
    """``n`` simulated Hall bars, each calibrated by its own sweep (paper 002 SI S3)."""
    return hil.calibrated(hil.model_bank(n, 0.5e-6, eta=0.25, seed=seed))


def build_model(seed: int = 0, steps: int = 16) -> nn.Module:
    """The user's own net, device neurons after the convolution."""
    torch.manual_seed(seed)
    bank_seed = np.random.SeedSequence(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3),
        hil.DeviceNeurons(lambda n: device_bank(n, bank_seed), steps=steps),
        nn.Flatten(),
        nn.Linear(8 * 6 * 6, 10),
    )


@torch.no_grad()
def accuracy(model: nn.Module, data: TensorDataset) -> float:
    model.eval()
    correct = sum(int((model(x).argmax(1) == y).sum()) for x, y in DataLoader(data, 256))
    return correct / len(data)


def train(epochs: int = 10, seed: int = 0) -> tuple[nn.Module, float]:
    """Adam with a cosine schedule; returns the model and its held-out accuracy."""
    train_set, test_set = digits(seed)
    model = build_model(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs)
    loader = DataLoader(train_set, batch_size=32, shuffle=True,
                        generator=torch.Generator().manual_seed(seed))
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for x, y in loader:
            loss = nn.functional.cross_entropy(model(x), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(x)
        schedule.step()
        print(f"epoch {epoch + 1}: loss {total / len(train_set):.3f}")
    return model, accuracy(model, test_set)


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description="device neurons in a conv net, 8x8 digits")
    parser.add_argument("--short", action="store_true", help="two epochs (CI)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    _, held_out = train(epochs=2 if args.short else 10, seed=args.seed)
    print(f"held-out accuracy: {held_out:.1%}")
    return held_out


if __name__ == "__main__":
    main()

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

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from hil.banks.two_polariser import TwoPolariserBank
from hil.errors import ConfigError
from hil.learn.data import DigitSplit, describe_split
from hil.learn.loop import run_epochs
from hil.nn.two_polariser import TwoPolariserNeurons
from protocols.progress import Progress
from protocols.store import RunStore

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
        """The run's settings and accuracies as a JSON-ready dict."""
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
    on_epoch: Callable[[int, float], None] | None = None,
) -> TwoPolariserRun:
    """Train on ``split``'s training images, report accuracy on ``validation`` (if given) and
    on the held-out images, both read through the devices (their noise included).
    ``on_epoch(epoch, loss)`` hears each epoch's mean training loss."""
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

    def batches() -> list[torch.Tensor]:  # the order from numpy's generator of the seed
        perm = order.permutation(len(y_train))
        return [torch.as_tensor(perm[s:s + batch_size]) for s in range(0, perm.size, batch_size)]

    def step(idx: torch.Tensor) -> tuple[float, int]:
        optimiser.zero_grad()
        loss = loss_fn(net(x_train[idx]), y_train[idx])  # the batch's mean (paper 003)
        loss.backward()
        optimiser.step()
        return float(loss.detach()) * len(idx), 0

    run_epochs(batches, step, epochs, after_epoch=None if on_epoch is None else
               (lambda stats: on_epoch(stats.epoch, stats.loss)))
    val = None if validation is None else _accuracy(net, *validation, labels)
    test = _accuracy(net, split.test_x, split.test_y, labels)
    if bank is not None:
        bank.close()
    return TwoPolariserRun(mode, seed, eta, read_noise, samples, lr, epochs, hidden, val, test)


@dataclass
class TwoPolariserResult:
    """A recorded two-polariser training run: the device-derivative run and (``compare``)
    the software-derivative run of the same seed, with their per-epoch losses."""

    run_id: int
    runs: list[TwoPolariserRun]
    loss_history: list[float]
    software_loss_history: list[float] = field(default_factory=list)

    def summary(self, config: Any) -> dict[str, Any]:
        """The run's result as one JSON-ready dict (every mode's run, the loss histories, the first
        run's test accuracy), as recorded in the store."""
        return {"run_id": self.run_id, "backend": config.backend, "seed": config.seed,
                "runs": [r.as_dict() for r in self.runs], "loss_history": self.loss_history,
                "software_loss_history": self.software_loss_history,
                "test_accuracy": self.runs[0].test_accuracy}


def check_two_polariser(config: Any) -> None:
    """What paper 003's network allows of a training configuration (before any run)."""
    if len(config.hidden) != 1:
        raise ConfigError("hidden", f"{config.hidden}: the two-polariser backend has one hidden "
                          "layer of devices; allowed: one size, e.g. 64")
    if config.optimizer != "adam":
        raise ConfigError("optimizer", f"{config.optimizer!r}: the two-polariser backend trains "
                          "with paper 003's Adam; allowed: adam")


def record_two_polariser(config: Any, store: RunStore, split: DigitSplit,
                         validation: tuple[np.ndarray, np.ndarray] | None,
                         progress: Progress | None = None) -> TwoPolariserResult:
    """Paper 003's network trained in the run store: the configuration first, then each
    epoch's loss (``loss`` with the device's derivative, ``software_loss`` with software's,
    from the same seed: same start, batches and devices) and the accuracies as the result."""
    check_two_polariser(config)
    modes = ("device", "software") if config.compare else ("device",)
    histories: dict[str, list[float]] = {mode: [] for mode in modes}
    with store.run("train", config.to_dict(), seed=config.seed) as run:
        run.describe(backend=config.backend,
                     data=describe_split(split, validation, config),
                     seeds={"seed": config.seed, "weights": f"torch.manual_seed({config.seed})",
                            "batches": f"numpy default_rng({config.seed})",
                            "devices": f"numpy SeedSequence({config.seed})"})
        runs = []
        for mode in modes:
            name = "loss" if mode == "device" else "software_loss"

            def logged(epoch: int, loss: float, name: str = name, mode: str = mode) -> None:
                histories[mode].append(loss)
                run.log_metrics(epoch, {name: loss})
                if progress is not None:
                    progress(mode, epoch + 1, config.epochs, {"loss": loss})

            runs.append(train_two_polariser(
                split, mode, hidden=config.hidden[0], eta=config.eta,
                read_noise=config.read_noise, lr=config.lr, epochs=config.epochs,
                batch_size=config.batch_size, seed=config.seed, validation=validation,
                on_epoch=logged))
        result = TwoPolariserResult(run.id, runs, histories["device"],
                                    histories.get("software", []))
        run.result = result.summary(config)
    return result

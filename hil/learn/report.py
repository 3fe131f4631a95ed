"""The figure each training run writes: loss, held-out confidences, the devices' curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hil.banks.base import NeuronBank
from hil.learn.train import TrainResult
from protocols.fitting import sigmoid


def write_training_figure(result: TrainResult, classes: list[int], path: str | Path) -> Path:
    """The training figure (loss, held-out confidences, device curves), written beside the store
    so a run's numbers can be seen without the store."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax_loss, ax_hil, ax_dep, ax_dev) = plt.subplots(1, 4, figsize=(19, 4.4),
                                                          layout="constrained")

    epochs = np.arange(1, len(result.loss_history) + 1)
    ax_loss.plot(epochs, result.loss_history, "o-", label="HIL (measured)")
    if result.software_loss_history:
        ax_loss.plot(np.arange(1, len(result.software_loss_history) + 1),
                     result.software_loss_history, "s--", label="software (ideal)")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy per image", title="training loss")
    ax_loss.legend()

    n = len(result.hil.labels)
    image = _confidence_panel(ax_hil, result.hil, classes, f"HIL on the devices: "
                              f"{_accuracy(result.hil.accuracy, n)}")
    if result.deployed is not None:  # the same devices, side by side
        _confidence_panel(ax_dep, result.deployed, classes, f"software, deployed: "
                          f"{_accuracy(result.deployed.accuracy, n)}")
    else:
        ax_dep.set_axis_off()
        ax_dep.text(0.5, 0.5, "no deployed comparison (--no-compare)", ha="center")
    fig.colorbar(image, ax=[ax_hil, ax_dep], fraction=0.046, label="mean confidence")

    _plot_devices(ax_dev, result.banks[-1] if result.banks else None, result.calibration[-1])
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _accuracy(accuracy: float, count: int) -> str:
    from protocols.fitting import wilson_interval

    low, high = wilson_interval(np.array([round(accuracy * count)]), max(count, 1))
    return f"{accuracy:.1%} of {count} [{low[0]:.0%}, {high[0]:.0%}]"


def _confidence_panel(ax, evaluation, classes: list[int], title: str):
    """Mean held-out confidence of each output neuron per true class (rows)."""
    confidence = np.asarray(evaluation.confidence)
    labels = np.asarray(evaluation.labels)
    mean_conf = np.stack([confidence[labels == k].mean(0) for k in range(len(classes))])
    image = ax.imshow(mean_conf, vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(classes)), [str(c) for c in classes])
    ax.set_yticks(range(len(classes)), [str(c) for c in classes])
    ax.set(xlabel="neuron (class)", ylabel="true class", title=title)
    ax.title.set_fontsize(9)
    return image


def _plot_devices(ax, bank: NeuronBank | None, calibration: list[dict[str, float]]) -> None:
    i_bias = np.array([c["i_bias"] for c in calibration])
    i0 = np.array([c["i0"] for c in calibration])
    shown = min(len(calibration), 10)
    currents = np.linspace((i_bias - 12 * i0).min(), (i_bias + 12 * i0).max(), 300)
    truth = getattr(bank, "p_switch", None)
    for j in range(shown):
        (line,) = ax.plot(currents * 1e3, sigmoid(currents, i_bias[j], i0[j]), "--", lw=1)
        if truth is not None:
            grid = np.zeros((currents.size, bank.n_neurons))
            grid[:, j] = currents
            ax.plot(currents * 1e3, truth(grid)[:, j], color=line.get_color(), lw=1.8)
    ax.set(xlabel="write current (mA)", ylabel="P_sw", ylim=(-0.02, 1.02),
           title="output devices: true (solid), calibration (dashed)")

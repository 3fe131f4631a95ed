"""The figure each training run writes: loss, held-out confidences, the devices' curves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hil.bank import NeuronBank
from hil.train import TrainResult
from protocols.fitting import sigmoid


def write_training_figure(result: TrainResult, classes: list[int], path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, (ax_loss, ax_conf, ax_dev) = plt.subplots(1, 3, figsize=(15, 4.4))

    epochs = np.arange(1, len(result.loss_history) + 1)
    ax_loss.plot(epochs, result.loss_history, "o-", label="HIL (measured)")
    if result.software_loss_history:
        ax_loss.plot(epochs, result.software_loss_history, "s--", label="software (ideal)")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy per image", title="training loss")
    ax_loss.legend()

    confidence = np.asarray(result.hil.confidence)
    labels = np.asarray(result.hil.labels)
    mean_conf = np.stack([confidence[labels == k].mean(0) for k in range(len(classes))])
    image = ax_conf.imshow(mean_conf, vmin=0, vmax=1, cmap="viridis")
    ax_conf.set_xticks(range(len(classes)), [str(c) for c in classes])
    ax_conf.set_yticks(range(len(classes)), [str(c) for c in classes])
    title = f"held-out confidence, HIL {result.hil.accuracy:.1%}"
    if result.deployed is not None:
        title += f" (deployed {result.deployed.accuracy:.1%})"
    ax_conf.set(xlabel="neuron (class)", ylabel="true class", title=title)
    fig.colorbar(image, ax=ax_conf, fraction=0.046)

    _plot_devices(ax_dev, result.banks[-1] if result.banks else None, result.calibration[-1])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


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

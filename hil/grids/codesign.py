"""Co-design of bar width against variation, latency and energy (paper 002 Fig. 3c-d, S8-S9).

Paper 002, Islam et al., "Hardware in Loop Learning with Spin Stochastic Neurons", Methods
4.5: a 784-400-10 network with sigmoid neurons is trained once in software, then its
neurons become spin stochastic neurons for inference, fed T = 50 steps of Poisson spikes;
each device's I_bias varies as I_bias (1 + eta x), x ~ U[-1, 1] (Eq. 3), while the software
biases every device with the width's nominal calibration (it does not know the device).

Every grid point (width, eta, seed) is one task: it draws the 410 devices of that width
and eta from its seed, runs the held-out images through them for ``max_steps`` steps and
records the accuracy after every prefix of T steps (a prefix of a Poisson train is a train
of T steps, so one task serves every T of S8-S9), and the mean spike counts that set the
synaptic read energy. The energy of Fig. 3d: a crossbar read at input voltage V0 costs
G0 V0^2 t per unit conductance; with I0 = G0 V0 (Eq. 5) at fixed G0 it scales as I0^2, times
the spikes that reach each layer (784 -> 400 fan-out 400, 400 -> 10 fan-out 10).
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hil.banks.calibration import nominal_calibration
from hil.banks.model import model_bank
from hil.learn.data import load_digits
from hil.learn.encoding import poisson_spikes
from hil.learn.loop import descend, run_epochs, shuffled
from hil.nn.network import DeviceCurrents, SpikingNet
from simulators.presets import BAR_WIDTHS, hall_bar_preset

LAYERS = [784, 400, 10]  # paper 002 Methods 4.5
DEFAULT_ETAS = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25)
CHUNK = 250  # images per forward pass (bounds memory at T x 250 x 784 floats)


@dataclass(frozen=True)
class SoftwareRecipe:
    """Paper 002 Methods 4.5 (DeepLearnToolbox's network): 40 epochs, batch 100, momentum
    0.5, dropout 0.5 on the hidden layer. The paper's lr 2.0 belongs to a mean-squared
    error; with the cross-entropy of sigmoid outputs used here 0.5 trains as fast."""

    epochs: int = 40
    batch_size: int = 100
    lr: float = 0.5
    momentum: float = 0.5
    dropout: float = 0.5
    seed: int = 0


def train_software(recipe: SoftwareRecipe, data_dir: str | None = None) -> SpikingNet:
    """The 784-400-10 sigmoid net trained on every training image (ideal neurons)."""
    digits = load_digits(data_dir)
    x = torch.from_numpy(digits.train_x)
    y = F.one_hot(torch.from_numpy(digits.train_y), 10).to(torch.float32)
    gen = torch.Generator().manual_seed(recipe.seed)
    net = SpikingNet(LAYERS, gen)
    optimiser = torch.optim.SGD(net.parameters(), lr=recipe.lr, momentum=recipe.momentum)
    hidden, out = net.layers

    def step(batch: torch.Tensor) -> tuple[float, int]:
        h = torch.sigmoid(hidden(x[batch]))
        keep = (torch.rand(h.shape, generator=gen) >= recipe.dropout).to(h.dtype)
        logits = out(h * keep / (1.0 - recipe.dropout))
        loss = F.binary_cross_entropy_with_logits(logits, y[batch], reduction="sum")
        return descend(optimiser, loss, batch), 0

    run_epochs(shuffled(len(x), recipe.batch_size, gen), step, recipe.epochs)
    return net


def software_accuracy(net: SpikingNet, images: np.ndarray, labels: np.ndarray) -> float:
    """Held-out accuracy of the ideal (software) forward pass: the reference a deployment on
    devices is measured against (paper 002 Fig. 3c)."""
    with torch.no_grad():
        predicted = net.forward_ideal(torch.from_numpy(images)).argmax(1).numpy()
    return float(np.mean(predicted == labels))


def weights_bytes(net: SpikingNet) -> bytes:
    """A net's layers and weights as bytes, so a grid's workers deploy the very weights stored
    with the run."""
    buffer = io.BytesIO()
    torch.save({"layers": net.sizes, "state": net.state_dict()}, buffer)
    return buffer.getvalue()


def net_from_bytes(data: bytes) -> SpikingNet:
    """The net :func:`weights_bytes` stored (``weights_only``: a stored run never runs code)."""
    saved = torch.load(io.BytesIO(data), weights_only=True)
    net = SpikingNet(saved["layers"])
    net.load_state_dict(saved["state"])
    return net


def grid(widths, etas, seeds: int, max_steps: int) -> list[dict[str, Any]]:
    """Points in a fixed order: width, eta, seed."""
    return [{"width": float(w), "eta": float(e), "seed": int(s), "max_steps": int(max_steps)}
            for w, e, s in itertools.product(widths, etas, range(seeds))]


def deploy_point(point: dict[str, Any], weights: bytes, images: np.ndarray,
                 labels: np.ndarray) -> dict[str, Any]:
    """One grid point: the trained net on freshly drawn devices (a Dask task)."""
    torch.set_num_threads(1)  # one core per task: the cluster supplies the parallelism
    net = net_from_bytes(weights)
    width, eta, seed, steps = point["width"], point["eta"], point["seed"], point["max_steps"]
    preset = hall_bar_preset(width)
    calibration = nominal_calibration(preset)
    # Common random numbers: a seed draws the same x (Eq. 3), thermal noise and input spikes
    # at every width and eta, so differences along the grid are not seed noise.
    devices = []
    for layer, size in enumerate(LAYERS[1:]):
        bank = model_bank(size, width, eta, seed=np.random.SeedSequence([seed, layer]))
        devices.append(DeviceCurrents(bank, [calibration] * size))
    gen = torch.Generator().manual_seed(seed)
    correct = np.zeros(steps)
    input_spikes = hidden_spikes = 0.0
    hidden_layer, out_layer = net.layers
    with torch.no_grad():
        for chunk in torch.arange(len(images)).split(CHUNK):
            spikes = poisson_spikes(torch.from_numpy(images[chunk.numpy()]), steps, gen)
            hidden = devices[0].switch(hidden_layer(spikes))
            out = devices[1].switch(out_layer(hidden))
            counts = out.cumsum(0)  # (T, B, 10): counts after every prefix
            # ties in count broken by the mean normalised input, as hil.nn.network.predict does
            z = out_layer(hidden).cumsum(0) / torch.arange(1, steps + 1).view(-1, 1, 1)
            score = counts + 1e-6 * torch.softmax(z, dim=-1)
            truth = torch.from_numpy(labels[chunk.numpy()])
            correct += (score.argmax(-1) == truth).sum(1).numpy()
            input_spikes += float(spikes.sum())
            hidden_spikes += float(hidden.sum())
    n = len(images)
    row: dict[str, Any] = {f"acc_T{t}": correct[t - 1] / n for t in range(1, steps + 1)}
    row["accuracy"] = correct[-1] / n
    row["i0"] = calibration.i0
    row["input_spikes"] = input_spikes / n
    row["hidden_spikes"] = hidden_spikes / n
    row["read_energy"] = calibration.i0 ** 2 * (row["input_spikes"] * LAYERS[1]
                                                + row["hidden_spikes"] * LAYERS[2])
    return row


def default_widths() -> tuple[float, ...]:
    """Paper 002's bar widths, 0.3-5 um (Fig. 3c-d)."""
    return BAR_WIDTHS


@dataclass
class CodesignOptions:
    """A co-design sweep; the default grid is sized to finish within 30 minutes on a
    2-core machine (bench/RESULTS.md records the time)."""

    widths: tuple[float, ...] = (0.3e-6, 0.5e-6, 1.0e-6, 2.0e-6, 5.0e-6)
    etas: tuple[float, ...] = (0.0, 0.1, 0.25)
    seeds: int = 3
    max_steps: int = 50
    test_images: int = 200  # held-out images per point (first of each class, in turn)
    recipe: SoftwareRecipe = SoftwareRecipe()
    data: str | None = None

    def validate(self) -> CodesignOptions:
        """Check every option before the grid starts: widths with a preset, etas fractions, seeds,
        steps and held-out images in range; a bad one is a ConfigError naming it."""
        from hil.errors import ConfigError
        from simulators.presets import check_fraction

        for w in self.widths:
            try:
                hall_bar_preset(w)
            except ValueError as err:
                raise ConfigError("widths", str(err)) from None
        for e in self.etas:
            try:
                check_fraction("etas", e)
            except ValueError as err:
                raise ConfigError("etas", str(err)) from None
        for name, value, top in (("seeds", self.seeds, 1000), ("max_steps", self.max_steps, 1000),
                                 ("test_images", self.test_images, 10000)):
            if not 1 <= value <= top:
                raise ConfigError(name, f"{value} is outside the allowed range [1, {top}]")
        return self


def held_out(options: CodesignOptions) -> tuple[np.ndarray, np.ndarray]:
    """The first ``test_images`` held-out images, classes interleaved (0, 1, ..., 9, 0, ...)."""
    digits = load_digits(options.data)
    by_class = [np.flatnonzero(digits.test_y == c) for c in range(10)]
    per_class = min(len(i) for i in by_class)
    pick = np.stack([i[:per_class] for i in by_class], 1).ravel()[: options.test_images]
    return digits.test_x[pick], digits.test_y[pick]


def stored_weights(store, run_id: int) -> bytes:
    """The trained weights of run ``run_id``, refused by field name when it holds none."""
    checkpoint = store.latest_checkpoint(run_id)
    if checkpoint is None:
        from hil.errors import ConfigError

        raise ConfigError("weights", f"run {run_id} holds no trained weights")
    return checkpoint[1]


def train_and_store(options: CodesignOptions, store) -> tuple[int, bytes]:
    """Train the software net once; its weights become a run of their own (kind
    ``software-weights``) that every co-design sweep names and ``--export-weights`` writes."""
    from dataclasses import asdict

    config = {"layers": LAYERS, **asdict(options.recipe), "data": options.data}
    with store.run("software-weights", config, seed=options.recipe.seed) as run:
        torch.set_num_threads(1)  # a shared 2-core machine trains faster without contention
        net = train_software(options.recipe, options.data)
        digits = load_digits(options.data)
        accuracy = software_accuracy(net, digits.test_x, digits.test_y)
        data = weights_bytes(net)
        run.save_checkpoint(0, data)
        run.result = {"software_accuracy": accuracy, "held_out_images": len(digits.test_y)}
    return run.id, data


def codesign_sweep(options: CodesignOptions, weights_run: int, weights: bytes):
    """The co-design grid (width x eta x temperature x seeds, paper 002 Fig. 3c-d, S8-S9) with
    its recorded settings, ready for ``run_grid``."""
    from hil.grids import Grid

    images, labels = held_out(options)
    settings = {"widths": list(options.widths), "etas": list(options.etas),
                "seeds": options.seeds, "max_steps": options.max_steps,
                "test_images": len(labels), "weights_run": weights_run, "data": options.data,
                "calibration": "nominal", "layers": LAYERS}
    points = grid(options.widths, options.etas, options.seeds, options.max_steps)
    return Grid("codesign", deploy_point, settings, points,
                 {"weights": weights, "images": images, "labels": labels})


def summarise(rows: list[dict[str, Any]], column: str) -> dict[tuple[float, float], tuple]:
    """(width, eta) -> (mean, standard error over seeds, n) of one column."""
    groups: dict[tuple[float, float], list[float]] = {}
    for r in rows:
        groups.setdefault((r["width"], r["eta"]), []).append(float(r[column]))
    out = {}
    for key, values in groups.items():
        v = np.asarray(values)
        se = float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
        out[key] = (float(v.mean()), se, len(v))
    return out

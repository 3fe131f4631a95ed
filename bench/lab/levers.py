"""Accuracy against lab hours for a 784-N-10 network whose every neuron is a device of the
chip: the levers on lab time (time steps T per activation, training images per epoch,
epochs, images per batch), each setting trained on the model bank (paper 002's Hall bars,
eta 0.25) and priced on the lab by the trainer's own estimate (``Trainer.price``: every
switch call of the run dry-played on a virtual twin of the rig, its bus, line frequency and
the instruments' timing tables, hardware-timed; one device call per neuron and batch).

The setting to run on the lab is picked on the validation images (never the held-out
ones): the cheapest whose validation accuracy is within ``--tolerance`` of the best.

    python bench/lab/levers.py --hidden 80 --steps 2,3,5 --per-class 100,200 --epochs 3,5
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from hil import TrainConfig, Trainer
from hil.learn.train import build_banks
from protocols.fitting import wilson_interval
from protocols.store import RunStore


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hidden", type=int, default=80)
    p.add_argument("--steps", type=_ints, default=[2, 3, 5])
    p.add_argument("--per-class", type=_ints, default=[100, 200])
    p.add_argument("--epochs", type=_ints, default=[3, 5])
    p.add_argument("--batch-size", type=_ints, default=[50])
    p.add_argument("--lr", type=float, default=0.25)
    p.add_argument("--test-per-class", type=int, default=50)
    p.add_argument("--validation-per-class", type=int, default=20)
    p.add_argument("--tolerance", type=float, default=0.02)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write every point here")
    p.add_argument("--plot", help="accuracy against lab hours (PNG)")
    p.add_argument("--replot", metavar="JSON", help="only draw --plot from an earlier --json")
    args = p.parse_args()
    if args.replot:
        saved = json.loads(Path(args.replot).read_text())
        plot(saved["points"], saved["picked"], args.plot, saved.get("lab_runs"))
        return

    shared = dict(hidden=[args.hidden], classes=None, lr=args.lr, compare=False,
                  test_per_class=args.test_per_class,
                  validation_per_class=args.validation_per_class, seed=args.seed)
    devices = args.hidden + 10
    lab = TrainConfig.for_backend("lab", chip=max(96, devices), timing="hardware", **shared)
    banks = build_banks(lab.validate())
    points = []
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as folder:
            store = RunStore(Path(folder) / "levers.sqlite")
            for steps, per_class, epochs, batch in itertools.product(
                    args.steps, args.per_class, args.epochs, args.batch_size):
                lever = dict(steps=steps, train_per_class=per_class, epochs=epochs,
                             batch_size=batch)
                priced = Trainer(TrainConfig.for_backend(
                    "lab", chip=max(96, devices), timing="hardware", **shared, **lever))
                seconds = priced.price(banks)
                model = Trainer(TrainConfig.for_backend("model", **shared, **lever))
                result = model.run(store)
                n = len(result.hil.labels)
                low, high = wilson_interval(np.array([round(result.hil.accuracy * n)]), n)
                point = {**lever, "lab_hours": seconds / 3600,
                         "validation": result.validation["val_accuracy"][-1],
                         "held_out": result.hil.accuracy,
                         "held_out_ci95": [float(low[0]), float(high[0])]}
                points.append(point)
                print(f"T={steps:3d} {per_class:4d}/class {epochs:2d} epochs batch {batch:3d}: "
                      f"{point['lab_hours']:6.2f} lab h, validation {point['validation']:.3f},"
                      f" held-out {point['held_out']:.3f} [{point['held_out_ci95'][0]:.3f}, "
                      f"{point['held_out_ci95'][1]:.3f}]", flush=True)
    finally:
        for bank in banks:
            bank.close()
    best = max(p["validation"] for p in points)
    picked = min((p for p in points if p["validation"] >= best - args.tolerance),
                 key=lambda p: p["lab_hours"])
    print(f"picked on validation (within {args.tolerance:.2f} of the best {best:.3f}, "
          f"cheapest): {json.dumps(picked)}")
    print(f"{len(points)} settings, {time.perf_counter() - started:.0f} s wall; "
          f"{devices} devices (784-{args.hidden}-10), model bank eta 0.25, seed {args.seed}")
    if args.json:
        Path(args.json).write_text(json.dumps({"points": points, "picked": picked}, indent=1))
    if args.plot:
        plot(points, picked, args.plot)


def plot(points: list[dict], picked: dict, path: str, lab_runs: list[dict] | None = None) -> None:
    """Held-out accuracy (95 % interval) against priced lab hours, one colour per T; the
    setting picked on validation ringed; runs on the lab (``lab_runs``: lab_hours, held_out,
    held_out_ci95, label, as the lab's clock and the run's record say) in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for steps in sorted({p["steps"] for p in points}):
        mine = sorted((p for p in points if p["steps"] == steps), key=lambda p: p["lab_hours"])
        hours = [p["lab_hours"] for p in mine]
        acc = np.array([p["held_out"] for p in mine])
        ci = np.array([p["held_out_ci95"] for p in mine])
        ax.errorbar(hours, acc * 100, yerr=[(acc - ci[:, 0]) * 100, (ci[:, 1] - acc) * 100],
                    fmt="o", capsize=2, label=f"T = {steps} (model bank)")
    ax.plot([picked["lab_hours"]], [picked["held_out"] * 100], "o", ms=14, mfc="none",
            mec="k", label="picked on validation")
    for run, marker in zip(lab_runs or [], "*Ds^", strict=False):  # up to four runs
        low, high = run["held_out_ci95"]
        at = run["held_out"]
        ax.errorbar([run["lab_hours"]], [at * 100], yerr=[[(at - low) * 100], [(high - at) * 100]],
                    fmt=marker, ms=12, color="crimson", capsize=3, label=run["label"])
    ax.axhline(85, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("lab hours (priced on the rig's timing, hardware-timed)")
    ax.set_ylabel("held-out accuracy, 10 classes (%)")
    ax.set_title("784-80-10, every neuron a device (90 devices)")
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()

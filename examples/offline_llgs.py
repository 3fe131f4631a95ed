"""An offline dry run on the LLGS: the whole HIL loop with stochastic LLGS macrospins as the
neurons (papers 000 and 002), before any instrument is booked.

    python examples/offline_llgs.py            # digits 0/2/4/6, 10 epochs
    python examples/offline_llgs.py --short    # two digits, one epoch (CI)
"""

from __future__ import annotations

import argparse

import hil


def main(argv: list[str] | None = None) -> hil.TrainResult:
    parser = argparse.ArgumentParser(description="HIL training on LLGS macrospins")
    parser.add_argument("--preset", default="mtj-000", help="macrospin preset")
    parser.add_argument("--store", help="run store (default: the user's)")
    parser.add_argument("--short", action="store_true", help="one small epoch (CI)")
    args = parser.parse_args(argv)
    if args.short:
        sizes = {"classes": [0, 2], "train_per_class": 2, "test_per_class": 2, "steps": 5,
                 "epochs": 1, "pulse_width": 5e-9}  # 1,000 integration steps a pulse
    else:
        sizes = {"classes": [0, 2, 4, 6], "train_per_class": 8, "test_per_class": 20,
                 "steps": 20, "epochs": 10}
    result = hil.train(args.store, backend="llgs", preset=args.preset, compare=False,
                       optimizer="adam", lr=0.01, **sizes)
    print(f"run {result.run_id}: LLGS {args.preset}, held-out accuracy "
          f"{result.hil.accuracy:.1%}, loss {result.loss_history[0]:.3f} -> "
          f"{result.loss_history[-1]:.3f}")
    return result


if __name__ == "__main__":
    main()

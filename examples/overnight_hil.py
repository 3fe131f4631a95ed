"""An overnight HIL session with checkpoints: kill it at any time, run it again, and it goes
on from the last finished epoch to the result an uninterrupted run would have reached (on
the virtual lab and simulated devices exactly, loss for loss; on real instruments the same
experiment, not the same numbers: real devices' thermal switching cannot be replayed).

    python examples/overnight_hil.py --store night.sqlite            # devices of the virtual lab
    python examples/overnight_hil.py --store night.sqlite --lab mylab.toml
    python examples/overnight_hil.py --store night.sqlite --short    # simulated bars (CI)

Every epoch stores its metrics and a checkpoint (weights, optimiser, schedule, every random
state, the virtual devices' state) in the run store; a second start finds the unfinished run
of the same configuration and resumes it (never one another process is still recording).
Ctrl-C (or SIGTERM while the lab is open) stops it with one line: the run kept, and the
outputs' state as the instruments confirmed it. The trained weights are exported at the
end (``.pt`` and ``.npz``).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

import hil
from instruments import outputs


def config(args: argparse.Namespace) -> hil.TrainConfig:
    if args.short:  # simulated Hall bars: the same checkpoints, in seconds
        return hil.TrainConfig(backend="model", classes=[0, 2, 4, 6], train_per_class=20,
                               test_per_class=20, steps=20, epochs=args.epochs or 8,
                               optimizer="adam", lr=0.01, scheduler="cosine",
                               validation_per_class=5, compare=False)
    return hil.TrainConfig(backend="lab", lab=args.lab, classes=[0, 2, 4, 6],
                           train_per_class=4, test_per_class=5, steps=100,
                           epochs=args.epochs or 20, calibration="device",
                           validation_per_class=2)


def unfinished(store: hil.RunStore, wanted: hil.TrainConfig) -> int | None:
    """The newest killed run of this configuration, if any (a run still being recorded by
    another process reads ``running`` and is left to it)."""
    for run in reversed(store.list_runs()):
        if run.kind == "train" and run.status in ("interrupted", "failed", "aborted") and \
                run.config == wanted.to_dict():
            return run.id
    return None


def main(argv: list[str] | None = None) -> hil.TrainResult | int:
    parser = argparse.ArgumentParser(description="a resumable HIL training session")
    parser.add_argument("--store", required=True, help="run store (SQLite file)")
    parser.add_argument("--lab", help="lab file (default: the virtual lab)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--short", action="store_true", help="simulated bars (CI)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    store = hil.RunStore(args.store)
    cfg = config(args)
    resume = unfinished(store, cfg)
    print(f"resuming run {resume}" if resume is not None else "starting a new run", flush=True)
    progress = (lambda stage, done, total, metrics:  # noqa: E731
                print(f"{stage} {done}/{total} {metrics}", flush=True))
    try:
        result = hil.Trainer(cfg, progress).run(store, resume_id=resume)
    except KeyboardInterrupt as err:  # Ctrl-C, or a stop signal while the lab was open
        signum = getattr(err, "signum", signal.SIGINT)
        state = outputs.summary()
        print(f"stopped by {signal.Signals(signum).name}: run {err.run_id} is kept; run this "
              "again to go on from its last epoch" + (f"; {state}" if state else ""),
              file=sys.stderr)
        return 128 + signum
    pt, npz = hil.export_weights(store, result.run_id, Path(args.store).with_suffix(".weights"))
    print(f"run {result.run_id}: held-out accuracy {result.hil.accuracy:.1%}; weights {pt}, "
          f"{npz}")
    return result


if __name__ == "__main__":
    outcome = main()
    sys.exit(outcome if isinstance(outcome, int) else 0)

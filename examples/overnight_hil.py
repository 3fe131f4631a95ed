"""An overnight HIL session with checkpoints: kill it at any time, run it again, and it goes
on from the last finished epoch to the result an uninterrupted run would have reached.

    python examples/overnight_hil.py --store night.sqlite            # devices of the virtual lab
    python examples/overnight_hil.py --store night.sqlite --lab mylab.toml
    python examples/overnight_hil.py --store night.sqlite --short    # simulated bars (CI)

Every epoch stores its metrics and a checkpoint (weights, optimiser, schedule, every random
state) in the run store; a second start finds the unfinished run of the same configuration
and resumes it. The trained weights are exported at the end (``.pt`` and ``.npz``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import hil


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
    """The newest killed run of this configuration, if any."""
    for run in reversed(store.list_runs()):
        if run.kind == "train" and run.status != "finished" and \
                run.config == wanted.to_dict():
            return run.id
    return None


def main(argv: list[str] | None = None) -> hil.TrainResult:
    parser = argparse.ArgumentParser(description="a resumable HIL training session")
    parser.add_argument("--store", required=True, help="run store (SQLite file)")
    parser.add_argument("--lab", help="lab file (default: the virtual lab)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--short", action="store_true", help="simulated bars (CI)")
    args = parser.parse_args(argv)
    store = hil.RunStore(args.store)
    cfg = config(args)
    resume = unfinished(store, cfg)
    print(f"resuming run {resume}" if resume is not None else "starting a new run", flush=True)
    progress = (lambda stage, done, total, metrics:  # noqa: E731
                print(f"{stage} {done}/{total} {metrics}", flush=True))
    result = hil.Trainer(cfg, progress).run(store, resume_id=resume)
    pt, npz = hil.export_weights(store, result.run_id, Path(args.store).with_suffix(".weights"))
    print(f"run {result.run_id}: held-out accuracy {result.hil.accuracy:.1%}; weights {pt}, "
          f"{npz}")
    return result


if __name__ == "__main__":
    main()

"""Lab-time estimates against the time taken: a training run on instruments named by a lab
file (a virtual lab served in this process and reached through the file like a rig: the
run cannot read its clock, so the estimate before the first epoch is priced on a virtual
twin of the rig's bus and line frequency) and a sweep that searches its own current range
(estimated after its first batch, the search included).

    python bench/lab/lab_time.py [--epochs 20] [--iterations 100] [--no-sweeps] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
from pathlib import Path

from hil.cli import main as hil
from hil.cli.lab import lab_file_text
from hil.learn.train import Trainer, lab_seconds
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.server import VirtualLab


def _run(args: list[str]) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert hil(args) == 0
    return json.loads(out.getvalue().strip().splitlines()[-1]), err.getvalue()


def lab_file_training(epochs: int, folder: Path) -> dict:
    """The lab s the estimate gave for the epochs and the evaluation, the lab s they took,
    what the run printed and what it recorded."""
    served = VirtualLab(build_chip(2, 0.5e-6, 3), LabClock(line_frequency=60.0),
                        units=17).start()

    class Options:
        devices, width, seed = 2, "0.5um", 3

    path = folder / "rig.toml"
    path.write_text(lab_file_text(served.resources, Options))
    marks = {}
    announce = Trainer._estimate_before_the_epochs

    def estimate(self, banks, first):
        marks["served"], marks["run"] = served.clock.now(), lab_seconds(banks)
        announce(self, banks, first)

    Trainer._estimate_before_the_epochs = estimate
    try:
        payload, printed = _run(["train", "--backend", "lab", "--lab", str(path), "--classes",
                                 "0,2", "--train-per-class", "2", "--steps", "10", "--epochs",
                                 str(epochs), "--json", "--no-progress", "--seed", "3"])
        from protocols.store import RunStore

        return {"said": payload["lab_seconds_estimate"] - marks["run"],
                "taken": served.clock.now() - marks["served"], "printed": printed,
                "recorded": RunStore().get_run(payload["run_id"]).result,
                "estimate": payload["lab_seconds_estimate"]}
    finally:
        Trainer._estimate_before_the_epochs = announce
        served.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--no-sweeps", action="store_true")
    parser.add_argument("--json", action="store_true", help="one JSON line")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        import os

        os.environ["SPINHIL_HOME"] = folder
        found = {"training": lab_file_training(args.epochs, Path(folder)), "sweeps": []}
        for timing in () if args.no_sweeps else ("hardware", "software"):
            iterations = args.iterations if timing == "hardware" else 10
            sweep, _ = _run(["characterise", "sweep", "--devices", "2", "--seed", "7",
                             "--json", "--iterations", str(iterations), "--timing", timing])
            found["sweeps"].append({"timing": timing, "iterations": iterations,
                                    "said": sweep["lab_seconds_estimate"],
                                    "taken": sweep["lab_seconds"]})
    if args.json:
        print(json.dumps(found))
        return
    said, taken = found["training"]["said"], found["training"]["taken"]
    print(f"lab-file training ({args.epochs} epochs, served lab at 60 Hz): estimated "
          f"{said:.2f} lab s, took {taken:.2f} s ({said / taken - 1:+.1%})")
    for sweep in found["sweeps"]:
        print(f"range-searching sweep ({sweep['timing']}, {sweep['iterations']} cycles per "
              f"current): estimated {sweep['said']:.2f} lab s, took {sweep['taken']:.2f} s "
              f"({sweep['said'] / sweep['taken'] - 1:+.1%})")


if __name__ == "__main__":
    main()

"""A sweep and paper 002's HIL training on benches of emulated units drawn across the data
sheets' spread (simulators/lab/units.py), alternating 50 and 60 Hz mains: does every run
complete, was every verdict read in its own cycle (simulators/lab/oracle.py: the reading
it came from followed its own write pulse and no other, and says the state that write
left), what does a cycle cost against its floor, how close was the lab-time estimate?

Per bench: a sweep that searches its own current range (100 cycles per current, the
one-current route), then training (paper 002's Fig. 4 experiment: digits 0/2/4/6, four
bars, 4 training images per class, 100 steps; ``--epochs`` epochs; one held-out image per
class, as the paper) on the burst route. Floors: the one-current route's cycle is at
least the unit's external-trigger interval, the burst's one reading period of the unit
(bench/lab/lab_protocol.py).

    python bench/lab/spread.py [--draws 20] [--epochs 20] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import time

from hil.banks.calibration import nominal_calibration
from hil.banks.lab import LabBank
from hil.learn.config import TrainConfig
from hil.learn.train import Trainer
from hil.session.lab import connect_virtual
from protocols.cycle import FAST_NPLC, CycleSettings, ResetWriteRead
from protocols.plan import run_plan
from protocols.store import RunStore
from protocols.sweep import sweep_device
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.oracle import Oracle
from simulators.lab.server import VirtualLab
from simulators.presets import hall_bar_preset

FAST = CycleSettings(read_nplc=FAST_NPLC, autozero=False)


def bench(units: int, hertz: float, devices: int) -> tuple[VirtualLab, Oracle]:
    virtual = VirtualLab(build_chip(devices, 0.5e-6, units), LabClock(line_frequency=hertz),
                         units=units).start()
    return virtual, Oracle(virtual)


@contextlib.contextmanager
def verdicts_kept(virtual: VirtualLab):
    """device -> every cycle reading a protocol returned for it on ``virtual``, in order
    (not those of a lab-time pricing's own virtual twin)."""
    kept: dict[int, list] = {}
    batches = ResetWriteRead.batches

    def recorded(self, currents):
        for batch in batches(self, currents):
            if getattr(self.lab, "virtual_lab", None) is virtual:
                kept.setdefault(self.device, []).extend(batch)
            yield batch

    ResetWriteRead.batches = recorded
    try:
        yield kept
    finally:
        ResetWriteRead.batches = batches


def wrong(oracle: Oracle, kept: dict[int, list]) -> int:
    return sum(oracle.wrong(device, verdicts, FAST.read_current)
               for device, verdicts in kept.items())


def sweep(units: int, hertz: float, iterations: int) -> dict:
    """A range-searching sweep of device 0 (the search's cycles checked too)."""
    virtual, oracle = bench(units, hertz, 1)
    with connect_virtual(lab=virtual) as lab, verdicts_kept(virtual) as kept:
        rwr = ResetWriteRead(lab, FAST, timing="hardware")
        rwr.calibrate()
        start = virtual.clock.now()
        result = run_plan(sweep_device(rwr, 0, None, iterations))
        seconds = virtual.clock.now() - start
    cycles = sum(map(len, kept.values()))
    meter = virtual.instruments["voltmeter"].times
    return {"completed": True, "mismatches": wrong(oracle, kept), "cycles": cycles,
            "per_cycle": seconds / cycles, "floor": meter.external_interval(),
            "refused": rwr.missed_batches, "repeated": rwr.repeats,
            "usable": bool(result.grade.usable)}


def train(units: int, hertz: float, epochs: int, images: int, steps: int) -> dict:
    """Paper 002's training on four bars of the bench, every verdict checked."""
    config = TrainConfig(backend="lab", epochs=epochs, test_per_class=1, seed=units,
                         classes=[0, 2, 4, 6], train_per_class=images, steps=steps)
    virtual, oracle = bench(units, hertz, 4)
    bank = LabBank(connect_virtual(lab=virtual), [0, 1, 2, 3],
                   [nominal_calibration(hall_bar_preset(0.5e-6))] * 4)
    trainer = Trainer(config, banks=[bank])
    start = virtual.clock.now()
    with verdicts_kept(virtual) as kept:
        try:
            result = trainer.run(RunStore(":memory:"))
            record = bank.lab_record()
        finally:
            bank.close()
    cycles = sum(map(len, kept.values()))
    meter = virtual.instruments["voltmeter"].times
    true_period = meter.reading(FAST_NPLC, False) / (1 + virtual.units["pulse"].timebase)
    return {"completed": result.epochs_run == epochs, "epochs": result.epochs_run,
            "mismatches": wrong(oracle, kept), "cycles": cycles,
            "per_cycle": (virtual.clock.now() - start) / cycles,
            "floor": meter.reading(FAST_NPLC, False),
            "estimate": trainer.lab_seconds_estimate, "lab_seconds": bank.lab_seconds,
            "period_error": record["burst"]["reading_period"] - true_period,
            "refused": sum(r.missed_batches for r in bank._cycles.values()),
            "repeated": sum(r.repeats for r in bank._cycles.values()),
            "pulses": record["pulses"], "loss": result.loss_history[-1]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--first", type=int, default=0, help="the first bench's seed")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--images", type=int, default=4, help="training images per class")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--iterations", type=int, default=100, help="sweep cycles/current")
    parser.add_argument("--json", action="store_true", help="one JSON line: every bench")
    args = parser.parse_args()
    rows = []
    for units in range(args.first, args.first + args.draws):
        hertz = 60.0 if units % 2 else 50.0
        began = time.perf_counter()
        rows.append({"units": units, "hertz": hertz,
                     "sweep": sweep(units, hertz, args.iterations),
                     "train": train(units, hertz, args.epochs, args.images, args.steps),
                     "wall": time.perf_counter() - began})
        if not args.json:
            _print(rows[-1])
    if args.json:
        print(json.dumps(rows))
        return
    for route in ("sweep", "train"):
        ratio = [r[route]["per_cycle"] / r[route]["floor"] for r in rows]
        print(f"{route}: {sum(r[route]['completed'] for r in rows)}/{len(rows)} completed, "
              f"{sum(r[route]['mismatches'] for r in rows)} verdicts against the wrong "
              f"cycle, {sum(r[route]['refused'] for r in rows)} batches refused; x floor "
              f"{min(ratio):.2f}/{statistics.median(ratio):.2f}/{max(ratio):.2f}")
    errors = [abs(r["train"]["estimate"] / r["train"]["lab_seconds"] - 1) for r in rows]
    print(f"training lab-time estimate before epoch 1: within {max(errors):.1%} "
          f"(median {statistics.median(errors):.1%})")


def _print(row: dict) -> None:
    s, t = row["sweep"], row["train"]
    print(f"bench {row['units']:>2} {row['hertz']:g} Hz: sweep {s['cycles']} cycles "
          f"{s['per_cycle'] * 1e3:.3f} ms/cycle (floor {s['floor'] * 1e3:.3f}) wrong "
          f"{s['mismatches']} refused {s['refused']}; training {t['epochs']} epochs "
          f"{t['cycles']} cycles {t['per_cycle'] * 1e3:.3f} ms/cycle (floor "
          f"{t['floor'] * 1e3:.3f}) wrong {t['mismatches']} refused {t['refused']}, period "
          f"{t['period_error'] * 1e9:+.1f} ns, estimate {t['estimate']:.1f} s / "
          f"{t['lab_seconds']:.1f} s, pulses {sum(t['pulses'].values()):,}; "
          f"{row['wall']:.0f} s wall", flush=True)


if __name__ == "__main__":
    main()

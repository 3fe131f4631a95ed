"""A night on the virtual lab with faults on its clock: the run watches itself (suspenders,
recalibration, reconnection, spares) and keeps going, and says what happened.

Paper 002's protocol (2 s after each pulse) on four devices of an eight-device chip served on
loopback; the lab's clock runs through the night in minutes of wall time. The faults
(simulators/lab/faults.py): I_bias drift on a quarter of the chip (devices 2 and 6,
1.5 %/h), device 1 dying at 3 h, the 2000's connection dropped for 30 s at 2 h, the 6221
power-cycled at 5 h.

    python examples/overnight_faults.py --store night.sqlite --mode watched
    python examples/overnight_faults.py --store night.sqlite --mode unwatched   # no suspenders
    python examples/overnight_faults.py --store night.sqlite --mode fault-free
    python examples/overnight_faults.py --store night.sqlite --mode watched --short  # minutes

``unwatched`` keeps the reconnection (without it the dropped connection ends the run) but no
suspender: the drifting device keeps its first calibration and the dead one its place.
The last line is one JSON object: held-out accuracy, lab hours, the run's events and the
lab's own log of the faults it injected.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter

from hil.banks.lab import LabBank
from hil.learn.config import TrainConfig
from hil.learn.train import Trainer
from hil.session.lab import connect_virtual
from hil.session.session import lab_description
from hil.session.suspenders import WatchSettings, suspenders_from_mapping
from protocols.cycle import CycleSettings
from protocols.store import RunStore
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.faults import FaultSchedule
from simulators.lab.server import VirtualLab

HOUR = 3600.0
CHIP, NETWORK, SPARES, WIDTH, SEED = 8, [0, 1, 2, 3], [4, 5, 6, 7], 0.5e-6, 0


def faults(scale: float) -> dict:
    """The night's faults, their times scaled by ``scale`` (1: the full night)."""
    return {"drift": [{"devices": [2, 6], "percent_per_hour": 1.5 / scale, "at": 0.0}],
            "die": [{"device": 1, "at": 3 * HOUR * scale}],
            "drop": [{"role": "voltmeter", "at": 2 * HOUR * scale, "duration": 30.0}],
            "power_cycle": [{"role": "pulse", "at": 5 * HOUR * scale}]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="a night of HIL training with faults")
    parser.add_argument("--store", required=True)
    parser.add_argument("--mode", choices=("watched", "unwatched", "fault-free"),
                        default="watched")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=3, help="the training's seed (weights, "
                        "spike trains); the chip is the same")
    parser.add_argument("--short", action="store_true", help="a night compressed 30x")
    args = parser.parse_args(argv)
    scale = 1 / 30 if args.short else 1.0
    interval = 2.0 * scale  # paper 002 Fig. 2a: 2 s after each pulse
    schedule = FaultSchedule.from_mapping({} if args.mode == "fault-free" else faults(scale),
                                          CHIP)
    virtual = VirtualLab(build_chip(CHIP, WIDTH, SEED), LabClock.for_bus("gpib"),
                         faults=schedule).start()
    virtual.chip.pulse_floor = CycleSettings().read_current  # the chip's own pulse log
    lab = connect_virtual(lab=virtual).connect()
    description = lab_description(None, CHIP, WIDTH, SEED)
    store = RunStore(args.store)
    # the devices' first calibration: sweeps at the instruments' own pace, before the night
    fast = LabBank(lab, NETWORK, _nominal(len(NETWORK)),
                   timing="hardware", description=description)
    fast.measure_calibration(store, description)
    bank = LabBank(lab, NETWORK, list(fast.calibration), timing="software",
                   description=description,
                   settings=CycleSettings(read_nplc=0.01, autozero=False, interval=interval))
    bank.measure_calibration(store, description)  # the sweeps just recorded, not swept again
    config = TrainConfig(backend="lab", classes=[0, 2, 4, 6], train_per_class=4,
                         test_per_class=10, steps=10, epochs=args.epochs, seed=args.seed,
                         compare=False)
    trainer = Trainer(config, banks=[bank])
    if args.mode == "unwatched":
        trainer.watch = WatchSettings(suspenders=[])
    else:
        trainer.watch = suspenders_from_mapping({
            "spares": SPARES, "sweep_iterations": 30, "pause": 60.0 * scale,
            "drift": {"every": HOUR * scale}, "stuck": {"window": 200}})
    started, start_clock = time.perf_counter(), virtual.clock.seconds
    try:
        result = trainer.run(store)
        accuracy, status = result.hil.accuracy, "finished"
    except Exception as err:  # noqa: BLE001 - the night's outcome is the report
        accuracy, status = None, f"stopped: {err}"
    finally:
        wall = time.perf_counter() - started
        bank.close()
        virtual.stop()
    runs = store.list_runs()
    run = [r for r in runs if r.kind == "train"][-1]
    # every pulse the store says reached each device: the night's training run (replays
    # included) and every sweep before and in it (calibration, recalibrations, spares)
    recorded = Counter({int(d): n for d, n in bank.pulses().items()})
    for sweep in (r for r in runs if r.kind == "sweep"):
        recorded.update({int(d): n for d, n in (sweep.result or {}).get("pulses", {}).items()})
    events = store.provenance(run.id).get("events", [])
    report = {"mode": args.mode, "seed": args.seed, "status": status, "run_id": run.id,
              "hil_accuracy": accuracy, "test_images": 40, "wall_seconds": round(wall, 1),
              "lab_hours": round((virtual.clock.seconds - start_clock) / HOUR, 3),
              "devices_at_end": bank.devices, "pulses": bank.pulses(),
              # the chip's own count: the run's above plus the sweeps' (calibration before
              # the night, recalibrations and spares' sweeps in it)
              "chip_pulses": {d: int(n) for d, n in
                              enumerate(virtual.chip.pulses_received) if n},
              "recorded_pulses": {d: n for d, n in sorted(recorded.items()) if n},
              "pulses_match_the_chip": {d: n for d, n in sorted(recorded.items()) if n}
              == {d: int(n) for d, n in enumerate(virtual.chip.pulses_received) if n},
              "events": [{k: e.get(k) for k in ("lab_t", "lab_clock", "suspender", "action",
                                                "device", "role", "detail")}
                         for e in events],
              "lab_log": schedule.log()}
    print(json.dumps(report))
    return report


def _nominal(n: int):
    from hil.banks.calibration import nominal_calibration
    from simulators.presets import hall_bar_preset

    return [nominal_calibration(hall_bar_preset(WIDTH))] * n


if __name__ == "__main__":
    main()

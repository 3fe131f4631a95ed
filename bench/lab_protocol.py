"""Lab seconds per reset-write-read cycle and per epoch of paper 002's HIL experiment
(16 images x 100 steps x 4 neurons = 6,400 cycles), on the virtual lab's clock:
paper 002's protocol, our software-timed path, our hardware-timed path (a batch of cycles as
one 6221 waveform, the 2000 triggered over the trigger link into its buffer), against the
physical floor (pulse widths + read integration per cycle).

    python bench/lab_protocol.py [--batch 1000] [--latency 1e-3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from lab_cycle import SETTINGS, lab_seconds_per_cycle  # noqa: E402

from instruments.connection import Lab  # noqa: E402
from protocols.cycle import ResetWriteRead  # noqa: E402
from simulators.lab.chip import LabClock, build_chip  # noqa: E402
from simulators.lab.server import VirtualLab  # noqa: E402

EPOCH_CYCLES = 16 * 100 * 4


def hardware_seconds_per_cycle(batch: int, latency: float, one_current: bool) -> float:
    """Lab seconds per cycle of ``batch`` hardware-timed cycles, the reset check after
    the batch included: at one write current (sweeps) or a new one every cycle (training)."""
    clock = LabClock(bus_latency=latency)
    with VirtualLab(build_chip(4, 0.5e-6, 0), clock) as virtual, Lab.virtual(lab=virtual) as lab:
        rwr = ResetWriteRead(lab, timing="hardware")
        rwr.calibrate()
        currents = np.full(batch, 0.3e-3) if one_current else np.linspace(0.25e-3, 0.35e-3,
                                                                           batch)
        start = clock.seconds
        for _ in rwr.batches(currents):
            pass
        return (clock.seconds - start) / batch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=1000, help="cycles per hardware batch")
    parser.add_argument("--latency", type=float, default=1e-3)
    args = parser.parse_args()
    paper_settings, fast_settings = SETTINGS.values()
    rows = {
        "paper 002 (2 s interval, 10 PLC reads)": lab_seconds_per_cycle(paper_settings, 10,
                                                                         args.latency),
        "software-timed (one SCPI exchange per step)": lab_seconds_per_cycle(fast_settings,
                                                                             20, args.latency),
        f"hardware-timed, one current ({args.batch}-cycle batches)":
            hardware_seconds_per_cycle(args.batch, args.latency, True),
        f"hardware-timed, a current per cycle ({args.batch})":
            hardware_seconds_per_cycle(args.batch, args.latency, False),
    }
    floor = 100e-6 + 100e-6 + 0.01 / 50  # two 100 us pulses + one 0.01 PLC read (50 Hz)
    paper = next(iter(rows.values()))
    print(f"floor: {floor * 1e3:.3f} ms per cycle (pulses + read integration)")
    print(f"{'path':<48} {'per cycle':>12} {'per epoch':>12} {'x floor':>8} {'vs paper':>9}")
    for name, seconds in rows.items():
        epoch = seconds * EPOCH_CYCLES
        epoch_text = f"{epoch / 3600:.2f} h" if epoch > 3600 else f"{epoch:.1f} s"
        print(f"{name:<48} {seconds * 1e3:>9.3f} ms {epoch_text:>12} {seconds / floor:>8.1f} "
              f"{paper / seconds:>8.0f}x")
    print("hardware-timed rows include the reset check after each batch; one current: the "
          "7-point cycle repeated (sweeps, endurance); a current per cycle: 10-point cycles "
          "uploaded as one waveform, the 2000 on its 1 ms timer (training)")


if __name__ == "__main__":
    main()

"""Characterise every device of a chip and print the survey (paper 002 SI S3: a
switching-probability sweep and sigmoid fit per device; I_bias and window variation).

    python examples/characterise_chip.py                       # the virtual lab, 8 devices
    python examples/characterise_chip.py --lab mylab.toml      # real instruments
    python examples/characterise_chip.py --short               # 2 devices, 20 cycles (CI)

Every sweep is recorded in the run store (``hil runs list``); the outputs are off when the
session ends, however it ends.
"""

from __future__ import annotations

import argparse

import hil


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description="survey every device of a chip")
    parser.add_argument("--lab", help="lab file of real instruments (default: the virtual lab)")
    parser.add_argument("--devices", type=int, default=8, help="virtual lab: Hall bars")
    parser.add_argument("--iterations", type=int, default=100, help="cycles per current")
    parser.add_argument("--store", help="run store (default: the user's)")
    parser.add_argument("--short", action="store_true", help="2 devices, 20 cycles (CI)")
    args = parser.parse_args(argv)
    devices, iterations = (2, 20) if args.short else (args.devices, args.iterations)
    with hil.open_lab(args.lab, devices=devices, store=args.store) as lab:
        survey = lab.survey(iterations=iterations)
    print(f"survey run {survey.run_id}: {iterations} cycles per current")
    print(f"{'device':>6} {'I_bias (mA)':>12} {'window (mA)':>12}")
    for fit in survey.summary["fits"]:
        print(f"{fit['device']:>6} {fit['i_bias'] * 1e3:>12.4f} {fit['window'] * 1e3:>12.4f}")
    print(f"I_bias variation {survey.summary['i_bias_variation']:.1%}, window variation "
          f"{survey.summary['window_variation']:.1%}")
    return survey.summary


if __name__ == "__main__":
    main()

"""``hil simulate psw | presets``: switching-probability curves from the LLGS simulator."""

from __future__ import annotations

import argparse

import numpy as np

from hil.errors import ConfigError
from hil.units import parse_field


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("simulate", help="LLGS macrospin simulations")
    sub = p.add_subparsers(dest="simulate_command", required=True, metavar="ACTION")
    presets = sub.add_parser("presets", help="list the device presets")
    presets.add_argument("--json", action="store_true")
    presets.set_defaults(handler=list_presets)
    psw = sub.add_parser("psw", help="switching probability vs current, with a sigmoid fit")
    psw.add_argument("--preset", required=True)
    psw.add_argument("--pulse-width", default="30ns")
    psw.add_argument("--currents", default=None,
                     help="START:STOP:N, e.g. 5uA:25uA:21 (default: 0.2-1.5 I_c0, 21 points)")
    psw.add_argument("--trials", type=int, default=100)
    psw.add_argument("--dt", default="5ps")
    psw.add_argument("--gate-voltage", default="0V", help="VCMA gate voltage, e.g. 0.2V")
    psw.add_argument("--seed", type=int, default=0)
    psw.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    psw.add_argument("--json", action="store_true")
    psw.set_defaults(handler=run_psw)


def parse_current_range(text: str) -> np.ndarray:
    parts = text.split(":")
    if len(parts) != 3:
        raise ConfigError("currents", f"{text!r} is not START:STOP:N (e.g. 5uA:25uA:21)")
    start = parse_field("currents", parts[0], "A", "uA")
    stop = parse_field("currents", parts[1], "A", "uA")
    try:
        n = int(parts[2])
    except ValueError:
        raise ConfigError("currents", f"N = {parts[2]!r} is not a whole number") from None
    if not 3 <= n <= 10000:
        raise ConfigError("currents", f"N = {n} is outside the allowed range [3, 10000]")
    return np.linspace(start, stop, n)


def list_presets(args: argparse.Namespace) -> int:
    from hil.cli import print_json_line
    from simulators.macrospin import PRESETS

    rows = []
    for name, device in PRESETS.items():
        rows.append({"name": name, "barrier_kT": device.barrier(), "h_k": device.h_k(),
                     "i_c0": device.critical_current(), "torque": device.torque,
                     "description": device.description})
    if args.json:
        print_json_line({"presets": rows})
        return 0
    print(f"{'preset':<15} {'torque':<6} {'Delta (kT)':>10} {'H_k (T)':>8} "
          f"{'I_c0 (uA)':>10}  about")
    for r in rows:
        print(f"{r['name']:<15} {r['torque']:<6} {r['barrier_kT']:>10.1f} {r['h_k']:>8.3f} "
              f"{r['i_c0'] * 1e6:>10.2f}  {r['description']}")
    return 0


def run_psw(args: argparse.Namespace) -> int:
    from hil.cli import print_json_line
    from protocols.fitting import fit_sigmoid, wilson_interval
    from simulators.llgs import simulate_psw
    from simulators.macrospin import macrospin_preset

    try:
        device = macrospin_preset(args.preset)
    except ValueError as err:
        raise ConfigError("preset", str(err).split(": ", 1)[-1]) from None
    width = parse_field("pulse_width", args.pulse_width, "s", "ns")
    dt = parse_field("dt", args.dt, "s", "ps")
    gate = parse_field("gate_voltage", args.gate_voltage, "V", "V")
    currents = (parse_current_range(args.currents) if args.currents
                else device.critical_current() * np.linspace(0.2, 1.5, 21))
    if args.trials <= 0:
        raise ConfigError("trials", f"{args.trials} is outside the allowed range [1, inf)")
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("device", "cuda was asked for but torch sees no CUDA device")
    try:
        curve = simulate_psw(device, currents, width, args.trials, dt, args.seed, args.device,
                             gate)
    except ValueError as err:
        field = str(err).split(" ", 1)[0]
        raise ConfigError(field if field in ("dt", "pulse_width", "trials") else "input",
                          str(err)) from None
    fit = fit_sigmoid(curve.currents, curve.p_switch, args.trials)
    low, high = wilson_interval(curve.counts, args.trials)
    print(f"{device.name}: {width * 1e9:g} ns pulses, {args.trials} trials per current, "
          f"dt = {dt * 1e12:g} ps, {curve.seconds:.2f} s "
          f"({curve.junction_steps_per_s:.3g} junction-steps/s)")
    print(f"{'I (uA)':>9} {'P_sw':>6} {'95% CI':>15}")
    for i, p, lo, hi in zip(curve.currents, curve.p_switch, low, high, strict=True):
        print(f"{i * 1e6:>9.3f} {p:>6.2f} [{lo:.2f}, {hi:.2f}]")
    print(f"fit: I_bias = {fit.i_bias * 1e6:.3f} +- {fit.i_bias_err * 1e6:.3f} uA, "
          f"I0 = {fit.i0 * 1e6:.3f} +- {fit.i0_err * 1e6:.3f} uA, "
          f"k = {fit.k * 1e-6:.3f} /uA, c = {fit.c * 1e6:.3f} uA")
    if args.json:
        payload = {"preset": device.name, "pulse_width": width, "dt": dt, "trials": args.trials,
                   "currents": curve.currents.tolist(), "p_switch": curve.p_switch.tolist(),
                   "seconds": curve.seconds, "junction_steps_per_s": curve.junction_steps_per_s,
                   **fit.as_dict()}
        print_json_line(payload)
    return 0

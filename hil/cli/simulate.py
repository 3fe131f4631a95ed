"""``hil simulate psw | presets | telegraph | two-polariser``: switching-probability curves
from the LLGS simulator and the other papers' neurons."""

from __future__ import annotations

import argparse
import sys
import warnings
from contextlib import contextmanager

import numpy as np

import hil
from hil.cli.common import (
    parse_current_range,
    parse_range,
    print_json_line,
)


@contextmanager
def costs_said():
    """A long run's ``CostWarning`` printed as one line on stderr before the run starts."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", hil.CostWarning)
        shown = warnings.showwarning

        def show(message, category, *args, **kwargs):
            if issubclass(category, hil.CostWarning):
                print(f"cost: {message}", file=sys.stderr, flush=True)
            else:
                shown(message, category, *args, **kwargs)

        warnings.showwarning = show
        yield


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hil simulate`` and its actions to the parser."""
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
    psw.add_argument("--dt", default=None,
                     help="LLGS step (default: the preset's, which holds Boltzmann within 2 %%)")
    psw.add_argument("--gate-voltage", default="0V", help="VCMA gate voltage, e.g. 0.2V")
    psw.add_argument("--seed", type=int, default=0)
    psw.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                     help="auto: CUDA when present, else the CPU cores")
    psw.add_argument("--backend", default="auto", choices=["auto", "numba", "triton", "torch"],
                     help="auto: the fused kernel (numba on CPU, triton on CUDA) when the "
                     "preset's physics is in it, else the torch reference")
    psw.add_argument("--plot", help="figure path (PNG): P_sw with 95 %% bars and the fit")
    psw.add_argument("--json", action="store_true")
    psw.set_defaults(handler=run_psw)
    telegraph = sub.add_parser(
        "telegraph", help="paper 004: Neel-Brown dwell times and P(high | H) of a telegraphic "
        "preset, optionally against the LLGS")
    telegraph.add_argument("--preset", default="vcma-004")
    telegraph.add_argument("--gate-voltage", default="0V", help="bias voltage, e.g. 0.2V")
    telegraph.add_argument("--fields", default=None,
                           help="START:STOP:N perpendicular field, e.g. --fields=-2mT:2mT:9 "
                           "(default: +-4/w, 9 points)")
    telegraph.add_argument("--llgs", default=None, metavar="DURATION",
                           help="also integrate the LLGS this long per trajectory (e.g. 2us) "
                           "and compare its dwell times at zero field")
    telegraph.add_argument("--trajectories", type=int, default=200)
    telegraph.add_argument("--seed", type=int, default=0)
    telegraph.add_argument("--json", action="store_true")
    telegraph.set_defaults(handler=run_telegraph)
    two = sub.add_parser(
        "two-polariser", help="paper 003: activation <m_x> and derivative <m_z^2> of a "
        "two-polariser preset against its field-line current, with tanh and sech^2 fits")
    two.add_argument("--preset", default="mtj-003")
    two.add_argument("--currents", default=None,
                     help="START:STOP:N field-line currents, e.g. --currents=-8mA:8mA:17 "
                     "(default: +-2.5 H_k, 21 points)")
    two.add_argument("--llgs", action="store_true",
                     help="also integrate the LLGS (time averages with their errors)")
    two.add_argument("--trajectories", type=int, default=32)
    two.add_argument("--average", default="20ns", help="LLGS averaging time per trajectory")
    two.add_argument("--seed", type=int, default=0)
    two.add_argument("--json", action="store_true")
    two.set_defaults(handler=run_two_polariser)


def parse_field_range(text: str) -> np.ndarray:
    """START:STOP:N perpendicular fields (tesla), each with its unit."""
    return parse_range("fields", text, "T", "-2mT:2mT:9", fewest=2)


def list_presets(args: argparse.Namespace) -> int:
    """``hil simulate presets``: each LLGS preset with its paper, barrier and default step."""
    rows = hil.macrospin_presets()
    if args.json:
        print_json_line({"presets": rows})
        return 0
    print(f"{'preset':<15} {'paper':<5} {'torque':<6} {'Delta (kT)':>10} {'H_k (T)':>8} "
          f"{'I_c0 (uA)':>10} {'dt (ps)':>7}  about")
    for r in rows:
        print(f"{r['name']:<15} {r['paper']:<5} {r['torque']:<6} {r['barrier_kT']:>10.1f} "
              f"{r['h_k']:>8.3f} {r['i_c0'] * 1e6:>10.2f} {r['default_dt'] * 1e12:>7.3g}  "
              f"{r['description']}")
    return 0


def run_psw(args: argparse.Namespace) -> int:
    """``hil simulate psw``: ``hil.simulate_psw``'s curve, sigmoid fit and Wilson intervals,
    printed (and plotted with ``--plot``)."""
    currents = parse_current_range(args.currents) if args.currents else None
    with costs_said():
        result = hil.simulate_psw(  # the quantities as typed: the API reads their units
            args.preset, currents, args.pulse_width, args.trials, args.dt, args.seed,
            args.device, args.gate_voltage, args.backend,
            say=lambda line: print(line, file=sys.stderr, flush=True))
    curve, fit, low, high = result.curve, result.fit, result.low, result.high
    width, dt, device_name = result.pulse_width, result.dt, result.preset
    print(f"{device_name}: {width * 1e9:g} ns pulses, {args.trials} trials per current, "
          f"dt = {dt * 1e12:g} ps, {curve.seconds:.2f} s "
          f"({curve.junction_steps_per_s:.3g} junction-steps/s, {curve.backend} on "
          f"{curve.device_name})")
    print(f"{'I (uA)':>9} {'P_sw':>6} {'95% CI':>15}")
    for i, p, lo, hi in zip(curve.currents, curve.p_switch, low, high, strict=True):
        print(f"{i * 1e6:>9.3f} {p:>6.2f} [{lo:.2f}, {hi:.2f}]")
    if fit is None:
        print("fit: none (the curve steps from 0 to 1 between neighbouring currents, so I0 "
              "is not determined; add currents across the step)")
    else:
        print(f"fit: I_bias = {fit.i_bias * 1e6:.3f} +- {fit.i_bias_err * 1e6:.3f} uA, "
              f"I0 = {fit.i0 * 1e6:.3f} +- {fit.i0_err * 1e6:.3f} uA, "
              f"k = {fit.k * 1e-6:.3f} /uA, c = {fit.c * 1e6:.3f} uA")
    if args.plot:
        hil.plots.plot_psw(curve.currents, curve.p_switch, low, high, fit, args.plot,
                 f"{device_name}, {width * 1e9:g} ns pulses, {args.trials} trials")
        print(f"figure {args.plot}")
    if args.json:
        print_json_line(result.summary())
    return 0


def run_telegraph(args: argparse.Namespace) -> int:
    """Paper 004's Eqs. 3-5 for the preset at one bias, and (``--llgs``) the LLGS dwell times
    of the same device against them (``hil.simulate_telegraph``)."""
    fields = parse_field_range(args.fields) if args.fields else None
    with costs_said():
        result = hil.simulate_telegraph(args.preset, args.gate_voltage, fields, args.llgs,
                                        args.trajectories, args.seed)
    model, gate, exact = result.model, result.gate_voltage, result.weight_brown
    print(f"{result.preset} at {gate:g} V (paper {result.paper}): E_b = {model.e_b:.2f} kT, "
          f"mu0 H_k = {model.h_k * 1e3:.2f} mT, tau_0 = {model.tau0:.3g} s (Brown), "
          f"w = 4 E_b / (kT H_k) = {model.weight * 1e-3:.3f} /mT (Eq. 5; Brown's exact dwell "
          f"times: {exact * 1e-3:.3f} /mT, Eq. 5 {model.weight / exact - 1:+.1%})")
    print(f"{'H (mT)':>9} {'tau_high (s)':>13} {'tau_low (s)':>13} {'P(high)':>8}")
    for h in result.fields:
        print(f"{h * 1e3:>9.3f} {float(model.tau_high(h)):>13.4g} "
              f"{float(model.tau_low(h)):>13.4g} {float(model.p_high(h)):>8.4f}")
    if result.llgs is not None:
        record = result.llgs
        mean, err = record.mean_dwell()
        print(f"LLGS: {result.llgs_state_changes} state changes, mean dwell {mean:.4g} +- "
              f"{err:.2g} s against Neel-Brown {float(model.tau_high(0.0)):.4g} s "
              f"({mean / float(model.tau_high(0.0)) - 1:+.1%}); time high "
              f"{record.time_high_fraction:.3f}")
    if args.json:
        print_json_line(result.summary())
    return 0


def run_two_polariser(args: argparse.Namespace) -> int:
    """Paper 003's Fig. 2b-c for the preset: Boltzmann averages (and, with ``--llgs``, the
    LLGS's), each curve's fit, and the derivative's distance from sech^2
    (``hil.simulate_two_polariser``)."""
    currents = (parse_range("currents", args.currents, "A", "-8mA:8mA:17")
                if args.currents else None)
    with costs_said():
        result = hil.simulate_two_polariser(args.preset, currents, args.llgs,
                                            args.trajectories, args.average, args.seed)
    act, der, u = result.activation, result.derivative, result.reduced_fields
    print(f"{result.preset} (paper {result.paper}): H_k = {result.h_k * 1e3:.2f} mT in the "
          f"x-z plane, {result.field_per_ampere:.3g} mT/mA from the field line; "
          f"{result.source} averages")
    print(f"{'I (mA)':>8} {'H/H_k':>6} {'<m_x>':>8} {'<m_z^2>':>8} {'sech^2 fit':>10}")
    for i, x, a, d, f in zip(result.currents, u, result.mx, result.mz2, der.sech2(u),
                             strict=True):
        print(f"{i * 1e3:>8.3f} {x:>6.2f} {a:>8.4f} {d:>8.4f} {f:>10.4f}")
    print(f"activation: {act.scale:.4f} tanh({act.slope:.4f} H/H_k); derivative: "
          f"{der.scale:.4f} sech^2({der.slope:.4f} H/H_k), largest distance "
          f"{result.largest_distance:.4f}")
    if args.json:
        print_json_line(result.summary())
    return 0

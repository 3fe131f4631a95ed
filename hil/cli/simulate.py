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
from hil.errors import ConfigError
from hil.units import parse_field, refused

TWO_POLARISER_SPAN = 10.0  # |H| / H_k of `simulate two-polariser --currents`


@contextmanager
def costs_said():
    """A long run's ``CostWarning`` printed as one line on stderr before the run starts."""
    from simulators.bounds import CostWarning

    with warnings.catch_warnings():
        warnings.simplefilter("always", CostWarning)
        shown = warnings.showwarning

        def show(message, category, *args, **kwargs):
            if issubclass(category, CostWarning):
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
    from simulators.macrospin import PRESETS

    rows = []
    for name, device in PRESETS.items():
        rows.append({"name": name, "paper": device.paper, "barrier_kT": device.barrier(),
                     "h_k": device.h_k(), "i_c0": device.critical_current(),
                     "torque": device.torque, "default_dt": device.default_dt,
                     "description": device.description})
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
        result = hil.simulate_psw(
            args.preset, currents, parse_field("pulse_width", args.pulse_width, "s", "ns"),
            args.trials, None if args.dt is None else parse_field("dt", args.dt, "s", "ps"),
            args.seed, args.device, parse_field("gate_voltage", args.gate_voltage, "V", "V"),
            args.backend, say=lambda line: print(line, file=sys.stderr, flush=True))
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
        from hil.plots import plot_psw

        plot_psw(curve.currents, curve.p_switch, low, high, fit, args.plot,
                 f"{device_name}, {width * 1e9:g} ns pulses, {args.trials} trials")
        print(f"figure {args.plot}")
    if args.json:
        print_json_line(result.summary())
    return 0


def run_telegraph(args: argparse.Namespace) -> int:
    """Paper 004's Eqs. 3-5 for the preset at one bias, and (``--llgs``) the LLGS dwell times
    of the same device against them."""
    from hil.cli.common import print_json_line
    from simulators.macrospin import macrospin_preset
    from simulators.neel_brown import NeelBrown, brown_weight

    try:
        device = macrospin_preset(args.preset)
    except ValueError as err:
        raise ConfigError("preset", str(err).split(": ", 1)[-1]) from None
    gate = parse_field("gate_voltage", args.gate_voltage, "V", "V")
    if not device.h_k(gate) > 0:
        raise ConfigError("gate_voltage", f"{gate:g} V leaves {device.name} without a "
                          "perpendicular easy axis; allowed range: H_k(V) > 0")
    model = NeelBrown.for_device(device, gate)
    default_fields = np.linspace(-4, 4, 9) / model.weight  # +-4 units of the sigmoid
    fields = parse_field_range(args.fields) if args.fields else default_fields
    if np.abs(fields).max() > model.h_k:
        raise ConfigError("fields", f"{np.abs(fields).max() * 1e3:g} mT is outside the "
                          f"allowed range [-{model.h_k * 1e3:.4g}, {model.h_k * 1e3:.4g}] mT "
                          "(|H| <= H_k: Eqs. 3-4 need both states)")
    exact = brown_weight(device, gate)
    print(f"{device.name} at {gate:g} V (paper {device.paper}): E_b = {model.e_b:.2f} kT, "
          f"mu0 H_k = {model.h_k * 1e3:.2f} mT, tau_0 = {model.tau0:.3g} s (Brown), "
          f"w = 4 E_b / (kT H_k) = {model.weight * 1e-3:.3f} /mT (Eq. 5; Brown's exact dwell "
          f"times: {exact * 1e-3:.3f} /mT, Eq. 5 {model.weight / exact - 1:+.1%})")
    print(f"{'H (mT)':>9} {'tau_high (s)':>13} {'tau_low (s)':>13} {'P(high)':>8}")
    for h in fields:
        print(f"{h * 1e3:>9.3f} {float(model.tau_high(h)):>13.4g} "
              f"{float(model.tau_low(h)):>13.4g} {float(model.p_high(h)):>8.4f}")
    payload = {"preset": device.name, "gate_voltage": gate, "e_b_kT": model.e_b,
               "h_k": model.h_k, "tau0": model.tau0, "weight": model.weight,
               "weight_brown": exact,
               "fields": fields.tolist(), "p_high": model.p_high(fields).tolist()}
    if args.llgs:
        from simulators.telegraph import simulate_telegraph

        duration = parse_field("llgs", args.llgs, "s", "us")
        try:
            with costs_said():
                record = simulate_telegraph(device, duration, args.trajectories,
                                            gate_voltage=gate, seed=args.seed)
        except ValueError as err:
            raise refused(err, {"duration": "llgs"}) from None
        exits = record.exits_high + record.exits_low
        if exits < 2:
            raise ConfigError("llgs", f"{duration:g} s showed {exits} state changes; "
                              f"the model expects one per {float(model.tau_high(0.0)):.3g} s")
        mean, err = record.mean_dwell()
        print(f"LLGS: {exits} state changes, mean dwell {mean:.4g} +- {err:.2g} s against "
              f"Neel-Brown {float(model.tau_high(0.0)):.4g} s "
              f"({mean / float(model.tau_high(0.0)) - 1:+.1%}); time high "
              f"{record.time_high_fraction:.3f}")
        payload.update({"llgs_state_changes": exits, "llgs_mean_dwell": mean,
                        "llgs_mean_dwell_err": err})
    if args.json:
        print_json_line(payload)
    return 0


def run_two_polariser(args: argparse.Namespace) -> int:
    """Paper 003's Fig. 2b-c for the preset: Boltzmann averages (and, with ``--llgs``, the
    LLGS's), each curve's fit, and the derivative's distance from sech^2."""
    from simulators.macrospin import macrospin_preset
    from simulators.two_polariser import (
        FIELD_PER_AMPERE,
        boltzmann_readout,
        fit_sech2,
        fit_tanh,
        in_plane_h_k,
        simulate_readout,
    )

    try:
        device = macrospin_preset(args.preset)
    except ValueError as err:
        raise ConfigError("preset", str(err).split(": ", 1)[-1]) from None
    c = device.field_coefficients()
    if not c[2] > c[0] > c[1]:
        raise ConfigError("preset", f"{device.name} does not hold its layer in the x-z plane "
                          "(needs c_z > c_x > c_y); allowed: mtj-003")
    h_k = in_plane_h_k(device)
    currents = (parse_range("currents", args.currents, "A", "-8mA:8mA:17")
                if args.currents else np.linspace(-2.5, 2.5, 21) * h_k / FIELD_PER_AMPERE)
    top = TWO_POLARISER_SPAN * h_k / FIELD_PER_AMPERE
    if np.abs(currents).max() > top:
        raise ConfigError("currents", f"{np.abs(currents).max() * 1e3:g} mA is outside the "
                          f"allowed range [-{top * 1e3:.4g}, {top * 1e3:.4g}] mA (|H| <= "
                          f"{TWO_POLARISER_SPAN:g} H_k: beyond it both curves are flat)")
    fields = currents * FIELD_PER_AMPERE
    u = fields / h_k
    exact = boltzmann_readout(device, fields)
    mx, mz2, mx_err, mz2_err, source = exact.mx, exact.mz2, None, None, "Boltzmann"
    if args.llgs:
        average = parse_field("average", args.average, "s", "ns")
        try:
            with costs_said():
                llgs = simulate_readout(device, fields, args.trajectories, average=average,
                                        seed=args.seed)
        except ValueError as err:
            raise refused(err) from None
        mx, mz2, mx_err, mz2_err, source = llgs.mx, llgs.mz2, llgs.mx_err, llgs.mz2_err, "LLGS"
    act, der = fit_tanh(u, mx, mx_err), fit_sech2(u, mz2, mz2_err)
    print(f"{device.name} (paper {device.paper}): H_k = {h_k * 1e3:.2f} mT in the x-z plane, "
          f"{FIELD_PER_AMPERE:.3g} mT/mA from the field line; {source} averages")
    print(f"{'I (mA)':>8} {'H/H_k':>6} {'<m_x>':>8} {'<m_z^2>':>8} {'sech^2 fit':>10}")
    for i, x, a, d, f in zip(currents, u, mx, mz2, der.sech2(u), strict=True):
        print(f"{i * 1e3:>8.3f} {x:>6.2f} {a:>8.4f} {d:>8.4f} {f:>10.4f}")
    deviation = float(np.abs(mz2 - der.sech2(u)).max())
    print(f"activation: {act.scale:.4f} tanh({act.slope:.4f} H/H_k); derivative: "
          f"{der.scale:.4f} sech^2({der.slope:.4f} H/H_k), largest distance {deviation:.4f}")
    if args.json:
        print_json_line({"preset": device.name, "source": source, "currents": currents.tolist(),
                         "mx": mx.tolist(), "mz2": mz2.tolist(),
                         "mx_err": None if mx_err is None else mx_err.tolist(),
                         "mz2_err": None if mz2_err is None else mz2_err.tolist(),
                         "tanh_scale": act.scale, "tanh_slope": act.slope,
                         "sech2_scale": der.scale, "sech2_slope": der.slope,
                         "sech2_largest_distance": deviation})
    return 0

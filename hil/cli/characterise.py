"""``hil characterise sweep``: switching-probability sweep of one device, recorded as it runs."""

from __future__ import annotations

import argparse
import sys

import numpy as np

import hil
from hil import TIMINGS, units
from hil.cli.common import (
    add_cycle_options,
    add_lab_options,
    cycle_settings,
    lab_description,
    parse_current_range,
    print_json_line,
)
from hil.cli.runs import pulse_text

UNUSABLE = 3  # exit status of a procedure that ran, was recorded, and gave no result to use


def wilson_bounds(successes: int, trials: int) -> tuple[float, float]:
    """The Wilson 95 % interval of one count, as the printed tables show it (an endurance run's
    switched fraction is a binomial estimate, not an exact number)."""
    low, high = hil.wilson_interval(np.array([successes]), trials)
    return float(low[0]), float(high[0])


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hil characterise`` and its procedures to the parser."""
    p = commands.add_parser("characterise", help="device characterisation on a lab")
    sub = p.add_subparsers(dest="characterise_command", required=True, metavar="PROCEDURE")
    sweep = sub.add_parser(
        "sweep", help="switching probability vs write current + sigmoid fit",
        description="Exit status 0: a usable sweep (its 50 %% current is the calibration); "
        f"{UNUSABLE}: the sweep is recorded but unusable (the reason is printed); 2: refused "
        "input; 1: the run stopped.")
    add_lab_options(sweep)
    sweep.add_argument("--device", type=int, default=0, help="device id (default 0)")
    sweep.add_argument("--currents", help="START:STOP:N with units, e.g. 0.25mA:0.35mA:15 "
                       "(default: found by a coarse search)")
    sweep.add_argument("--iterations", type=int, default=100, help="cycles per current")
    sweep.add_argument("--resume", type=int, metavar="RUN_ID", help="finish a killed sweep")
    sweep.add_argument("--plot", help="figure path (PNG)")
    sweep.add_argument("--json", action="store_true")
    sweep.set_defaults(handler=run_sweep)

    hyst = sub.add_parser("hysteresis", help="R_AHE around closed current loops, both "
                          "switching edges and the loop width (Fig. 2b)")
    endur = sub.add_parser("endurance", help="N cycles at one current, moving averages (S5)")
    aniso = sub.add_parser("anisotropy", help="R_AHE vs in-plane field, Eq. S2 fit (S1)")
    survey = sub.add_parser("survey", help="sweep every device: I_bias, window, variation")
    for q in (hyst, endur, aniso, survey):
        add_lab_options(q)
        q.add_argument("--json", action="store_true")
        q.add_argument("--plot", help="figure path (PNG)")
    for q in (sweep, hyst, endur, aniso, survey):
        add_cycle_options(q)
        q.add_argument("--suspenders", metavar="TOML", help="a run TOML whose [suspenders] "
                       "table says what the run watches for between its batches, as hil "
                       "train's (default: every suspender a procedure takes, on; "
                       "docs/guide/overnight.md)")
    for q in (hyst, endur, aniso):
        q.add_argument("--device", type=int, default=0, help="device id (default 0)")
    for q in (sweep, endur, survey):
        q.add_argument("--timing", choices=TIMINGS, default="auto",
                       help="auto (default): cycles timed by the instruments (6221 waveform, "
                       "2000 on the trigger link) when they allow it, else by software; the "
                       "same pulses and, on the virtual lab, the same results either way")
    hyst.add_argument("--max-current", default="0.6mA",
                      help="each loop runs -max -> +max -> -max (default 0.6mA)")
    hyst.add_argument("--points", type=int, default=30,
                      help="steps from 0 to max, 2-200 (default 30: 0.02 mA steps)")
    hyst.add_argument("--loops", type=int, default=3,
                      help="closed loops, 1-20 (default 3): the edges' loop-to-loop spread")
    hyst.set_defaults(handler=run_hysteresis)
    endur.add_argument("--current", help="write current, e.g. 0.3mA (default: the device's "
                       "50 %% current from its latest usable sweep on this lab, the "
                       "preferred switching model's own)")
    endur.add_argument("--cycles", type=int, default=10000, help="paper 002 SI S5: 10,000")
    endur.set_defaults(handler=run_endurance)
    aniso.add_argument("--max-field", help="with its unit (T, mT, Oe); keep below H_an / 3 "
                       "(Eq. S2); default 0.2 T, or the lab's field limit when lower")
    aniso.add_argument("--points", type=int, default=15)
    aniso.add_argument("--coil-constant", type=float, default=0.5, help="T per A of coil current")
    aniso.set_defaults(handler=run_anisotropy)
    survey.add_argument("--iterations", type=int, default=100)
    survey.add_argument("--network", type=int, help="devices a network needs: the usable "
                        "devices nearest the chip's median, the rest its ranked spares")
    survey.add_argument("--map", help="chip map figure path (PNG): I_bias, window, grade")
    survey.set_defaults(handler=run_survey)
    persist = sub.add_parser("persistence", help="compare two recorded sweeps of a device (S4)")
    persist.add_argument("first", type=int, help="run id of the earlier sweep")
    persist.add_argument("second", type=int, help="run id of the later sweep")
    persist.add_argument("--json", action="store_true")
    persist.set_defaults(handler=run_persistence)


def _session(args: argparse.Namespace, description: dict | None = None):
    return hil.Session(description or lab_description(args), hil.RunStore(args.store),
                       watch=_watch(args))


def _watch(args: argparse.Namespace, store=None, run_id: int | None = None):
    """The ``--suspenders`` file's table, else a resumed run's own, else None (defaults)."""
    if getattr(args, "suspenders", None):
        return hil.load_suspenders(args.suspenders)
    if store is not None and run_id is not None:
        stored = store.provenance(run_id).get("watch")
        return None if stored is None else hil.suspenders_from_mapping(stored)
    return None


def _report(args, title: str, summary: dict, lines: list[str], plot=None) -> int:
    """Print the table; ``plot(summary, path, title)`` draws ``--plot``'s figure."""
    print(title)
    for line in lines:
        print(line)
    if plot is not None and getattr(args, "plot", None):
        plot(summary, args.plot, title)
        print(f"figure {args.plot}")
    if args.json:
        print_json_line(summary)
    return 0


def _pulse_check(field: str, typed, value: float):
    """The lab's pulse-current limit, refused in the unit the user typed."""
    def check(limits) -> None:
        top = limits.max_pulse_current
        units.check_range(field, typed, value, -top, top, "A", "mA")

    return check


def run_hysteresis(args: argparse.Namespace) -> int:
    """``hil characterise hysteresis``: closed current loops, both edges and the loop width (paper
    002 Fig. 2b)."""
    top = units.parse_field("max_current", args.max_current, "A", "mA")
    cycle = cycle_settings(args)
    with _session(args) as session:
        _pulse_check("max_current", args.max_current, top)(session.lab.limits)
        result = session.hysteresis(args.device, top, args.points, cycle, args.loops)
    summary = result.summary
    unit = units.typed_unit(args.max_current, "mA")

    def shown(value: float) -> str:
        return f"{units.in_unit(value, 'A', unit):.4g}"

    rows = [f"{'I (' + unit + ')':>10}  {'R_AHE (ohm)':>11}"]
    rows += [f"{units.in_unit(i, 'A', unit):>10.4f}  {r:>11.4f}"
             for i, r in zip(summary["currents"], summary["r_ahe"], strict=True)]
    if summary["usable"]:
        rows.append(
            f"edges over {summary['loops']} loops (step {shown(summary['step'])} {unit}): "
            f"-1 -> +1 at {shown(summary['edge_up'])} +- {shown(summary['edge_up_err'])} "
            f"{unit}, +1 -> -1 at {shown(summary['edge_down'])} +- "
            f"{shown(summary['edge_down_err'])} {unit}; loop width "
            f"{shown(summary['loop_width'])} +- {shown(summary['loop_width_err'])} {unit}")
    else:
        message = f"run {result.run_id} is unusable: {summary['reason']}"
        rows.append(message)
        print(f"hil characterise hysteresis: {message}", file=sys.stderr)
    code = _report(args, f"run {result.run_id}: hysteresis of device {args.device}", summary,
                   rows, hil.plots.plot_hysteresis)
    return code if summary["usable"] else UNUSABLE


def run_endurance(args: argparse.Namespace) -> int:
    """``hil characterise endurance``: many cycles at one current (paper 002 SI S5), by default
    the device's usable 50 % current, never one taken from an unusable sweep."""
    current = (None if args.current is None
               else units.parse_field("current", args.current, "A", "mA"))
    cycle = cycle_settings(args)
    with _session(args) as session:
        if current is not None:
            _pulse_check("current", args.current, current)(session.lab.limits)
        result = session.endurance(args.device, current, args.cycles, args.timing, cycle)
    summary = result.summary
    current = result.summary.get("current", current)
    source = summary["current_from_sweep"]
    lines = []
    if source is not None:
        sweep = hil.RunStore(args.store).get_run(source).result
        model = sweep.get("model", "logistic (I_bias)")
        print(f"current: the 50 % current of sweep {source} ({model}), {current * 1e3:.4f} "
              f"+- {sweep.get('i_50_err', sweep['i_bias_err']) * 1e3:.4f} mA")
    unit = units.typed_unit(args.current, "mA")
    low, high = wilson_bounds(summary["switches"], summary["cycles"])
    lines.append(f"{summary['switches']} switches in {summary['cycles']} cycles at "
                 f"{units.in_unit(current, 'A', unit):.6g} {unit} (P = {summary['p_switch']:.4f}, "
                 f"95 % CI [{low:.4f}, {high:.4f}])")
    if source is not None and "slope_at_50" in sweep:
        expected = hil.fifty_interval(summary["cycles"], sweep["slope_at_50"], sweep["i_50_err"])
        inside = expected[0] <= summary["p_switch"] <= expected[1]
        summary["expected_at_50"] = list(expected)
        lines.append(f"at a 50 % current known to +-{sweep['i_50_err'] * 1e6:.2f} uA, "
                     f"{summary['cycles']} cycles switch P = 0.5 within [{expected[0]:.4f}, "
                     f"{expected[1]:.4f}] (95 %): "
                     + ("consistent" if inside else "NOT consistent with the sweep"))
    plotted = dict(summary)
    summary.pop("moving_averages") if not args.json else None
    return _report(args, f"run {result.run_id}: endurance of device {args.device}", summary,
                   lines, lambda _, path, title: hil.plots.plot_endurance(plotted, path, title))


def run_anisotropy(args: argparse.Namespace) -> int:
    """``hil characterise anisotropy``: R_AHE against the 2400's field, the anisotropy field
    fitted (paper 002 SI S1, Eq. S2)."""
    top = (None if args.max_field is None
           else units.parse_field("max_field", args.max_field, "T", "T"))
    cycle = cycle_settings(args)
    with _session(args) as session:
        result = session.anisotropy(args.device, top, args.points, args.coil_constant, cycle)
    summary = result.summary
    line = (f"H_an = {summary['h_an']:.4f} +- {summary['h_an_err']:.4f} T "
            f"({summary['h_an'] / 4e-7 / np.pi:.3g} A/m; paper 002 SI S1: 5.8e5 A/m)")
    return _report(args, f"run {result.run_id}: anisotropy field of device {args.device}",
                   summary, [line], hil.plots.plot_anisotropy)


def run_survey(args: argparse.Namespace) -> int:
    """``hil characterise survey``: every device of the lab, its lab time priced before the first
    pulse, so a chip-scale survey is known to fit the day before it starts."""
    cycle = cycle_settings(args)

    def estimated(seconds: float) -> None:
        print(f"estimated lab time: {seconds:.1f} s ({seconds / 3600:.2f} h), priced on the "
              "instruments' timing tables", file=sys.stderr, flush=True)

    progress = _DeviceProgress()
    try:
        with _session(args) as session:
            result = session.survey(args.iterations, args.timing, cycle, progress=progress,
                                    network=args.network, on_estimate=estimated)
    finally:
        progress.close()
    summary = result.summary
    rows = [f"{'device':>6} {'I_bias (mA)':>18} {'window (mA)':>18}  grade"]
    rows += [f"{f['device']:>6} {f['i_bias'] * 1e3:>9.4f} +- {f['i_bias_err'] * 1e3:<6.4f} "
             f"{f['window'] * 1e3:>9.4f} +- {f['window_err'] * 1e3:<6.4f}  {f['grade']}"
             + ("" if f.get("usable", True) else f": {f.get('reason', '')}")
             for f in summary["fits"]]
    rows.append(f"pulses: {pulse_text(summary)}")
    rows.append(f"{summary['usable_devices']} of {summary['devices']} devices usable; "
                f"I_bias variation {summary['i_bias_variation']:.1%}, window variation "
                f"{summary['window_variation']:.1%}")
    grades: dict[str, int] = {}
    for grade in summary["grades"].values():
        grades[grade] = grades.get(grade, 0) + 1
    rows.append("grades: " + ", ".join(f"{n} {g}" for g, n in sorted(grades.items())))
    if summary["network"]:
        rows.append(f"network ({len(summary['network'])} devices): {summary['network']}")
    rows.append(f"spares, best first: {summary['spares']}")
    taken = summary["lab_seconds"]
    rows.append(f"lab time: estimated {summary['lab_seconds_estimate']:.1f} s"
                + ("" if taken is None else f", taken {taken:.1f} s "
                   f"({taken / summary['lab_seconds_estimate'] - 1:+.1%})"))
    if summary["relay_closures"] is not None:
        line = f"relays: the driver closed {summary['relay_closures']}"
        counted = summary.get("relay_operations")
        if counted:
            line += (f"; the 7002 counted {counted['closures']} closures and "
                     f"{counted['openings']} openings, {counted['hot_switches']} hot")
        rows.append(line)
    if args.map:
        hil.plots.plot_chip_map(summary, args.map, f"chip map: survey run {result.run_id}")
        rows.append(f"chip map {args.map}")
    code = _report(args, f"run {result.run_id}: survey of {summary['devices']} devices",
                   summary, rows, hil.plots.plot_survey)
    if summary["unusable"]:
        reasons = "; ".join(f"device {d}: {why}" for d, why in summary["unusable"].items())
        print(f"hil characterise survey: run {result.run_id} has unusable sweeps ({reasons})",
              file=sys.stderr)
        return UNUSABLE
    return code


class _DeviceProgress:
    """A tqdm bar of devices on stderr (off when stderr is not a terminal)."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, stage: str, done: int, total: int, metrics=None) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc="devices", file=sys.stderr, disable=None)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_persistence(args: argparse.Namespace) -> int:
    """``hil characterise persistence``: the I_bias drift between two stored sweeps of a device
    (is a calibration still valid?)."""
    summary = hil.persistence(hil.RunStore(args.store), args.first, args.second).summary
    line = (f"I_bias {summary['i_bias_first'] * 1e3:.4f} -> {summary['i_bias_second'] * 1e3:.4f}"
            f" mA: {summary['relative_shift']:+.2%} ({summary['sigma']:.1f} sigma)")
    return _report(args, f"persistence: sweeps {args.first} and {args.second}", summary, [line])


def run_sweep(args: argparse.Namespace) -> int:
    """``hil characterise sweep``: P_sw against write current with the graded sigmoid fit (paper
    002 Eq. 2); exit status 3 when the fit is unusable, so scripts cannot take a bad calibration."""
    if args.resume is not None:  # the killed run's own lab and settings
        session = hil.Session.for_run(args.store, args.resume)
        session.watch = _watch(args, session.store, args.resume)
        kwargs: dict = {"resume": args.resume}
    else:
        currents = parse_current_range(args.currents, "mA") if args.currents else None
        kwargs = {"device": args.device, "currents": currents, "iterations": args.iterations,
                  "timing": args.timing, "cycle": cycle_settings(args)}
        session = _session(args)
    typed = args.currents.split(":")[0] if args.currents and args.resume is None else "mA"
    progress = _Progress(session.lab.clock)
    try:
        with session:
            chosen = kwargs.get("currents")
            for current in [] if chosen is None else chosen:
                _pulse_check("currents", typed, current)(session.lab.limits)
            summary = session.sweep(progress=progress, **kwargs)
    finally:
        progress.close()
    run_id, result = summary.run_id, summary.sweep
    summary = summary.summary
    iterations = int(result.trials.max())
    low, high = result.wilson()
    print(f"run {run_id}: device {result.device}, {iterations} cycles per current, "
          f"{summary['timing']}-timed")
    unit = units.typed_unit(typed, "mA")
    print(f"{'I (' + unit + ')':>9} {'P_sw':>6} {'95% CI':>15}")
    for i, p, lo, hi in zip(result.currents, result.p_switch, low, high, strict=True):
        print(f"{units.in_unit(i, 'A', unit):>9.4f} {p:>6.2f} [{lo:.2f}, {hi:.2f}]")
    if not result.grade.usable:
        message = (f"run {run_id} is unusable: {result.grade.reason}; it gives no "
                   "calibration (sweep a wider range or more --iterations)")
        print(message)
        print(f"hil characterise sweep: {message}", file=sys.stderr)
    else:
        for line in fit_lines(result.fit, result.thermal, result.fifty):
            print(line)
    if result.lab_seconds is not None:
        print(f"{result.lab_seconds:.1f} lab s")
    if args.plot:
        hil.plots.plot_sweep(result, args.plot)
    if args.json:
        print_json_line(summary)
    return 0 if result.grade.usable else UNUSABLE


def fit_lines(fit, thermal, fifty) -> list[str]:
    """A usable sweep's fits as the tables print them: the logistic (paper 002 Eq. 2), the
    thermally activated curve, which the counts prefer and its 50 % current."""
    lines = [f"logistic (paper 002 Eq. 2): I_bias = {fit.i_bias * 1e3:.4f} +- "
             f"{fit.i_bias_err * 1e3:.4f} mA, I0 = {fit.i0 * 1e6:.3f} +- {fit.i0_err * 1e6:.3f}"
             f" uA, window = {fit.window * 1e3:.4f} mA"]
    if thermal is not None:
        lines.append(f"Neel-Brown (t = {thermal.pulse_width * 1e6:g} us, tau0 = "
                     f"{thermal.tau0 * 1e9:g} ns, n = {thermal.exponent:g}): I_c = "
                     f"{thermal.i_c * 1e3:.4f} +- {thermal.i_c_err * 1e3:.4f} mA, Delta = "
                     f"{thermal.delta:.1f} +- {thermal.delta_err:.1f} kT")
    if fifty is not None and fifty.delta_log_likelihood is not None:
        lines.append(f"ln L: Neel-Brown - logistic = {fifty.delta_log_likelihood:+.2f} "
                     f"(Vuong z = {fifty.vuong_z:+.2f}, p {_p_value(fifty.vuong_p)}): "
                     f"{fifty.model} preferred")
    if fifty is not None:
        lines.append(f"50 % current ({fifty.model}): {fifty.i_50 * 1e3:.4f} +- "
                     f"{fifty.i_50_err * 1e3:.4f} mA")
    return lines


def _p_value(p: float) -> str:
    """'= 0.02', or '< 1e-15' where the normal tail rounds to zero in double precision."""
    return f"= {p:.2g}" if p >= 1e-15 else "< 1e-15"


class _Progress:
    """A tqdm bar of cycles on stderr (off when stderr is not a terminal) and the lab time
    left: on the virtual lab's clock, on the wall's with real instruments. The estimate
    counts what the sweep took before its cycles began (a coarse search of the current
    range) and prices the cycles left at the rate of its first batch."""

    def __init__(self, clock=None) -> None:
        self.bar = None
        self.virtual = clock is not None
        self.clock = clock if clock is not None else _WallClock()
        self.start: tuple[int, float] | None = None  # the rate's base: (done, lab s)
        self.origin = 0.0  # the clock when the sweep starts (its first call)
        self.estimate: float | None = None  # the sweep's lab seconds, first estimated

    def __call__(self, stage: str, done: int, total: int, metrics=None) -> None:
        from tqdm import tqdm

        now = self.clock.now()
        if self.bar is None:
            self.bar = tqdm(total=total, desc="cycles", file=sys.stderr, disable=None)
            self.origin = now
        if self.start is None or done == self.start[0]:
            self.start = (done, now)  # nothing done yet: the rate starts from here
        else:
            rate = (now - self.start[1]) / (done - self.start[0])
            self.bar.set_postfix_str(f"{rate * (total - done):.1f} lab s left", refresh=False)
            if self.estimate is None:  # the first estimate: printed, and kept for the summary
                self.estimate = now + rate * (total - done) - self.origin
                clock = "virtual clock" if self.virtual else "wall clock"
                print(f"estimated lab time: {self.estimate:.1f} s ({clock})", file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _WallClock:
    @staticmethod
    def now() -> float:
        import time

        return time.perf_counter()


"""``hil characterise sweep``: switching-probability sweep of one device, recorded as it runs."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from hil.cli.common import (
    add_cycle_options,
    add_lab_options,
    cycle_settings,
    lab_description,
    parse_current_range,
    print_json_line,
)
from hil.units import parse_field
from protocols.fitting import wilson_interval
from protocols.timing import TIMINGS


def wilson_bounds(successes: int, trials: int) -> tuple[float, float]:
    low, high = wilson_interval(np.array([successes]), trials)
    return float(low[0]), float(high[0])


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("characterise", help="device characterisation on a lab")
    sub = p.add_subparsers(dest="characterise_command", required=True, metavar="PROCEDURE")
    sweep = sub.add_parser("sweep", help="switching probability vs write current + sigmoid fit")
    add_lab_options(sweep)
    sweep.add_argument("--device", type=int, default=0, help="device id (default 0)")
    sweep.add_argument("--currents", help="START:STOP:N with units, e.g. 0.25mA:0.35mA:15 "
                       "(default: found by a coarse search)")
    sweep.add_argument("--iterations", type=int, default=100, help="cycles per current")
    sweep.add_argument("--resume", type=int, metavar="RUN_ID", help="finish a killed sweep")
    sweep.add_argument("--plot", help="figure path (PNG)")
    sweep.add_argument("--json", action="store_true")
    sweep.set_defaults(handler=run_sweep)

    hyst = sub.add_parser("hysteresis", help="R_AHE vs write current, up and down (Fig. 2b)")
    endur = sub.add_parser("endurance", help="N cycles at one current, moving averages (S5)")
    aniso = sub.add_parser("anisotropy", help="R_AHE vs in-plane field, Eq. S2 fit (S1)")
    survey = sub.add_parser("survey", help="sweep every device: I_bias, window, variation")
    for q in (hyst, endur, aniso, survey):
        add_lab_options(q)
        q.add_argument("--json", action="store_true")
        q.add_argument("--plot", help="figure path (PNG)")
    for q in (sweep, hyst, endur, aniso, survey):
        add_cycle_options(q)
    for q in (hyst, endur, aniso):
        q.add_argument("--device", type=int, default=0, help="device id (default 0)")
    for q in (sweep, endur, survey):
        q.add_argument("--timing", choices=TIMINGS, default="auto",
                       help="auto (default): cycles timed by the instruments (6221 waveform, "
                       "2000 on the trigger link) when they allow it, else by software; the "
                       "same pulses and, on the virtual lab, the same results either way")
    hyst.add_argument("--max-current", default="0.6mA")
    hyst.add_argument("--points", type=int, default=12)
    hyst.set_defaults(handler=run_hysteresis)
    endur.add_argument("--current", help="write current, e.g. 0.3mA (default: the device's "
                       "50 %% point, I_bias of its latest usable sweep on this lab)")
    endur.add_argument("--cycles", type=int, default=10000, help="paper 002 SI S5: 10,000")
    endur.set_defaults(handler=run_endurance)
    aniso.add_argument("--max-field", help="with its unit (T, mT, Oe); keep below H_an / 3 "
                       "(Eq. S2); default 0.2 T, or the lab's field limit when lower")
    aniso.add_argument("--points", type=int, default=15)
    aniso.add_argument("--coil-constant", type=float, default=0.5, help="T per A of coil current")
    aniso.set_defaults(handler=run_anisotropy)
    survey.add_argument("--iterations", type=int, default=100)
    survey.set_defaults(handler=run_survey)
    persist = sub.add_parser("persistence", help="compare two recorded sweeps of a device (S4)")
    persist.add_argument("first", type=int, help="run id of the earlier sweep")
    persist.add_argument("second", type=int, help="run id of the later sweep")
    persist.add_argument("--json", action="store_true")
    persist.set_defaults(handler=run_persistence)


def _session(args: argparse.Namespace, description: dict | None = None):
    from hil.session.session import Session
    from protocols.store import RunStore

    return Session(description or lab_description(args), RunStore(args.store))


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
    from hil.units import check_range

    def check(limits) -> None:
        top = limits.max_pulse_current
        check_range(field, typed, value, -top, top, "A", "mA")

    return check


def run_hysteresis(args: argparse.Namespace) -> int:
    from hil.cli.plots import plot_hysteresis
    from hil.units import in_unit, typed_unit

    top = parse_field("max_current", args.max_current, "A", "mA")
    cycle = cycle_settings(args)
    with _session(args) as session:
        _pulse_check("max_current", args.max_current, top)(session.lab.limits)
        result = session.hysteresis(args.device, top, args.points, cycle)
    summary = result.summary
    unit = typed_unit(args.max_current, "mA")
    rows = [f"{'I (' + unit + ')':>10}  {'R_AHE (ohm)':>11}"]
    rows += [f"{in_unit(i, 'A', unit):>10.4f}  {r:>11.4f}"
             for i, r in zip(summary["currents"], summary["r_ahe"], strict=True)]
    return _report(args, f"run {result.run_id}: hysteresis of device {args.device}", summary,
                   rows, plot_hysteresis)


def run_endurance(args: argparse.Namespace) -> int:
    from hil.cli.plots import plot_endurance
    from hil.units import in_unit, typed_unit

    current = (None if args.current is None
               else parse_field("current", args.current, "A", "mA"))
    cycle = cycle_settings(args)
    with _session(args) as session:
        if current is not None:
            _pulse_check("current", args.current, current)(session.lab.limits)
        result = session.endurance(args.device, current, args.cycles, args.timing, cycle)
    summary = result.summary
    current = result.summary.get("current", current)
    source = summary["current_from_sweep"]
    if source is not None:
        print(f"current: I_bias = {current * 1e3:.4f} mA of sweep {source}")
    unit = typed_unit(args.current, "mA")
    low, high = wilson_bounds(summary["switches"], summary["cycles"])
    line = (f"{summary['switches']} switches in {summary['cycles']} cycles at "
            f"{in_unit(current, 'A', unit):.4g} {unit} (P = {summary['p_switch']:.4f}, "
            f"95 % CI [{low:.4f}, {high:.4f}])")
    plotted = dict(summary)
    summary.pop("moving_averages") if not args.json else None
    return _report(args, f"run {result.run_id}: endurance of device {args.device}", summary,
                   [line], lambda _, path, title: plot_endurance(plotted, path, title))


def run_anisotropy(args: argparse.Namespace) -> int:
    top = (None if args.max_field is None
           else parse_field("max_field", args.max_field, "T", "T"))
    cycle = cycle_settings(args)
    with _session(args) as session:
        result = session.anisotropy(args.device, top, args.points, args.coil_constant, cycle)
    summary = result.summary
    line = (f"H_an = {summary['h_an']:.4f} +- {summary['h_an_err']:.4f} T "
            f"({summary['h_an'] / 4e-7 / np.pi:.3g} A/m; paper 002 SI S1: 5.8e5 A/m)")
    from hil.cli.plots import plot_anisotropy

    return _report(args, f"run {result.run_id}: anisotropy field of device {args.device}",
                   summary, [line], plot_anisotropy)


def run_survey(args: argparse.Namespace) -> int:
    cycle = cycle_settings(args)
    from hil.cli.plots import plot_survey

    with _session(args) as session:
        result = session.survey(args.iterations, args.timing, cycle)
    summary = result.summary
    rows = [f"{'device':>6} {'I_bias (mA)':>18} {'window (mA)':>18}  grade"]
    rows += [f"{f['device']:>6} {f['i_bias'] * 1e3:>9.4f} +- {f['i_bias_err'] * 1e3:<6.4f} "
             f"{f['window'] * 1e3:>9.4f} +- {f['window_err'] * 1e3:<6.4f}  "
             + ("usable" if f.get("usable", True) else f"unusable: {f.get('reason', '')}")
             for f in summary["fits"]]
    from hil.cli.runs import pulse_text

    rows.append(f"pulses: {pulse_text(summary)}")
    rows.append(f"{summary['usable_devices']} of {summary['devices']} devices usable; "
                f"I_bias variation {summary['i_bias_variation']:.1%}, window variation "
                f"{summary['window_variation']:.1%}")
    return _report(args, f"run {result.run_id}: survey of {summary['devices']} devices",
                   summary, rows, plot_survey)


def run_persistence(args: argparse.Namespace) -> int:
    from hil.session.session import persistence
    from protocols.store import RunStore

    summary = persistence(RunStore(args.store), args.first, args.second).summary
    line = (f"I_bias {summary['i_bias_first'] * 1e3:.4f} -> {summary['i_bias_second'] * 1e3:.4f}"
            f" mA: {summary['relative_shift']:+.2%} ({summary['sigma']:.1f} sigma)")
    return _report(args, f"persistence: sweeps {args.first} and {args.second}", summary, [line])


def run_sweep(args: argparse.Namespace) -> int:
    from hil.session.session import Session

    if args.resume is not None:  # the killed run's own lab and settings
        session = Session.for_run(args.store, args.resume)
        kwargs: dict = {"resume": args.resume}
    else:
        currents = parse_current_range(args.currents, "mA") if args.currents else None
        kwargs = {"device": args.device, "currents": currents, "iterations": args.iterations,
                  "timing": args.timing, "cycle": cycle_settings(args)}
        session = _session(args)
    from hil.units import in_unit, typed_unit

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
    unit = typed_unit(typed, "mA")
    print(f"{'I (' + unit + ')':>9} {'P_sw':>6} {'95% CI':>15}")
    for i, p, lo, hi in zip(result.currents, result.p_switch, low, high, strict=True):
        print(f"{in_unit(i, 'A', unit):>9.4f} {p:>6.2f} [{lo:.2f}, {hi:.2f}]")
    f = result.fit
    print(f"I_bias = {f.i_bias * 1e3:.4f} +- {f.i_bias_err * 1e3:.4f} mA, I0 = "
          f"{f.i0 * 1e6:.3f} +- {f.i0_err * 1e6:.3f} uA, window = {f.window * 1e3:.4f} mA"
          + ("" if result.lab_seconds is None else f", {result.lab_seconds:.1f} lab s"))
    if not result.grade.usable:
        message = (f"run {run_id} is unusable: {result.grade.reason}; it gives no "
                   "calibration (sweep a wider range or more --iterations)")
        print(message)
        print(f"hil characterise sweep: {message}", file=sys.stderr)
    if args.plot:
        _plot(result, args.plot)
    if args.json:
        print_json_line(summary)
    return 0


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

    def __call__(self, done: int, total: int) -> None:
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


def _plot(result, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    low, high = result.wilson()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(result.currents * 1e3, result.p_switch,
                yerr=np.clip([result.p_switch - low, high - result.p_switch], 0.0, None),
                fmt="o", capsize=2)
    grid = np.linspace(result.currents[0], result.currents[-1], 300)
    ax.plot(grid * 1e3, result.fit.p_switch(grid))
    title = f"device {result.device}" + ("" if result.grade.usable
                                         else f" - unusable: {result.grade.reason}")
    ax.set(xlabel="write current (mA)", ylabel="P_sw", title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

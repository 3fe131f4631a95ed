"""``hil characterise sweep``: switching-probability sweep of one device, recorded as it runs."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

import numpy as np

from hil.errors import ConfigError
from hil.lab_session import (
    add_cycle_options,
    add_lab_options,
    check_cycle_limits,
    cycle_settings,
    lab_description,
    open_lab,
)
from hil.units import parse_field
from protocols.timing import TIMINGS


def register(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("characterise", help="device characterisation on a lab")
    sub = p.add_subparsers(dest="characterise_command", required=True, metavar="PROCEDURE")
    sweep = sub.add_parser("sweep", help="switching probability vs write current + sigmoid fit")
    add_lab_options(sweep)
    sweep.add_argument("--device", type=int, default=0, help="device id (default 0)")
    sweep.add_argument("--currents", help="START:STOP:N, e.g. 0.25mA:0.35mA:15 (default: "
                       "found by a coarse search)")
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
                       "50 %% point, I_bias of its latest finished sweep on this lab)")
    endur.add_argument("--cycles", type=int, default=10000, help="paper 002 SI S5: 10,000")
    endur.set_defaults(handler=run_endurance)
    aniso.add_argument("--max-field", default="0.2T", help="keep below H_an / 3 (Eq. S2)")
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


def _timing(lab, requested: str, settings) -> str:
    from protocols.errors import ProtocolError
    from protocols.timing import choose_timing

    try:
        return choose_timing(lab, requested, settings)
    except ProtocolError as err:
        raise ConfigError("timing", str(err)) from None


class _Recording:
    """A run being recorded: call it with a batch of readings (stored with the virtual
    devices' state, in one transaction); ``fix`` writes a setting found on the way."""

    def __init__(self, store, run_id: int, lab, config: dict) -> None:
        self.store, self.run_id, self.lab, self.config = store, run_id, lab, config

    def __call__(self, rows: list[dict]) -> None:
        self.store.append_readings(self.run_id, rows, self.lab.device_state())

    def fix(self, **settings) -> None:  # a resumed run goes on with the same settings
        self.config.update(settings)
        self.store.update_config(self.run_id, self.config, self.lab.device_state())


def _recorded(args, kind: str, config: dict, body, limits=None, check=None,
              resume: int | None = None) -> tuple[int, dict]:
    """Open the lab, record a ``kind`` run (or go on with run ``resume``) with every
    reading as it comes, finish it. Bad input is refused before any pulse and any record;
    ``body(rwr, recording)`` runs on a routed, calibrated device."""
    from instruments.keithley import InstrumentError
    from protocols.cycle import CycleSettings, ResetWriteRead
    from protocols.store import RunStore

    # runs recorded before the cycle settings were kept name only the read current
    cycle = config.get("cycle") or {"read_current": config.get("read_current", 50e-6)}
    settings = CycleSettings(**cycle)
    store = RunStore(args.store)
    lab = open_lab(config["lab"])
    if limits is not None:
        lab.limits = limits
    with lab:
        try:
            lab.select_device(config.get("device", 0))
        except (ValueError, InstrumentError) as err:
            raise ConfigError("device", str(err)) from None
        check_cycle_limits(asdict(settings), lab.limits)
        if check is not None:
            check(lab.limits)
        timing = _timing(lab, config.get("timing", "software"), settings)
        if resume is None:
            config = {**config, "instruments": lab.identities, "timing": timing}
            run_id = store.create_run(kind, config, config["lab"].get("seed"))
        else:
            run_id = resume
            store.claim(run_id)
        try:
            rwr = ResetWriteRead(lab, settings, timing=timing)
            rwr.calibrate()
            state = store.lab_state(run_id) if resume is not None else None
            if state is not None and lab.virtual_lab is not None:
                lab.virtual_lab.restore_device(state)  # where the killed run stopped
            summary = body(rwr, _Recording(store, run_id, lab, config))
        except BaseException as err:
            store.finish(run_id, "aborted" if isinstance(err, KeyboardInterrupt) else "failed",
                         {"error": repr(err)})
            raise
        clock = lab.virtual_lab.clock.seconds if lab.virtual_lab is not None else None
    summary = {"run_id": run_id, "timing": timing, "lab_seconds": clock, **summary}
    store.finish(run_id, "finished", summary)
    return run_id, summary


def _report(args, title: str, summary: dict, lines: list[str]) -> int:
    from hil.cli import print_json_line

    print(title)
    for line in lines:
        print(line)
    if args.json:
        print_json_line(summary)
    return 0


def run_hysteresis(args: argparse.Namespace) -> int:
    from protocols.procedures import hysteresis

    top = parse_field("max_current", args.max_current, "A", "mA")
    if not 2 <= args.points <= 200:
        raise ConfigError("points", f"{args.points} is outside the allowed range [2, 200]")
    config = {"lab": lab_description(args), "device": args.device, "max_current": top,
              "points": args.points, "cycle": cycle_settings(args)}
    currents = np.linspace(top / args.points, top, args.points)
    run_id, summary = _recorded(args, "hysteresis", config,
                                lambda rwr, rec: hysteresis(rwr, currents, rec),
                                check=lambda limits: limits.pulse_current(top))
    rows = [f"{i * 1e3:>9.4f} mA  {r:>8.4f} ohm"
            for i, r in zip(summary["currents"], summary["r_ahe"], strict=True)]
    return _report(args, f"run {run_id}: hysteresis of device {args.device}", summary, rows)


def run_endurance(args: argparse.Namespace) -> int:
    from hil.backends.keithley import latest_sweeps
    from protocols.procedures import endurance
    from protocols.store import RunStore

    if args.current is not None:
        current = parse_field("current", args.current, "A", "mA")
    else:  # paper 002 SI S5: cycles at the 50 % current
        sweep = latest_sweeps(RunStore(args.store), lab_description(args)).get(args.device)
        if sweep is None:
            raise ConfigError("current", f"no finished sweep of device {args.device} on this "
                              "lab gives its 50 % current: give --current, or run hil "
                              "characterise sweep first")
        current = sweep["i_bias"]
    if args.cycles < 1:
        raise ConfigError("cycles", f"{args.cycles} is outside the allowed range [1, inf)")
    config = {"lab": lab_description(args), "device": args.device, "current": current,
              "cycles": args.cycles, "cycle": cycle_settings(args), "timing": args.timing}
    run_id, summary = _recorded(args, "endurance", config,
                                lambda rwr, rec: endurance(rwr, current, args.cycles, rec),
                                check=lambda limits: limits.pulse_current(current))
    line = (f"{summary['switches']} switches in {summary['cycles']} cycles "
            f"(P = {summary['p_switch']:.4f})")
    summary.pop("moving_averages") if not args.json else None
    return _report(args, f"run {run_id}: endurance of device {args.device}", summary, [line])


def run_anisotropy(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from protocols.procedures import anisotropy_field

    top = parse_field("max_field", args.max_field, "T", "T")
    config = {"lab": lab_description(args), "device": args.device, "max_field": top,
              "points": args.points, "coil_constant": args.coil_constant,
              "cycle": cycle_settings(args)}
    fields = np.linspace(-top, top, args.points)
    from instruments.limits import SafetyLimits

    limits = replace(SafetyLimits(), max_field=max(SafetyLimits().max_field, top))

    def body(rwr, rec):
        rwr.lab.set_coil_constant(args.coil_constant)
        return asdict(anisotropy_field(rwr, fields, rec))

    run_id, summary = _recorded(args, "anisotropy", config, body, limits)
    line = (f"H_an = {summary['h_an']:.4f} +- {summary['h_an_err']:.4f} T "
            f"({summary['h_an'] / 4e-7 / np.pi:.3g} A/m; paper 002 SI S1: 5.8e5 A/m)")
    return _report(args, f"run {run_id}: anisotropy field of device {args.device}", summary,
                   [line])


def run_survey(args: argparse.Namespace) -> int:
    from protocols.procedures import survey_table
    from protocols.sweep import sweep_device

    config = {"lab": lab_description(args), "iterations": args.iterations,
              "cycle": cycle_settings(args), "timing": args.timing}

    def body(rwr, rec):
        fits = []
        for device in range(config["lab"].get("devices", 1)):
            rwr.lab.select_device(device)
            rwr.calibrate()
            fits.append(sweep_device(rwr, device, None, args.iterations, rec).summary())
        return survey_table(fits)

    run_id, summary = _recorded(args, "survey", config, body)
    rows = [f"{f['device']:>3} {f['i_bias'] * 1e3:>10.4f} {f['window'] * 1e3:>10.4f}"
            for f in summary["fits"]]
    rows.append(f"I_bias variation {summary['i_bias_variation']:.1%}, window variation "
                f"{summary['window_variation']:.1%}")
    return _report(args, f"run {run_id}: survey (device, I_bias mA, window mA)", summary, rows)


def run_persistence(args: argparse.Namespace) -> int:
    from protocols.procedures import persistence
    from protocols.store import RunStore

    store = RunStore(args.store)
    results = []
    for run_id in (args.first, args.second):
        try:
            run = store.get_run(run_id)
        except KeyError as err:
            raise ConfigError("run", str(err.args[0])) from None
        if run.kind != "sweep" or run.status != "finished":
            raise ConfigError("run", f"run {run_id} is not a finished sweep")
        results.append(run.result)
    summary = persistence(*results)
    line = (f"I_bias {summary['i_bias_first'] * 1e3:.4f} -> {summary['i_bias_second'] * 1e3:.4f}"
            f" mA: {summary['relative_shift']:+.2%} ({summary['sigma']:.1f} sigma)")
    return _report(args, f"persistence: sweeps {args.first} and {args.second}", summary, [line])


def run_sweep(args: argparse.Namespace) -> int:
    from hil.cli import print_json_line
    from hil.cli_simulate import parse_current_range
    from protocols.store import RunStore
    from protocols.sweep import SweepResult, sweep_device

    done: dict[tuple[int, int], bool] = {}
    if args.resume is not None:
        store = RunStore(args.store)
        try:
            run = store.get_run(args.resume)
        except KeyError as err:
            raise ConfigError("resume", str(err.args[0])) from None
        if run.kind != "sweep" or run.status == "finished":
            raise ConfigError("resume", f"run {args.resume} is a {run.status} {run.kind} run")
        config = run.config
        for r in store.readings(run.id):
            done[(r["index"], r["iteration"])] = r["switched"]
    else:
        if args.iterations < 1:
            raise ConfigError("iterations", f"{args.iterations} is outside the allowed range "
                              "[1, inf)")
        currents = parse_current_range(args.currents) if args.currents else None
        config = {"lab": lab_description(args), "device": args.device,
                  "iterations": args.iterations, "timing": args.timing,
                  "cycle": cycle_settings(args),
                  "currents": None if currents is None else currents.tolist()}

    def check(limits) -> None:
        for current in config["currents"] or []:
            try:
                limits.pulse_current(current)
            except ValueError as err:
                raise ConfigError("currents", str(err)) from None

    found: list[SweepResult] = []

    def body(rwr, recording) -> dict:
        lab = rwr.lab
        progress = _Progress(lab.virtual_lab.clock if lab.virtual_lab is not None else None)
        currents = None if config["currents"] is None else np.array(config["currents"])
        try:
            found.append(sweep_device(
                rwr, config["device"], currents, config["iterations"], record=recording,
                done=done, progress=progress,
                fixed=lambda grid: recording.fix(currents=grid.tolist())))
        finally:
            progress.close()
        return found[0].summary()

    run_id, summary = _recorded(args, "sweep", config, body, check=check,
                                resume=args.resume)
    result = found[0]
    low, high = result.wilson()
    print(f"run {run_id}: device {result.device}, {config['iterations']} cycles per current, "
          f"{summary['timing']}-timed")
    print(f"{'I (mA)':>9} {'P_sw':>6} {'95% CI':>15}")
    for i, p, lo, hi in zip(result.currents, result.p_switch, low, high, strict=True):
        print(f"{i * 1e3:>9.4f} {p:>6.2f} [{lo:.2f}, {hi:.2f}]")
    f = result.fit
    print(f"I_bias = {f.i_bias * 1e3:.4f} +- {f.i_bias_err * 1e3:.4f} mA, I0 = "
          f"{f.i0 * 1e6:.3f} +- {f.i0_err * 1e6:.3f} uA, window = {f.window * 1e3:.4f} mA"
          + ("" if result.lab_seconds is None else f", {result.lab_seconds:.1f} lab s"))
    if args.plot:
        _plot(result, args.plot)
    if args.json:
        print_json_line(summary)
    return 0


class _Progress:
    """A tqdm bar of cycles on stderr (off when stderr is not a terminal); on the virtual
    lab it also tells the instrument time left (on real instruments that is tqdm's own
    estimate)."""

    def __init__(self, clock=None) -> None:
        self.bar = None
        self.clock = clock
        self.start: tuple[int, float] | None = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc="cycles", file=sys.stderr, disable=None)
            self.start = (done, self.clock.seconds if self.clock is not None else 0.0)
        if self.clock is not None and done > self.start[0]:
            rate = (self.clock.seconds - self.start[1]) / (done - self.start[0])
            self.bar.set_postfix_str(f"{rate * (total - done):.1f} lab s left", refresh=False)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _plot(result, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    low, high = result.wilson()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.errorbar(result.currents * 1e3, result.p_switch,
                yerr=[result.p_switch - low, high - result.p_switch], fmt="o", capsize=2)
    grid = np.linspace(result.currents[0], result.currents[-1], 300)
    ax.plot(grid * 1e3, result.fit.p_switch(grid))
    ax.set(xlabel="write current (mA)", ylabel="P_sw", title=f"device {result.device}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

"""``hil characterise sweep``: switching-probability sweep of one device, recorded as it runs."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from hil.errors import ConfigError
from hil.lab_session import add_lab_options, lab_description, open_lab


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


def run_sweep(args: argparse.Namespace) -> int:
    from hil.cli import print_json_line
    from hil.cli_simulate import parse_current_range
    from instruments.keithley import InstrumentError
    from protocols.cycle import ResetWriteRead
    from protocols.store import RunStore
    from protocols.sweep import sweep_device

    store = RunStore(args.store)
    done: dict[tuple[int, int], bool] = {}
    if args.resume is not None:
        try:
            run = store.get_run(args.resume)
        except KeyError as err:
            raise ConfigError("resume", str(err.args[0])) from None
        if run.kind != "sweep" or run.status == "finished":
            raise ConfigError("resume", f"run {args.resume} is a {run.status} {run.kind} run")
        config = run.config
        for r in store.readings(run.id):
            done[(r["index"], r["iteration"])] = r["switched"]
        run_id = run.id
        store.claim(run_id)
    else:
        if args.iterations < 1:
            raise ConfigError("iterations", f"{args.iterations} is outside the allowed range "
                              "[1, inf)")
        currents = parse_current_range(args.currents) if args.currents else None
        config = {"lab": lab_description(args), "device": args.device,
                  "iterations": args.iterations,
                  "currents": None if currents is None else currents.tolist()}
    lab = open_lab(config["lab"])
    with lab:
        try:
            lab.select_device(config["device"])
        except (ValueError, InstrumentError) as err:
            raise ConfigError("device", str(err)) from None
        for current in config["currents"] or []:
            try:
                lab.limits.pulse_current(current)
            except ValueError as err:
                raise ConfigError("currents", str(err)) from None
        if args.resume is None:
            config["instruments"] = lab.identities
            run_id = store.create_run("sweep", config, config["lab"].get("seed"))
        try:
            rwr = ResetWriteRead(lab)
            rwr.calibrate()
            currents = None if config["currents"] is None else np.array(config["currents"])
            if currents is None and done:
                raise ConfigError("resume", "the killed sweep had not fixed its currents yet")
            result = sweep_device(
                rwr, config["device"], currents, config["iterations"],
                record=lambda r: store.append_readings(run_id, [r]), done=done,
                progress=None if args.json else _progress)
        except BaseException as err:
            store.finish(run_id, "aborted" if isinstance(err, KeyboardInterrupt) else "failed",
                         {"error": repr(err)})
            raise
    summary = {"run_id": run_id, **result.summary()}
    store.finish(run_id, "finished", summary)
    if not args.json:
        sys.stderr.write("\n")
    low, high = result.wilson()
    print(f"run {run_id}: device {result.device}, {config['iterations']} cycles per current")
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


def _progress(done: int, total: int) -> None:
    sys.stderr.write(f"\r  cycles {done}/{total}")
    sys.stderr.flush()


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

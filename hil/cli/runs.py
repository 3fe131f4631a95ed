"""``hil runs list | show RUN_ID | export RUN_ID | watch RUN_ID``: read the run store."""

from __future__ import annotations

import argparse
import json
import sys
import time

import hil
from hil import ConfigError
from hil.cli.common import print_json_line
from hil.cli.train import accuracy_text


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hil runs list | show | export`` to the parser."""
    p = commands.add_parser("runs", help="list, show and export recorded runs")
    sub = p.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="one line per run")
    listing.add_argument("--json", action="store_true", help="one JSON object: every run")
    listing.set_defaults(handler=list_runs)
    show = sub.add_parser("show", help="a run's configuration, metrics and result")
    show.add_argument("run_id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=show_run)
    export = sub.add_parser("export", help="a run's per-step data as CSV")
    export.add_argument("run_id", type=int)
    export.add_argument("-o", "--output", help="file (default: stdout)")
    export.add_argument("--format", choices=["csv", "pymeasure"], default="csv",
                        help="plain CSV, or pymeasure's Results file (needs -o)")
    export.add_argument("--weights", action="store_true",
                        help="a training run's trained models (HIL and software baseline): "
                        "a torch state dict (-o PATH.pt) and arrays (PATH.npz); default "
                        "PATH: run-ID-weights")
    export.set_defaults(handler=export_run)
    watch = sub.add_parser("watch", help="follow a run: its epochs and its suspenders' "
                           "events (lab time, device, action) as the store gets them")
    watch.add_argument("run_id", type=int)
    watch.add_argument("--interval", type=float, default=2.0,
                       help="seconds between looks at the store (default 2)")
    watch.add_argument("--once", action="store_true", help="print what is there and exit")
    watch.set_defaults(handler=watch_run)


def _store(args):
    return hil.RunStore(args.store)


def _get(store, run_id: int):
    return hil.stored_run(store, run_id, "run_id")


def pulse_text(result: dict | None) -> str:
    """Reset and write pulses per device as a run recorded them (replays included)."""
    pulses = (result or {}).get("pulses")
    if not pulses:
        return "not recorded"
    return ", ".join(f"device {d}: {n:,}" for d, n in sorted(pulses.items(), key=lambda p:
                                                                   int(p[0])))


def _result_text(run) -> str:
    """The one-line result: accuracies, a sweep's I_bias, or why a sweep is unusable."""
    result = run.result or {}
    if run.status == "unusable":
        return f"unusable: {result.get('reason', '')}"
    if "hil_accuracy" in result:
        if "test_images" not in result:
            return f"HIL {result['hil_accuracy']:.1%}"
        n = int(result["test_images"])
        text = f"HIL {accuracy_text(result['hil_accuracy'], n)}"
        if "deployed_accuracy" in result:
            text += f", deployed {accuracy_text(result['deployed_accuracy'], n)}"
        return text
    if run.kind == "sweep" and "i_bias" in result:
        return f"I_bias {result['i_bias'] * 1e3:.4f} +- {result['i_bias_err'] * 1e3:.4f} mA"
    return ""


def list_runs(args: argparse.Namespace) -> int:
    """``hil runs list``: one line per stored run (``--json``: one object)."""
    runs = _store(args).list_runs()
    if args.json:
        print_json_line({"runs": [
            {"id": r.id, "kind": r.kind, "status": r.status, "created": r.created,
             "updated": r.updated, "seed": r.seed, "code_version": r.code_version,
             "lab_seconds": r.lab_seconds, "holder": r.holder,
             "result": _result_text(r)} for r in runs]})
        return 0
    print(f"{'id':>5}  {'kind':<14} {'status':<12} {'started':<19} {'seed':>6}  result")
    for run in runs:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.created))
        result = _result_text(run)
        print(f"{run.id:>5}  {run.kind:<14} {run.status:<12} {started:<19} "
              f"{'' if run.seed is None else run.seed:>6}  {result}")
    return 0


def show_run(args: argparse.Namespace) -> int:
    """``hil runs show``: a run's configuration, metrics, result, version and setup snapshot."""
    store = _store(args)
    run = _get(store, args.run_id)
    readings = store.readings(run.id)
    units = store.reading_units()
    columns = sorted({k for r in readings for k in r})
    payload = {
        "id": run.id, "kind": run.kind, "status": run.status, "seed": run.seed,
        "code_version": run.code_version, "created": run.created, "updated": run.updated,
        "lab_seconds": run.lab_seconds, "holder": run.holder,
        "config": run.config, "metrics": store.metrics(run.id), "result": run.result,
        "provenance": store.provenance(run.id), "readings": len(readings),
        "reading_units": {c: units.get(c) for c in columns},
    }
    if args.json:
        print(json.dumps(payload, sort_keys=True))
        return 0
    for key in ("id", "kind", "status", "seed", "code_version"):
        print(f"{key:>13}: {payload[key]}")
    if run.holder:
        print(f"{'recorded by':>13}: {run.holder}")
    if run.lab_seconds is not None:
        print(f"{'lab time':>13}: {run.lab_seconds:.1f} s (over every start)")
    info = payload["provenance"]
    if info:
        print(f"{'git commit':>13}: {info.get('git_commit') or 'not run from a checkout'}")
        _print_provenance(info)
    if run.status == "unusable" and run.result:
        print(f"{'unusable':>13}: {run.result.get('reason', '')}")
    print(f"{'pulses':>13}: {pulse_text(run.result)}")
    print("       config:")
    for key, value in sorted(run.config.items()):
        print(f"{'':>15}{key} = {value}")
    for name, series in payload["metrics"].items():
        values = ", ".join(f"{v:.4g}" for _, v in series[:12])
        more = " ..." if len(series) > 12 else ""
        print(f"{name:>13}: {values}{more}")
    for role, settings in sorted(info.get("instruments", {}).items()):
        print(f"{role:>13}: " + ", ".join(f"{k} = {v}" for k, v in settings.items()))
    if readings:
        print(f"{'readings':>13}: {len(readings)}; columns " + ", ".join(
            f"{c} ({units[c]})" if units.get(c) else c for c in columns))
    return 0


def _print_provenance(info: dict) -> None:
    """What the run ran on: each start, the lab (file and hash, or the virtual chip), the
    banks and their calibrations, the data split, the seeds."""
    for n, start in enumerate(info.get("starts", [])):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(start["at"]))
        print(f"{'started' if n == 0 else 'resumed':>13}: {when} by process {start['pid']} "
              f"on {start['host']}")
    labs = [info["lab"]] if "lab" in info else [b.get("lab") for b in _banks(info)]
    for lab in filter(None, labs):
        if lab.get("virtual") and "lab_file" not in lab:
            print(f"{'lab':>13}: the virtual lab: {lab.get('devices')} bars of "
                  f"{lab.get('width', 0) * 1e6:g} um, seed {lab.get('seed')}")
        else:
            print(f"{'lab file':>13}: {lab.get('path', lab.get('lab_file'))} (sha256 "
                  f"{str(lab.get('sha256', '?'))[:16]}), chip {lab.get('chip')!r}")
    for layer, (bank, calibration) in enumerate(zip(_banks(info), info.get("calibration", []),
                                                    strict=False)):
        inner = bank.get("wraps", bank)
        while "wraps" in inner:
            inner = inner["wraps"]
        devices = inner.get("devices")
        sweeps = calibration.get("origin", {}).get("sweep_runs")
        print(f"{f'layer {layer}':>13}: {bank['neurons']} neurons on {inner['bank']}"
              + (f" devices {devices}" if isinstance(devices, list) else "")
              + f"; calibration {calibration.get('origin', {}).get('origin', '?')}"
              + (f" (sweep runs {sweeps})" if sweeps else ""))
    data = info.get("data")
    if data:
        print(f"{'data':>13}: {data['source']}: {data['train_images']} training, "
              f"{data.get('validation_images', 0)} validation, {data['test_images']} "
              f"held-out images (train sha256 {data['train_sha256'][:16]})")
    if info.get("seeds"):
        print(f"{'seeds':>13}: " + ", ".join(f"{k} {v}" for k, v in info["seeds"].items()
                                              if v is not None))


def _banks(info: dict) -> list[dict]:
    return list(info.get("banks", []))


def export_run(args: argparse.Namespace) -> int:
    """``hil runs export``: a run's readings or metrics as CSV, a pymeasure Results file, or its
    trained weights."""
    store = _store(args)
    run = _get(store, args.run_id)
    if args.weights:
        pt, npz = hil.export_weights(store, run.id, args.output or f"run-{run.id}-weights")
        print(f"{pt}\n{npz}")
        return 0
    if args.format == "pymeasure":
        hil.export_pymeasure(store, run.id, args.output)
        return 0
    if args.output:
        with open(args.output, "w", newline="") as out:
            store.export_csv(args.run_id, out)
    else:
        store.export_csv(args.run_id, sys.stdout)
    return 0


def event_line(event: dict) -> str:
    """One event of a run's watch (hil.session.watch) as a terminal line."""
    lab_t = event.get("lab_t")
    when = "   ?    " if lab_t is None else f"{lab_t / 3600:7.3f} h"
    what = (f"device {event['device']}" if event.get("device") is not None else
            event.get("role") or "run")
    return f"[{when}] {event['suspender']:<11} {event['action']:<12} {what}: {event['detail']}"


def watch_run(args: argparse.Namespace) -> int:
    """Print a run's epochs and events as they are stored, until the run ends."""
    if not 0.1 <= args.interval <= 3600:
        raise ConfigError("interval", f"{args.interval} is outside the allowed range "
                          "[0.1, 3600] s")
    store = _store(args)
    run = _get(store, args.run_id)
    print(f"run {run.id} ({run.kind}): {run.status}", flush=True)
    shown_events, shown_steps = 0, set()
    while True:
        run = store.get_run(args.run_id)
        events = store.provenance(args.run_id).get("events", [])
        for event in events[shown_events:]:
            print(event_line(event), flush=True)
        shown_events = len(events)
        metrics = store.metrics(args.run_id)
        accuracy = dict(metrics.get("train_accuracy", []))
        for step, loss in metrics.get("loss", []):
            if step not in shown_steps:
                shown_steps.add(step)
                print(f"epoch {step + 1}: loss {loss:.4f}, training accuracy "
                      f"{accuracy.get(step, float('nan')):.1%}", flush=True)
        if run.status != "running" or args.once:
            lab = "" if run.lab_seconds is None else f", {run.lab_seconds / 3600:.3f} lab h"
            print(f"run {run.id}: {run.status}{lab}; {_result_text(run)}", flush=True)
            return 0
        time.sleep(args.interval)

"""The one recording runner: every procedure on a lab, from the CLI, the GUI, a script or a
lab bank's calibration, runs through :func:`record_run`.

Its lifecycle, in the store's one run context (``RunStore.run``): claim a killed run before
any instrument is touched (a live one is refused), check the cycle and the procedure's
setpoints against the lab's limits before any pulse, route the device, choose the timing,
create the run, record the instruments' snapshot and the lab it runs on, then run the
procedure's plan (``protocols.plan``): each batch of readings it yields is stored as it
comes with the devices' state and the lab time summed over resumes, each setting it finds
kept in the run's config, each advance told to the progress listener; and finish the run
with its status (``finished``, ``unusable``, ``failed``, or ``aborted`` on Ctrl-C, a stop
signal or :class:`RunAborted`) and the summary the plan returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict
from typing import Any

from hil.errors import ConfigError
from hil.session.lab import describe_lab
from hil.units import si_value
from instruments.connection import Lab
from instruments.keithley import InstrumentError
from protocols.cycle import CycleSettings, ResetWriteRead, measured_burst
from protocols.errors import ProtocolError
from protocols.plan import Plan, run_plan
from protocols.progress import Progress
from protocols.store import ActiveRun, RunAborted, RunStore
from protocols.timing import choose_timing

__all__ = ["Body", "Recording", "RunAborted", "check_cycle_limits", "choose", "cycle_config",
           "record_run", "stored_run"]


# a procedure: the plan it runs on the routed, calibrated cycle (the recording gives it the
# run's stored config and, on a resume, its readings); the plan returns the run's summary
Body = Callable[[ResetWriteRead, "Recording"], Plan[dict]]

# the cycle's settings a caller may give, and what a run's config keeps of them; their
# ranges are CycleSettings' own (paper 002 Fig. 2a, Methods 4.3; the 6221's pulse widths;
# the 2000's integration times)
CYCLE_FIELDS = ("reset_current", "reset_width", "write_width", "read_current", "read_nplc",
                "autozero", "interval", "verify_reset")
CYCLE_DEFAULTS = {name: getattr(CycleSettings(), name) for name in CYCLE_FIELDS}
# the cycle's physical settings: SI unit and the unit an example names
CYCLE_UNITS = {"reset_current": ("A", "mA"), "reset_width": ("s", "us"),
               "write_width": ("s", "us"), "read_current": ("A", "uA"), "interval": ("s", "s")}


def cycle_config(**values: Any) -> dict:
    """The reset-write-read cycle's settings (SI), defaults filled in, each refused with its
    field and range (by :class:`~protocols.cycle.CycleSettings` itself) before any
    instrument is touched; the dict a run's config keeps."""
    unknown = sorted(set(values) - set(CYCLE_FIELDS))
    if unknown:
        raise ConfigError(unknown[0], f"not a cycle setting; allowed: {sorted(CYCLE_FIELDS)}")
    if "read_nplc" in values and not isinstance(values["read_nplc"], bool):
        values["read_nplc"] = float(values["read_nplc"])
    for name, (unit, example) in CYCLE_UNITS.items():  # SI, a pint quantity or "0.3mA"
        if name in values:
            values[name] = si_value(name, values[name], unit, example_unit=example)
    settings = asdict(CycleSettings(**values))
    return {name: settings[name] for name in CYCLE_FIELDS}


def check_cycle_limits(settings: dict, limits) -> None:
    """The cycle's currents and widths against the lab's limits, before any pulse."""
    for name, check in (("reset_current", limits.pulse_current),
                        ("reset_width", limits.pulse_width),
                        ("write_width", limits.pulse_width)):
        try:
            check(settings[name])
        except ValueError as err:
            raise ConfigError(name, str(err)) from None
    try:
        limits.read_current(settings["read_current"])
    except ValueError as err:
        raise ConfigError("read_current", f"{err}; above it a 500 ms read may switch the "
                          "device (0.5 um bar: P = 5e-7 at 100 uA, 0.17 at 200 uA)") from None


def choose(lab: Lab, requested: str, settings: CycleSettings) -> str:
    """Software or hardware timing for ``requested`` (auto, software, hardware)."""
    try:
        return choose_timing(lab, requested, settings)
    except ProtocolError as err:
        raise ConfigError("timing", str(err)) from None


class Recording:
    """A run being recorded: call it with a batch of readings (stored with the virtual
    devices' state, in one transaction, then handed to each subscriber, e.g. a Qt signal);
    ``between_batches`` runs after each batch: the place to pause, or to raise
    :class:`RunAborted`. ``fix`` writes a setting found on the way."""

    def __init__(self, run: ActiveRun, lab: Lab,
                 subscribers: Sequence[Callable[[dict], None]] = (),
                 between_batches: Callable[[], None] | None = None) -> None:
        self.run, self.lab = run, lab
        self.store, self.run_id, self.config = run.store, run.id, run.config
        self.subscribers = list(subscribers)
        self.between_batches = between_batches

    def __call__(self, rows: list[dict]) -> None:
        self.run.append_readings(rows, self.lab.device_state())
        for row in rows:
            for subscriber in self.subscribers:
                subscriber(row)
        if self.between_batches is not None:
            self.between_batches()

    def fix(self, **settings) -> None:
        """Record settings found on the way (e.g. a sweep's currents) in the run's config, so a
        resumed run goes on with the same ones."""
        self.config.update(settings)
        self.run.update_config(self.config, self.lab.device_state())


def record_run(store: RunStore, lab: Lab, kind: str, config: dict, body: Body,
               check: Callable[[Any], None] | None = None,
               resume: int | None = None,
               subscribers: Sequence[Callable[[dict], None]] = (),
               between_batches: Callable[[], None] | None = None,
               connect: Callable[[], Any] | None = None,
               calibrate: bool = True, watch=None,
               progress: Progress | None = None) -> tuple[int, dict]:
    """Record a ``kind`` run of the plan ``body(rwr, recording)`` on ``lab`` (or go on with
    the killed run ``resume``, whose stored settings it takes) and finish it. Bad input is
    refused before any pulse and any record; a resumed run is claimed before ``connect``
    touches an instrument, so a run another process is recording is refused untouched.
    ``body`` runs on a routed, calibrated device and its plan returns the run's summary
    (``calibrate=False``: a body that calibrates each device it routes itself).
    ``subscribers`` hear every stored reading; ``between_batches`` runs after each batch
    (what it raises is thrown into the plan); ``progress`` hears the plan's advances.
    ``watch`` (a :class:`~hil.session.procedure_watch.ProcedureWatch`): the run's batches
    are its device calls and its suspenders are checked between them, its events kept in
    the run's provenance."""
    store.check_writable(f"recording a {kind} run")  # before any instrument is touched
    with ExitStack() as stack:
        run = None
        if resume is not None:
            run = stack.enter_context(store.run(kind, resume=resume))
            config = {**run.config, **config}
        # runs recorded before the cycle settings were kept name only the read current
        cycle = config.get("cycle") or {"read_current": config.get("read_current", 50e-6)}
        settings = CycleSettings(**cycle)
        check_cycle_limits(asdict(settings), lab.limits)
        if check is not None:
            check(lab.limits)
        if connect is not None:
            connect()
        try:
            lab.select_device(config.get("device", 0))
        except (ValueError, InstrumentError) as err:
            raise ConfigError("device", str(err)) from None
        timing = choose(lab, config.get("timing", "software"), settings)
        if run is None:
            config = {**config, "instruments": lab.identities, "timing": timing}
            run = stack.enter_context(store.run(kind, config,
                                                seed=config["lab"].get("seed")))
        rwr = (ResetWriteRead(lab, settings, timing=timing) if watch is None else
               watch.cycle_for_run(lab, settings, timing, config["lab"]))
        rwr.device = config.get("device", 0)
        run.closing = lambda: pulse_record(rwr)  # however the run ends
        if watch is not None:
            watch.attach_run(run, store)
            between_batches = _both(between_batches, watch.between_batches)
        if calibrate:
            rwr.calibrate()
        run.snapshot(lab.snapshot())  # the settings it starts from
        run.describe(lab=describe_lab(config["lab"]))
        state = run.lab_state() if run.resumed else None
        if state is not None:
            lab.restore_device(state)  # where the killed run stopped
        run.watch_clock(lab.clock)  # lab time: what it recorded before, and from here on
        recording = Recording(run, lab, subscribers, between_batches)
        summary = run_plan(body(rwr, recording), recording, progress, recording.fix)
        summary = {**summary, "run_id": run.id, "timing": timing,
                   "lab_seconds": run.lab_seconds, **pulse_record(rwr)}
        run.status = "finished" if summary.get("usable", True) else "unusable"
        run.result = summary
    return run.id, summary


def _both(first: Callable[[], None] | None,
          then: Callable[[], None]) -> Callable[[], None]:
    if first is None:
        return then

    def both() -> None:
        first()
        then()

    return both


def pulse_record(rwr: ResetWriteRead) -> dict:
    """Reset and write pulses each device took in the run, replayed batches included
    (a device's wear: ``hil.session.wear`` sums them over runs), and the 2000's burst as
    measured on the rig when the burst route ran."""
    record: dict = {"pulses": {str(d): int(n) for d, n in sorted(rwr.pulses.items())}}
    burst = measured_burst(rwr.lab)
    if burst is not None:
        record["burst"] = burst.record()
    return record


def stored_run(store: RunStore, run_id: int, field: str):
    """Run ``run_id`` of ``store``; an unknown id is bad input in ``field``."""
    try:
        return store.get_run(run_id)
    except KeyError as err:
        raise ConfigError(field, str(err.args[0])) from None

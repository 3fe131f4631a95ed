"""A lab session for scripts: open a lab, run the characterisation procedures, build a bank
of its devices. Every procedure is recorded in the run store through the one runner and
returns a :class:`ProcedureResult` with the run id and the fit; the session turns every output
off when it ends, whatever ends it.

    with hil.open_lab(devices=2, store="runs.sqlite") as lab:
        fit = lab.sweep(device=0, iterations=50).fit
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hil.errors import ConfigError
from hil.session.lab import VirtualLabConnection
from hil.session.lab import open_lab as connect
from hil.session.procedure_watch import procedure_watch
from hil.session.runner import Body, cycle_config, record_run, stored_run
from hil.session.survey_time import price_survey
from hil.session.suspenders import suspenders_from_mapping
from hil.session.wear import survey_budgets
from hil.units import check_value, si_value
from instruments.connection import Lab, LabFile, LabFileError
from instruments.limits import SafetyLimits
from protocols import procedures
from protocols.fitting import SigmoidFit
from protocols.plan import Plan, Readings
from protocols.progress import Progress
from protocols.store import RunStore
from protocols.survey import survey_devices
from protocols.sweep import SweepResult, fifty_percent_current, grade_summary, sweep_device

TIMINGS = ("auto", "software", "hardware")
# the largest counts a procedure takes (each array is allocated whole): a sweep's cycles per
# current, and endurance's cycles (paper 002 SI S5 ran 10,000; 10^6 is 45 min hardware-timed)
MAX_ITERATIONS = 100_000
MAX_CYCLES = 1_000_000


@dataclass
class ProcedureResult:
    """A recorded procedure: its run id, its summary as stored, and its fit (a
    :class:`~protocols.fitting.SigmoidFit` for a sweep; the summary's fitted numbers else)."""

    run_id: int
    kind: str
    summary: dict[str, Any]
    fit: Any = None
    sweep: SweepResult | None = field(default=None, repr=False)


def lab_description(lab_file: str | Path | None = None, devices: int = 4,
                    width: float = 0.5e-6, seed: int | None = 0,
                    switch: str | None = None) -> dict:
    """What a run's config keeps of its lab (enough to open it again for ``--resume``);
    ``switch`` only when chosen (the virtual lab's own choice follows from ``devices``)."""
    if lab_file is not None:
        chip = _lab_file(lab_file).chip
        return {"lab_file": str(lab_file), **({"chip": chip} if chip is not None else {})}
    return {"virtual": True, "devices": devices, "width": width, "seed": seed,
            **({"switch": switch} if switch is not None else {})}


def _lab_file(path: str | Path) -> LabFile:
    try:
        return LabFile.load(path)
    except LabFileError as err:  # a value refused names its own field (wear.pulses)
        raise ConfigError(err.field, f"lab file {path}: {err.reason}") from None
    except ValueError as err:
        raise ConfigError("lab", str(err)) from None


def routed_devices(description: dict) -> list[int]:
    """Every device a survey must cover: the virtual chip's, the lab file's ``devices``
    list, or device 0 on a lab without a switch card. With the instruments' identities
    and the device, the description is the identity two sweeps must share to be compared
    or used together."""
    if "lab_file" not in description:
        return list(range(description["devices"]))
    lab_file = _lab_file(description["lab_file"])
    if lab_file.devices is not None:
        return list(lab_file.devices)
    if lab_file.virtual:
        return list(range(4))  # connect_virtual's default chip
    if "switch" in lab_file.roles:
        raise ConfigError("lab", f"{description['lab_file']} routes devices through a switch "
                          "card but does not say which: add devices = [0, 1, ...] to it")
    return [0]


def check_device(description: dict, device: int) -> None:
    """Refuse a device the lab does not route (a virtual chip's, or a lab file's
    ``devices`` list), naming the allowed ones, before any instrument is touched."""
    if "lab_file" in description and _lab_file(description["lab_file"]).devices is None:
        return  # a lab file that does not list its devices: the switch card decides
    allowed = routed_devices(description)
    if isinstance(device, bool) or device not in allowed:
        raise ConfigError("device", f"{device!r} is not a device of this lab; allowed: "
                          f"{', '.join(str(d) for d in allowed)}")


def latest_sweeps(store: RunStore, description: dict) -> dict[int, dict]:
    """device -> result of the newest usable sweep on the same lab. A sweep graded
    unusable (status ``unusable``), or a finished one whose stored counts fail the grade
    now, is never a calibration: an older usable sweep, or none, is taken instead."""
    found: dict[int, dict] = {}
    for run in store.list_runs():
        if run.kind == "sweep" and run.status == "finished" and \
                run.config.get("lab") == description and grade_summary(run.result).usable:
            found[run.config["device"]] = {"run_id": run.id, **run.result}
    return found


class Session:
    """An open lab and a run store. Use as a context manager (outputs off on exit).

    ``lab``: an already-connected lab to run on (a window's connection panel keeps one
    open between runs); the session then borrows it: closing the session turns its outputs
    off and leaves it connected. ``subscribers`` hear every reading as it is stored (a
    progress bar, a live plot's Qt signal); ``between_batches`` runs after each batch of
    readings: the place to pause, or to stop the run by raising
    :class:`~hil.session.runner.RunAborted` (the run is kept, ``aborted``).

    ``watch``: what each procedure's run watches for between its batches and how it
    answers (``hil.session.procedure_watch``): None, the defaults (suspenders on,
    reconnection with backoff and replay); a ``[suspenders]`` table as a dict, a
    :class:`~hil.session.suspenders.WatchSettings` or a ``ProcedureWatch`` (a GUI's, for
    its pause and abort); False: unwatched."""

    def __init__(self, description: dict, store: RunStore | str | Path | None = None,
                 limits: SafetyLimits | None = None, *, lab: Lab | None = None,
                 subscribers: Sequence[Callable[[dict], None]] = (),
                 between_batches: Callable[[], None] | None = None,
                 watch: Any = None) -> None:
        self.description = dict(description)
        self.store = store if isinstance(store, RunStore) else RunStore(store)
        self.owns_lab = lab is None
        self.lab: Lab = connect(self.description) if lab is None else lab
        if limits is not None:
            self.lab.set_limits(limits)
        self._connected = not self.owns_lab
        self.subscribers = list(subscribers)
        self.between_batches = between_batches
        if isinstance(watch, dict):  # refused by name before any instrument is touched
            watch = suspenders_from_mapping(watch)
        self.watch = watch
        self.connect_on_enter = True  # False: the first procedure connects (a resume,
        # which claims its run first, so a live one is refused before any *RST)

    @classmethod
    def for_run(cls, store: RunStore | str | Path | None, run_id: int,
                field_name: str = "resume", **hooks: Any) -> Session:
        """A session on the lab run ``run_id`` of ``store`` was recorded on (its config
        keeps the lab's description): where a killed run goes on. An unknown id is bad
        input in ``field_name``."""
        store = store if isinstance(store, RunStore) else RunStore(store)
        session = cls(stored_run(store, run_id, field_name).config["lab"], store, **hooks)
        session.connect_on_enter = False  # the run is claimed before the lab is touched
        return session

    # -- the lab ---------------------------------------------------------------------
    def connect(self) -> Session:
        """Connect the lab's instruments once (closed again if connecting fails); returns the
        session."""
        if not self._connected:
            try:
                self.lab.connect()
            except BaseException:
                self.lab.close()
                raise
            self._connected = True
        return self

    def close(self) -> None:
        """Every output off; a lab the session opened is closed too (the virtual lab
        stopped), a borrowed one stays connected."""
        if self.owns_lab:
            self.lab.close()
            self._connected = False
        else:
            self.lab.outputs_off()

    def __enter__(self) -> Session:
        return self.connect() if self.connect_on_enter else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def devices(self) -> int:
        """How many devices a survey sweeps (every routed device)."""
        return len(routed_devices(self.description))

    def _run(self, kind: str, config: dict, body, check=None, resume=None,
             calibrate: bool = True, progress: Progress | None = None):
        for device in [config["device"]] if "device" in config else config.get("devices", []):
            check_device(self.description, device)
        return record_run(self.store, self.lab, kind, {"lab": self.description, **config},
                          body, check=check, resume=resume, subscribers=self.subscribers,
                          between_batches=self.between_batches, connect=self.connect,
                          calibrate=calibrate, progress=progress,
                          watch=procedure_watch(self.watch, goes_on=kind == "survey"))

    # -- procedures ------------------------------------------------------------------
    def sweep(self, device: int = 0, currents: Sequence[float] | None = None,
              iterations: int = 100, timing: str = "auto", cycle: dict | None = None,
              progress: Progress | None = None, resume: int | None = None) -> ProcedureResult:
        """Switching probability vs write current and its sigmoid fit (paper 002 SI S3).
        ``currents``: None finds the switching region by a coarse search first. ``resume``:
        finish a killed sweep run (its own settings are kept)."""
        if resume is not None:  # its own settings; its readings once it is claimed
            config = {k: v for k, v in stored_run(self.store, resume, "resume").config.items()
                      if k not in ("lab", "instruments")}
        else:
            _check_timing(timing)
            check_value("iterations", iterations, 1, MAX_ITERATIONS, whole=True)
            config = {"device": device, "iterations": iterations, "timing": timing,
                      "cycle": cycle_config(**(cycle or {})),
                      "currents": None if currents is None else
                      [si_value("currents", i, "A", example_unit="mA") for i in currents]}

        def check(limits) -> None:
            for current in config["currents"] or []:
                _limit_check("currents", "pulse_current", current)(limits)

        found: list[SweepResult] = []

        def body(rwr, recording) -> Plan[dict]:
            done = {(r["index"], r["iteration"]): r["switched"]
                    for r in recording.run.readings()} if recording.run.resumed else {}
            stored = recording.config  # as the store holds it once the run is claimed
            grid = None if stored["currents"] is None else np.array(stored["currents"])
            found.append((yield from sweep_device(rwr, stored["device"], grid,
                                                  stored["iterations"], done)))
            summary = found[0].summary()
            estimate = getattr(progress, "estimate", None)  # the first lab-time estimate
            if estimate is not None:
                summary["lab_seconds_estimate"] = estimate
            return summary

        run_id, summary = self._run("sweep", config, body, check, resume, progress=progress)
        return ProcedureResult(run_id, "sweep", summary, found[0].fit, found[0])

    def single_cycle(self, device: int = 0, current: float = 0.3e-3,
                     cycle: dict | None = None) -> ProcedureResult:
        """One reset-write-read cycle at ``current`` (paper 002 Fig. 2a): whether the device
        switched, and R_AHE after the reset and after the write."""
        config = {"device": device, "current": si_value("current", current, "A",
                                                       example_unit="mA"),
                  "cycle": cycle_config(**(cycle or {}))}

        def body(rwr, recording) -> Plan[dict]:
            reading = rwr.cycle_reading(config["current"])
            row = {"current": reading.write_current, "r_after_reset": reading.r_after_reset,
                   "r_after_write": reading.r_after_write, "switched": reading.switched}
            yield Readings([row])
            return row

        run_id, summary = self._run(
            "single_cycle", config, body,
            check=_limit_check("current", "pulse_current", config["current"]))
        return ProcedureResult(run_id, "single_cycle", summary, summary["switched"])

    def hysteresis(self, device: int = 0, max_current: float = 0.6e-3, points: int = 30,
                   cycle: dict | None = None, loops: int = 3) -> ProcedureResult:
        """R_AHE around ``loops`` closed current loops, -max -> +max -> -max in steps of
        max / ``points``, both switching edges and the loop width with their errors (paper
        002 Fig. 2b; ``protocols.procedures.hysteresis``)."""
        check_value("points", points, 2, 200, whole=True)
        check_value("loops", loops, 1, 20, whole=True)
        max_current = si_value("max_current", max_current, "A", example_unit="mA")
        config = {"device": device, "max_current": max_current, "points": points,
                  "loops": loops, "cycle": cycle_config(**(cycle or {}))}
        run_id, summary = self._run(
            "hysteresis", config,
            lambda rwr, recording: procedures.hysteresis(rwr, max_current, points, loops),
            check=_limit_check("max_current", "pulse_current", max_current))
        return ProcedureResult(run_id, "hysteresis", summary, summary.get("loop_width"))

    def endurance(self, device: int = 0, current: float | None = None, cycles: int = 10000,
                  timing: str = "auto", cycle: dict | None = None) -> ProcedureResult:
        """``cycles`` cycles at one current and their moving averages (paper 002 SI S5);
        ``current`` None: the device's 50 % current from its latest usable sweep, its
        preferred switching model's own (``protocols.sweep.fifty_percent_current``; the
        summary's ``current_from_sweep`` names that sweep's run)."""
        _check_timing(timing)
        if current is None:
            sweep = latest_sweeps(self.store, self.description).get(device)
            if sweep is None:
                raise ConfigError("current", f"no usable sweep of device {device} on this "
                                  "lab gives its 50 % current (hil runs list shows why a "
                                  "sweep is unusable): give a current, or sweep the device "
                                  "first")
            current, source = fifty_percent_current(sweep), sweep["run_id"]
        else:
            current, source = si_value("current", current, "A", example_unit="mA"), None
        check_value("cycles", cycles, 1, MAX_CYCLES, whole=True)
        config = {"device": device, "current": current, "cycles": cycles,
                  "cycle": cycle_config(**(cycle or {})), "timing": timing,
                  "current_from_sweep": source}

        def body(rwr, recording) -> Plan[dict]:
            summary = yield from procedures.endurance(rwr, current, cycles)
            return {**summary, "current_from_sweep": source}

        run_id, summary = self._run("endurance", config, body,
                                    check=_limit_check("current", "pulse_current", current))
        return ProcedureResult(run_id, "endurance", summary, summary["p_switch"])

    def anisotropy(self, device: int = 0, max_field: float | None = None, points: int = 15,
                   coil_constant: float = 0.5, cycle: dict | None = None) -> ProcedureResult:
        """R_AHE vs in-plane field and the Eq. S2 fit of H_an (paper 002 SI S1), over
        +-``max_field`` (default 0.2 T, or the lab's field limit when that is lower; a field
        above the limit is refused before anything is recorded)."""
        check_value("points", points, 3, 200, whole=True)
        coil_constant = si_value("coil_constant", coil_constant, "T/A", 1e-4, 10.0)
        max_field = (min(0.2, self.lab.limits.max_field) if max_field is None else
                     si_value("max_field", max_field, "T", example_unit="mT"))
        config = {"device": device, "max_field": max_field, "points": points,
                  "coil_constant": coil_constant, "cycle": cycle_config(**(cycle or {}))}
        fields = np.linspace(-max_field, max_field, points)

        def body(rwr, recording) -> Plan[dict]:
            rwr.lab.set_coil_constant(coil_constant)
            return asdict((yield from procedures.anisotropy_field(rwr, fields)))

        run_id, summary = self._run("anisotropy", config, body,
                                    check=_limit_check("max_field", "field", max_field))
        return ProcedureResult(run_id, "anisotropy", summary, summary["h_an"])

    def survey(self, iterations: int = 100, timing: str = "auto", cycle: dict | None = None,
               devices: Sequence[int] | None = None,
               progress: Progress | None = None, network: int | None = None,
               on_estimate: Callable[[float], None] | None = None) -> ProcedureResult:
        """A sweep of every device (or of ``devices``), each routed once: its grade, I_bias,
        window and their variation, the ``network`` devices a network of that size takes
        and the ranked spares (``protocols.survey``). The lab time is priced before the
        first cycle (``lab_seconds_estimate``; ``on_estimate`` hears it) and the relays
        counted since the lab was connected: what the driver closed, and on the virtual lab
        what the 7002 did (``relay_operations``)."""
        _check_timing(timing)
        check_value("iterations", iterations, 1, MAX_ITERATIONS, whole=True)
        chosen = routed_devices(self.description) if devices is None else list(devices)
        if network is not None and not 0 <= network <= len(chosen):
            raise ConfigError("network", f"{network} is outside the allowed range "
                              f"[0, {len(chosen)}] (the surveyed devices)")
        config = {"iterations": iterations, "cycle": cycle_config(**(cycle or {})),
                  "timing": timing, "devices": chosen, "network": network}
        fits: list[SigmoidFit] = []

        def body(rwr, recording) -> Plan[dict]:
            estimate = price_survey(self.lab, rwr.settings, rwr.timing, iterations,
                                    len(chosen), self.description.get("width", 0.5e-6))
            if on_estimate is not None:
                on_estimate(estimate)
            summary = yield from survey_devices(rwr, chosen, iterations, network)
            # each device's wear budget, for the runs that follow (hil.session.wear)
            summary["wear"] = survey_budgets(self.store, self.description, chosen)
            fits.extend(SigmoidFit(f["i_bias"], f["i0"], f["i_bias_err"], f["i0_err"])
                        for f in summary["fits"])
            summary["lab_seconds_estimate"] = float(estimate)
            # a 7002's relays this connection has closed (the driver's count)
            summary["relay_closures"] = (self.lab["switch"].relay_closures
                                         if self.lab.wiring is not None else None)
            if isinstance(self.lab, VirtualLabConnection):
                summary["relay_operations"] = self.lab.relay_operations()
            return summary

        run_id, summary = self._run("survey", config, body, calibrate=False,
                                    progress=progress)
        return ProcedureResult(run_id, "survey", summary, fits)

    def run(self, kind: str, body: Body, device: int = 0, cycle: dict | None = None,
            **settings: Any) -> ProcedureResult:
        """Record a procedure of your own as the built-in ones are (``record_run``: the lab's
        limits, the device routed and calibrated, provenance, outputs off however it ends):
        ``body(rwr, recording)`` returns its plan (``protocols.plan``), which yields
        ``Readings`` as it takes them and returns the run's summary (a dict). ``settings``
        (JSON values) are kept in the run's config beside the ``device`` and ``cycle``."""
        if not kind or not isinstance(kind, str):
            raise ConfigError("kind", f"{kind!r} is not a run kind: give a name, e.g. "
                              "'my_pulse_train'")
        config = {"device": device, "cycle": cycle_config(**(cycle or {})), **settings}
        run_id, summary = self._run(kind, config, body)
        return ProcedureResult(run_id, kind, summary)

    def persistence(self, first: int, second: int) -> ProcedureResult:
        """Two recorded sweeps of a device compared (paper 002 SI S4); nothing is pulsed."""
        return persistence(self.store, first, second)


def persistence(store: RunStore, first: int, second: int) -> ProcedureResult:
    """Two recorded sweeps of a device compared (paper 002 SI S4)."""
    results = []
    for run_id in (first, second):
        run = stored_run(store, run_id, "run")
        if run.kind != "sweep" or run.status != "finished":
            raise ConfigError("run", f"run {run_id} is not a finished sweep ({run.status} "
                              f"{run.kind})")
        grade = grade_summary(run.result)
        if not grade.usable:
            raise ConfigError("run", f"sweep {run_id} is unusable: {grade.reason}")
        results.append(run)
    mismatch = procedures.identity_mismatch(results[0].config, results[1].config)
    if mismatch is not None:
        raise ConfigError("run", f"sweeps {first} and {second} cannot be compared: {mismatch}")
    summary = procedures.persistence(results[0].result, results[1].result)
    return ProcedureResult(0, "persistence", summary, summary["relative_shift"])


def _limit_check(field_name: str, limit: str, value: float) -> Callable[[SafetyLimits], None]:
    """``value`` against the lab's ``limit`` (a SafetyLimits check), refused as bad input in
    ``field_name`` (ConfigError, as every other setting), before anything is recorded."""
    def check(limits: SafetyLimits) -> None:
        try:
            getattr(limits, limit)(value)
        except ValueError as err:
            raise ConfigError(field_name, str(err)) from None

    return check


def _check_timing(timing: str) -> None:
    if timing not in TIMINGS:
        raise ConfigError("timing", f"{timing!r} is not one of {', '.join(TIMINGS)}")


def open_lab(lab_file: str | Path | None = None, *, devices: int = 4, width: float = 0.5e-6,
             seed: int | None = 0, store: RunStore | str | Path | None = None,
             limits: SafetyLimits | None = None, switch: str | None = None,
             watch: Any = None) -> Session:
    """A session on real instruments (``lab_file``) or on the virtual lab of ``devices``
    Hall bars of ``width`` (seeded by ``seed``; ``switch``: the 7001 or the 7002, by
    default the 7002 beyond 40 devices), recording into ``store`` (default: the user's run
    store). Use as a context manager: outputs are off when it ends. ``width``: SI, a pint
    quantity or a string such as "0.5um". ``watch``: what its runs watch for (``Session``)."""
    width = si_value("width", width, "m", example_unit="um")
    return Session(lab_description(lab_file, devices, width, seed, switch), store, limits,
                   watch=watch)

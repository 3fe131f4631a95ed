"""``LabBank``: neurons on real devices (or the virtual lab) through the protocols.

Neuron j is device ``devices[j]`` behind the switch card; each ``switch`` call runs one
reset-write-read cycle per neuron and time step, neuron by neuron (one switch-card move per
neuron): hardware-timed when the instruments allow it (the neuron's cycles as one 6221
waveform, read by the 2000 in a burst at its reading period as measured on the rig,
protocols/burst.py), else software-timed; both send the same pulses
(``ResetWriteRead.batches``). Each device's pulses are counted, replays included. Its
calibration comes from each device's latest finished sweep in the run store, or from a
sweep run now and recorded there.
``close`` turns every output off.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import numpy as np

from hil.banks import lab_time
from hil.banks.base import Calibration, NeuronBank
from hil.banks.calibration import nominal_calibration
from hil.errors import ConfigError
from hil.session.session import latest_sweeps
from instruments.connection import Lab
from instruments.errors import InstrumentError
from protocols.cycle import BUFFER_READINGS, CycleSettings, ResetWriteRead, measured_burst
from protocols.errors import ProtocolError
from protocols.store import RunStore
from protocols.survey import choose_network
from protocols.sweep import fifty_percent_current
from protocols.timing import choose_timing
from simulators.presets import hall_bar_preset

if TYPE_CHECKING:
    from hil.session.session import Session

__all__ = ["LabBank", "lab_banks", "latest_sweeps"]
log = logging.getLogger(__name__)


class LabBank(NeuronBank):
    """Neurons on devices behind instruments: ``devices`` of ``lab`` (routed by its switch
    card), each with its calibration. ``description``: the lab as a run's config keeps it
    (a lab file, or the virtual lab's chip), for the record of every run that uses it.

    Its state (``get_state``) is each device's state on the virtual lab and the lab time
    so far, so a resumed training run goes on as the uninterrupted one would. On real
    instruments the devices keep their own state and their thermal draws cannot be
    replayed: a resumed run is then the same experiment, not the same numbers."""

    def __init__(self, lab: Lab, devices: list[int], calibration: list[Calibration],
                 settings: CycleSettings | None = None, timing: str = "auto",
                 description: dict | None = None, share: _SharedLab | None = None) -> None:
        if len(devices) != len(calibration):
            raise ValueError("one calibration per device is needed")
        super().__init__(calibration, lab.limits.max_pulse_current)
        self.lab = lab
        self.description = description
        self.devices = list(devices)
        self.calibration_origin = "nominal: the bar width's preset"
        self._sweeps: list[int | None] = [None] * len(self.devices)
        self._restore: dict[int, dict] = {}  # device -> state, put back once it is calibrated
        self._lab_offset = 0.0  # lab seconds of earlier starts (resumed runs)
        # fast reads: at 0.01 PLC the 2000's noise (~2 uV) is far below the +-70 uV Hall step
        self.settings = settings or CycleSettings(read_nplc=0.01, autozero=False)
        self.timing = choose_timing(lab, timing, self.settings)  # software or hardware
        self._cycles: dict[int, ResetWriteRead] = {}
        self._final_lab_seconds: float | None = None
        # real instruments: lab time is the wall's since the bank opened
        self._start = time.perf_counter() if lab.clock is None else 0.0
        self.bus = "gpib"  # the rig's interface (a lab file's [wiring] bus), for pricing
        self._priced: list[tuple[int, float]] = []  # (rows, lab s) of dry-priced calls
        self._measured: list[tuple[int, float]] = []  # (rows, lab s) per device and call
        self.watch = None  # a run's watch (hil.session.watch): suspenders, reconnection
        self.share = share  # a lab under several layers' banks: the last to close closes it
        self.survey: dict | None = None  # a survey whose fits calibrate these devices
        self.spare_devices: list[int] = []  # the survey's usable devices no layer took

    @classmethod
    def from_session(cls, session: Session, devices: list[int], calibration: str = "store",
                     timing: str = "auto", iterations: int = 100) -> LabBank:
        """A bank on a session's ``devices``: ``calibration="store"`` takes each device's
        latest finished sweep (sweeping, and recording, devices without); ``"nominal"``
        the bar width's nominal device. Closing the bank closes the session's lab."""
        if calibration not in ("store", "nominal"):
            raise ConfigError("calibration", f"{calibration!r} is not one of store, nominal")
        session.connect()
        width = session.description.get("width", 0.5e-6)
        nominal = nominal_calibration(hall_bar_preset(width))
        bank = cls(session.lab, list(devices), [nominal] * len(devices), timing=timing,
                   description=session.description)
        if "lab_file" in session.description:
            from instruments.connection import LabFile

            bank.bus = LabFile.load(session.description["lab_file"]).bus
        if calibration == "store":
            bank.measure_calibration(session.store, session.description, iterations)
        return bank

    def cycle_for(self, device: int) -> ResetWriteRead:
        """The device's cycle, routed (and calibrated the first time)."""
        rwr = self._cycles.get(device)
        if rwr is None:
            rwr = ResetWriteRead(self.lab, self.settings, timing=self.timing)
        rwr.route_device(device)
        if device not in self._cycles:
            rwr.calibrate()
            self._cycles[device] = rwr
            if device in self._restore:  # after its calibration's pulses, as it was saved
                self.lab.restore_device(self._restore.pop(device))
        return rwr

    def prepare(self) -> None:
        """Route and calibrate every device's cycle now, and on the hardware route measure
        the 2000's burst against the 6221 (protocols/burst.py), so the epochs that follow
        cost only their cycles (and the first one tells the lab time of the rest)."""
        for device in self.devices:
            rwr = self.cycle_for(device)
            if self.timing == "hardware":
                rwr.burst_clock()

    def pulses(self) -> dict[int, int]:
        """Reset and write pulses sent to each device so far, replayed batches included."""
        total: Counter[int] = Counter()
        for rwr in self._cycles.values():
            total.update(rwr.pulses)
        return {device: int(total[device])  # a device retired for a spare keeps its count
                for device in sorted(set(self.devices) | set(total))}

    def routed_devices(self) -> set[int]:
        """Devices whose cycle has been routed and calibrated."""
        return set(self._cycles)

    def set_up_again(self) -> None:
        """After the instruments were opened again (``*RST``): every cycle's settings sent
        again (its levels and threshold are the device's and stay)."""
        for rwr in self._cycles.values():
            rwr.configure()

    def lab_record(self) -> dict:
        """What a run records of this bank's lab: pulses per device and, on the hardware
        route, the 2000's burst as measured on the rig."""
        record: dict = {"pulses": {str(d): n for d, n in self.pulses().items()},
                        "timing": self.timing}
        burst = measured_burst(self.lab)
        if burst is not None:
            record["burst"] = burst.record()
        return record

    @property
    def calibration_sweeps(self) -> list[int | None]:
        """The run id of each device's calibration sweep (None: not swept, nominal)."""
        return list(self._sweeps)

    def calibration_session(self, store: RunStore) -> Session:
        """A session on this bank's lab (borrowed) recording into ``store``: where a run's
        watch sweeps a device again. Unwatched: the run's own watch watches the sweep."""
        from hil.session.session import Session

        return Session(self.description, store, lab=self.lab, watch=False)

    def measure_calibration(self, store: RunStore, lab_description: dict | None = None,
                            iterations: int = 100, resumed_after: int | None = None) -> None:
        """Per-device calibration from the store's newest usable sweep of each device on
        this lab, sweeping devices without one through :meth:`Session.sweep` (recorded
        in ``store`` like any sweep, with this bank's cycle and timing).

        ``resumed_after``: the id of a run resumed before its calibration had finished; the
        sweeps it had made (runs after it) are taken as they are, and on the virtual lab
        each of those devices is put back as its sweep left it (with the sweep's lab time),
        so the resumed run goes on as if they had just been swept here."""
        from hil.session.session import Session

        lab_description = lab_description or self.description
        if lab_description is None:
            raise ConfigError("lab", "this bank's lab is not described: give lab_description")
        known = latest_sweeps(store, lab_description)
        known.update(self._survey_fits(known))
        if resumed_after is not None:
            for device in self.devices:
                sweep = known.get(device)
                if sweep is None or sweep["run_id"] <= resumed_after:
                    continue
                state = store.lab_state(sweep["run_id"])
                if state is not None and self.lab.clock is not None:
                    self.lab.restore_device(state)
                    self._lab_offset += store.get_run(sweep["run_id"]).lab_seconds or 0.0
        session = Session(lab_description, store, lab=self.lab)  # borrows the bank's lab
        self.description = self.description or lab_description
        calibration = []
        for device in self.devices:
            if device not in known:
                result = session.sweep(device, iterations=iterations, timing=self.timing,
                                       cycle=asdict(self.settings))
                known[device] = {"run_id": result.run_id, **result.summary}
                if not known[device].get("usable", True):
                    raise ProtocolError(
                        f"device {device}: its calibration sweep (run {result.run_id}) "
                        f"is unusable: {known[device].get('reason', '')}; no calibration is "
                        "taken from it")
            fit = known[device]
            calibration.append(Calibration(fifty_percent_current(fit), fit["i0"],
                                           self.settings.write_width))
        self.calibration = calibration
        self._sweeps = [known[d]["run_id"] for d in self.devices]
        self.calibration_origin = "each device's newest usable sweep on this lab (run ids in "\
            "calibration_sweeps)"

    def _survey_fits(self, known: dict[int, dict]) -> dict[int, dict]:
        """This bank's devices as its survey fitted them (paper 002 Fig. 3: a sweep of each),
        where no newer sweep of the device is known and the survey's write pulses were this
        bank's (a fit at another width is another device's curve)."""
        survey = self.survey
        width = None if survey is None else survey["cycle"].get("write_width")
        if width is None or not math.isclose(width, self.settings.write_width, rel_tol=1e-9):
            return {}
        return {device: {"run_id": survey["run_id"], **survey["fits"][device]}
                for device in self.devices if device in survey["fits"]
                and known.get(device, {}).get("run_id", 0) < survey["run_id"]}

    def spares(self) -> list[int]:
        """The survey's usable devices no layer took, best first (protocols.survey)."""
        return list(self.spare_devices)

    def lab_clock(self) -> object:
        """The lab whose clock this bank's lab seconds read (layers on one lab share it)."""
        return self.lab

    @property
    def lab_seconds(self) -> float | None:
        """Seconds the instruments took, over every start of a resumed run: the virtual
        clock on an emulated lab, the wall since the bank opened on real instruments."""
        if self._final_lab_seconds is not None:
            return self._final_lab_seconds
        return self._lab_offset + self._now() - self._start

    def _now(self) -> float:
        return time.perf_counter() if self.lab.clock is None else self.lab.clock.now()

    def get_state(self) -> dict[str, Any]:
        """Each device's state on the virtual lab (None on real instruments), which devices
        had their cycle calibrated, and the lab time so far."""
        return {"devices": {str(d): self.lab.device_state(d) for d in self.devices},
                "calibrated": sorted(self._cycles), "lab_seconds": self.lab_seconds,
                "serving": list(self.devices)}

    def set_state(self, state: Any) -> None:
        """Put the devices back as ``get_state`` found them, so the same calls draw the
        same switches: a device calibrated then is put back after its calibration here
        (now, or once it is calibrated: a fresh lab's calibration pulses would move it); one
        not yet calibrated then is put back before its calibration, which runs again. The
        lab time of the earlier starts is carried on."""
        if not state:
            return
        if state.get("serving") is not None:  # spares that took a retired device's place
            self.devices = [int(d) for d in state["serving"]]
        calibrated = set(state.get("calibrated", []))
        for key, device_state in (state.get("devices") or {}).items():
            device = int(key)
            if device_state is None:
                continue
            if device not in calibrated:
                self._cycles.pop(device, None)  # its calibration's draws come again
            if device in calibrated and device not in self._cycles:
                self._restore[device] = device_state
            else:
                self.lab.restore_device(device_state)
        if state.get("lab_seconds") is not None:
            self._lab_offset = state["lab_seconds"] - (self._now() - self._start)

    def describe(self) -> dict[str, Any]:
        from hil.session.lab import describe_lab

        return {**super().describe(), "devices": self.devices,
                "lab": None if self.description is None else describe_lab(self.description),
                "instruments": dict(self.lab.identities), "timing": self.timing,
                "cycle": asdict(self.settings), "calibration_sweeps": self.calibration_sweeps}

    def instrument_snapshot(self) -> dict[str, Any] | None:
        return self.lab.snapshot()

    def _switch(self, currents: np.ndarray) -> np.ndarray:
        flat = currents.reshape(-1, self.n_neurons)
        out = np.zeros(flat.shape, dtype=bool)
        for j in range(self.n_neurons):
            device = self.devices[j]
            routed = device in self._cycles  # (a first call also calibrates: not counted)
            before = self._now()
            readings = (self.device_readings(device, flat[:, j]) if self.watch is None else
                        self.watch.device_call(self, j, flat[:, j], self.device_readings))
            out[:, j] = [r.switched for r in readings]
            if routed:
                self._measured.append((len(flat), self._now() - before))
        return out.reshape(currents.shape)

    def device_readings(self, device: int, currents: np.ndarray) -> list:
        """One cycle per current on ``device``: its readings (protocols.cycle)."""
        rwr = self.cycle_for(device)
        return [r for batch in rwr.batches(currents) for r in batch]

    # -- lab time: a cost per instrument batch plus a cost per cycle (hil.banks.lab_time) --
    def price_lab_time(self, rows) -> None:
        """Dry-price calls spanning ``rows`` on a virtual twin of this lab (its bus, its
        line frequency, its trigger line, the instruments' data-sheet timing; no pulse
        reaches these devices): on the virtual lab and on real instruments alike."""
        if not rows:
            return
        clock = self.lab.clock
        if clock is not None and hasattr(clock, "bus_latency"):
            twin = {"latency": clock.bus_latency, "byte_time": clock.byte_time,
                    "line_frequency": clock.line_frequency}
        else:  # real instruments: the lab file's bus, the 2000's own line frequency
            twin = {**lab_time.bus_costs(self.bus),
                    "line_frequency": self.cycle_for(self.devices[0])._line_frequency()}
        sizes = lab_time.pricing_sizes(list(rows), self.timing)
        try:
            self._priced = lab_time.dry_price(twin, self.settings, self.timing,
                                              self.lab.trigger_line, self.lab.limits, sizes)
        except (ProtocolError, InstrumentError, OSError) as err:  # no estimate, no harm
            log.warning("lab time not priced: %s", err)
            self._priced = []

    def lab_cost(self) -> lab_time.BatchCost | None:
        """The per-device cost model now (priced, then corrected by measured calls)."""
        batch = BUFFER_READINGS if self.timing == "hardware" else None
        return lab_time.current_cost(self._priced, self._measured, batch)

    def lab_seconds_for(self, rows: int) -> float | None:
        model = self.lab_cost()
        return None if model is None else model.seconds(rows) * len(self.devices)

    def close(self) -> None:
        if not self._closed:
            self._final_lab_seconds = self.lab_seconds
            if self.share is None:
                self.lab.close()
            else:
                self.share.release()
        super().close()


def lab_banks(lab_file: str | None, timing: str, width: float, sizes: list[int], seed: int,
              chip: int | None = None, devices: list[int] | None = None,
              survey: int | None = None, store: RunStore | None = None) -> list[LabBank]:
    """One bank per layer of ``sizes`` devices, every layer on one lab (one set of
    instruments, one chip behind its switch): ``lab_file``'s, or the virtual lab's chip of
    ``chip`` devices (default: as many as the layers take) built from ``width`` and
    ``seed``. The devices are ``devices`` (default 0, 1, ...) or those ``survey`` (a
    survey run in ``store`` on this lab) chose for a network of this size, shared out
    layer after layer; the survey's fits are their calibration when the run asks for device
    calibration (:meth:`LabBank.measure_calibration`). Until measured, each device has the
    nominal calibration of a bar of ``width``."""
    from hil.session.lab import open_lab
    from hil.session.session import check_device, lab_description

    needed = sum(sizes)
    surveyed = None if survey is None else _survey(store, survey)
    devices, spares = _chosen_devices(devices, needed, surveyed)
    chip = chip or (surveyed["devices"] if surveyed else max(devices) + 1)
    description = (lab_description(lab_file) if lab_file is not None
                   else lab_description(None, chip, width, seed))
    if surveyed is not None and surveyed["lab"] != description:
        raise ConfigError("survey", f"run {survey} surveyed another lab "
                          f"({surveyed['lab']}), not this run's ({description})")
    for device in devices:
        check_device(description, device)
    lab = open_lab(description).connect()
    nominal = nominal_calibration(hall_bar_preset(width))
    share = _SharedLab(lab, len(sizes))
    banks: list[LabBank] = []
    try:
        start = 0
        for size in sizes:
            mine = devices[start:start + size]
            start += size
            bank = LabBank(lab, mine, [nominal] * size, timing=timing,
                           description=description, share=share)
            bank.calibration_origin = f"nominal: the {width * 1e6:g} um bar's preset"
            bank.survey = surveyed
            bank.spare_devices = spares
            banks.append(bank)
    except ProtocolError as err:
        lab.close()
        raise ConfigError("timing", str(err)) from None
    except BaseException:
        lab.close()
        raise
    return banks


class _SharedLab:
    """One lab under several layers' banks: closed (outputs off) when the last one closes."""

    def __init__(self, lab: Lab, users: int) -> None:
        self.lab, self.users = lab, users

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0:
            self.lab.close()


def _survey(store: RunStore | None, run_id: int) -> dict:
    """A finished survey's lab, devices surveyed, per-device fits, network and spares."""
    from hil.session.runner import stored_run

    if store is None:
        raise ConfigError("survey", "a survey is read from a run store: give the store")
    run = stored_run(store, run_id, "survey")
    if run.kind != "survey" or run.status != "finished":
        raise ConfigError("survey", f"run {run_id} is not a finished survey ({run.status} "
                          f"{run.kind})")
    fits = [f for f in run.result["fits"] if f.get("usable", True)]
    return {"run_id": run_id, "lab": run.config["lab"], "devices": run.result["devices"],
            "fits": {int(f["device"]): f for f in fits}, "rows": run.result["fits"],
            "cycle": run.config.get("cycle", {})}


def _chosen_devices(given: list[int] | None, needed: int,
                    survey: dict | None) -> tuple[list[int], list[int]]:
    """(the devices the layers take, in order; the spares): given, the survey's best (its
    usable devices closest to the chip's median I_bias and window, and its other usable ones
    best first: protocols.survey.choose_network), or 0..needed-1; spares only from a
    survey."""
    if survey is not None:
        chosen, spares = choose_network(survey["rows"], needed)
        if len(chosen) < needed:
            raise ConfigError("survey", f"run {survey['run_id']} found {len(chosen)} usable "
                              f"devices; the network's layers need {needed}")
        return chosen, spares
    if given is not None:
        if len(given) != needed:
            raise ConfigError("devices", f"{len(given)} devices given; the "
                              f"network's layers need {needed} (one a neuron, or one per "
                              "multiplex neurons)")
        return list(given), []
    return list(range(needed)), []

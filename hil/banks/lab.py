"""``LabBank``: neurons on real devices (or the virtual lab) through the protocols.

Neuron j is device ``devices[j]`` behind the switch card; each ``switch`` call runs one
reset-write-read cycle per neuron and time step, neuron by neuron (one switch-card move per
neuron): hardware-timed when the instruments allow it (the neuron's cycles as one 6221
waveform, read by the 2000 on its timer into its buffer), else software-timed; both send
the same pulses (``ResetWriteRead.batches``). Its calibration comes from each device's
latest finished sweep in the run store, or from a sweep run now and recorded there.
``close`` turns every output off.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from hil.banks import lab_time
from hil.banks.base import Calibration, NeuronBank
from hil.banks.calibration import nominal_calibration
from hil.errors import ConfigError
from hil.session.session import latest_sweeps
from instruments.connection import Lab
from instruments.errors import InstrumentError
from protocols.cycle import BUFFER_READINGS, CycleSettings, ResetWriteRead
from protocols.errors import ProtocolError
from protocols.store import RunStore
from protocols.sweep import fifty_percent_current
from protocols.timing import choose_timing
from simulators.presets import hall_bar_preset

if TYPE_CHECKING:
    from hil.session.session import Session

__all__ = ["LabBank", "latest_sweeps"]
log = logging.getLogger(__name__)


class LabBank(NeuronBank):
    def __init__(self, lab: Lab, devices: list[int], calibration: list[Calibration],
                 settings: CycleSettings | None = None, timing: str = "auto") -> None:
        if len(devices) != len(calibration):
            raise ValueError("one calibration per device is needed")
        super().__init__(calibration, lab.limits.max_pulse_current)
        self.lab = lab
        self.devices = list(devices)
        # fast reads: at 0.01 PLC the 2000's noise (~2 uV) is far below the +-70 uV Hall step
        self.settings = settings or CycleSettings(read_nplc=0.01, autozero=False)
        self.timing = choose_timing(lab, timing, self.settings)  # software or hardware
        self._cycles: dict[int, ResetWriteRead] = {}
        self._final_lab_seconds: float | None = None
        self._priced: list[tuple[int, float]] = []  # (rows, lab s) of dry-priced calls
        self._measured: list[tuple[int, float]] = []  # (rows, lab s) per device and call

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
        bank = cls(session.lab, list(devices), [nominal] * len(devices), timing=timing)
        if calibration == "store":
            bank.measure_calibration(session.store, session.description, iterations)
        return bank

    def cycle_for(self, device: int) -> ResetWriteRead:
        self.lab.select_device(device)
        if device not in self._cycles:
            rwr = ResetWriteRead(self.lab, self.settings, timing=self.timing)
            rwr.calibrate()
            self._cycles[device] = rwr
        return self._cycles[device]

    def prepare(self) -> None:
        """Route and calibrate every device's cycle now, so the epochs that follow cost
        only their cycles (and the first one tells the lab time of the rest)."""
        for device in self.devices:
            self.cycle_for(device)

    def measure_calibration(self, store: RunStore, lab_description: dict,
                            iterations: int = 100) -> None:
        """Per-device calibration from the store's newest usable sweep of each device on
        this lab, sweeping devices without one through :meth:`Session.sweep` (recorded
        in ``store`` like any sweep, with this bank's cycle and timing)."""
        from hil.session.session import Session

        known = latest_sweeps(store, lab_description)
        session = Session(lab_description, store, lab=self.lab)  # borrows the bank's lab
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

    @property
    def lab_seconds(self) -> float | None:
        """Virtual-clock seconds the instruments took (None on real hardware)."""
        clock = self.lab.clock
        return self._final_lab_seconds if clock is None else clock.now()

    def _switch(self, currents: np.ndarray) -> np.ndarray:
        flat = currents.reshape(-1, self.n_neurons)
        out = np.zeros(flat.shape, dtype=bool)
        for j, device in enumerate(self.devices):
            routed = device in self._cycles  # (a first call also calibrates: not counted)
            before = self.lab.clock.now() if self.lab.clock is not None else None
            rwr = self.cycle_for(device)
            out[:, j] = [r.switched for batch in rwr.batches(flat[:, j]) for r in batch]
            if before is not None and routed:
                self._measured.append((len(flat), self.lab.clock.now() - before))
        return out.reshape(currents.shape)

    # -- lab time: a cost per instrument batch plus a cost per cycle (hil.banks.lab_time) --
    def price_lab_time(self, rows) -> None:
        """Dry-price calls spanning ``rows`` on a separate virtual lab with this lab's bus
        and timing tables (no pulse reaches these devices); only on a lab with a clock."""
        clock = self.lab.clock
        if clock is None or not rows or not hasattr(clock, "bus_latency"):
            return
        sizes = lab_time.pricing_sizes(list(rows), self.timing)
        try:
            self._priced = lab_time.dry_price(clock, self.settings, self.timing,
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
            self.lab.close()
        super().close()

"""``KeithleyBank``: neurons on real devices (or the virtual lab) through the protocols.

Neuron j is device ``devices[j]`` behind the switch card; each ``switch`` call runs one
reset-write-read cycle per neuron and time step, neuron by neuron (one switch-card move per
neuron): hardware-timed when the instruments allow it (the neuron's cycles as one 6221
waveform, read by the 2000 on its timer into its buffer), else software-timed; both send
the same pulses (``ResetWriteRead.batches``). Its calibration comes from each device's
latest finished sweep in the run store, or from a sweep run now and recorded there.
``close`` turns every output off.
"""

from __future__ import annotations

import numpy as np

from hil.bank import Calibration, NeuronBank
from instruments.connection import Lab
from protocols.cycle import CycleSettings, ResetWriteRead
from protocols.store import RunStore
from protocols.sweep import sweep_device
from protocols.timing import choose_timing


def latest_sweeps(store: RunStore, lab_description: dict) -> dict[int, dict]:
    """device -> result of the newest finished sweep on the same lab."""
    found: dict[int, dict] = {}
    for run in store.list_runs():
        if run.kind == "sweep" and run.status == "finished" and \
                run.config.get("lab") == lab_description:
            found[run.config["device"]] = run.result
    return found


class KeithleyBank(NeuronBank):
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

    def cycle_for(self, device: int) -> ResetWriteRead:
        self.lab.select_device(device)
        if device not in self._cycles:
            rwr = ResetWriteRead(self.lab, self.settings, timing=self.timing)
            rwr.calibrate()
            self._cycles[device] = rwr
        return self._cycles[device]

    def measure_calibration(self, store: RunStore, lab_description: dict,
                            iterations: int = 100) -> None:
        """Per-device calibration from the store, sweeping (and recording) devices without."""
        known = latest_sweeps(store, lab_description)
        calibration = []
        for device in self.devices:
            if device not in known:
                rwr = self.cycle_for(device)
                run_id = store.create_run("sweep", {"lab": lab_description, "device": device,
                                                    "iterations": iterations, "currents": None,
                                                    "instruments": self.lab.identities},
                                          lab_description.get("seed"))
                result = sweep_device(rwr, device, None, iterations,
                                      record=lambda rows, i=run_id: store.append_readings(i, rows))
                store.finish(run_id, "finished", {"run_id": run_id, **result.summary()})
                known[device] = result.summary()
            fit = known[device]
            calibration.append(Calibration(fit["i_bias"], fit["i0"], self.settings.write_width))
        self.calibration = calibration

    @property
    def lab_seconds(self) -> float | None:
        """Virtual-clock seconds the instruments took (None on real hardware)."""
        lab = self.lab.virtual_lab
        return self._final_lab_seconds if lab is None else lab.clock.seconds

    def _switch(self, currents: np.ndarray) -> np.ndarray:
        flat = currents.reshape(-1, self.n_neurons)
        out = np.zeros(flat.shape, dtype=bool)
        for j, device in enumerate(self.devices):
            rwr = self.cycle_for(device)
            out[:, j] = [r.switched for batch in rwr.batches(flat[:, j]) for r in batch]
        return out.reshape(currents.shape)

    def close(self) -> None:
        if not self._closed:
            self._final_lab_seconds = self.lab_seconds
            self.lab.close()
        super().close()

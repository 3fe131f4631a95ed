"""A lab bank on a chip routed by the 7002 (what a 10-class network on ~90 devices will
use): device-major, each device's relays closed once per switch call (its rows all run
before the next device), its calibration from sweeps recorded in the store."""

import numpy as np

from hil.banks.lab import LabBank
from hil.session.lab import virtual_devices
from hil.session.session import Session
from protocols.store import RunStore


def test_a_lab_bank_through_the_matrix_closes_each_relay_once_per_call(tmp_path):
    description = {"virtual": True, "devices": 6, "width": 0.5e-6, "seed": 1,
                   "switch": "7002"}
    session = Session(description, RunStore(tmp_path / "runs.sqlite"))
    bank = LabBank.from_session(session, [1, 3, 5], iterations=30)
    with bank:
        emulated = session.lab.virtual_lab.instruments["switch"]
        bank.prepare()  # each device routed and calibrated once
        truth = {r["id"]: r for r in virtual_devices(6, 0.5e-6, 1, "7002")}
        for j, device in enumerate(bank.devices):
            assert abs(bank.calibration[j].i_bias - truth[device]["i_bias"]) < 0.05 * \
                truth[device]["i_bias"]
        before = dict(emulated.closures)
        currents = np.array([[1.4 * c.i_bias for c in bank.calibration]] * 8)  # P ~ 1
        switched = bank.switch(currents)
        moved = {ch: emulated.closures[ch] - before[ch] for ch in before}
        assert switched.shape == (8, 3) and switched.mean() > 0.9
        # three devices, two channels each: six relays closed, once each, for 8 rows
        assert sorted(ch for ch, n in moved.items() if n) == sorted(
            ch for d in bank.devices for ch in bank.lab.wiring.channels(d))
        assert set(moved.values()) <= {0, 1}
        assert emulated.hot_switches == 0

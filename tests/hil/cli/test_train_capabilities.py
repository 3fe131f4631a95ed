"""What a bank can do reaches the trainer through any wrapper: ``hil train --backend lab
--calibration device --multiplex 2`` sweeps each physical device once, records those sweeps in
the run store (graded, with their runs' ids in the training run's record) and reports the
lab time, as ``--multiplex 1`` does."""

import json

import pytest

from hil.cli import main
from protocols.store import RunStore

SMALL = ["--classes", "0,2,4", "--train-per-class", "1", "--test-per-class", "1",
         "--steps", "4", "--epochs", "1", "--no-compare", "--json"]


@pytest.mark.parametrize("multiplex", [1, 2])
def test_device_calibration_through_a_multiplexed_lab_bank_is_recorded(tmp_path, capsys,
                                                                       multiplex):
    path = tmp_path / "runs.sqlite"
    assert main(["--store", str(path), "train", "--backend", "lab", "--calibration", "device",
                 "--multiplex", str(multiplex), *SMALL]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    store = RunStore(path)
    sweeps = [r for r in store.list_runs() if r.kind == "sweep"]
    devices = -(-3 // multiplex)  # three output neurons, ``multiplex`` on each device
    assert len(sweeps) == devices  # one sweep per physical device, not per neuron
    assert all(r.status == "finished" for r in sweeps)
    record = store.provenance(summary["run_id"])
    layer = record["calibration"][0]
    assert layer["origin"]["sweep_runs"] == sorted(r.id for r in sweeps)
    assert len(layer["neurons"]) == 3  # every logical neuron takes its device's calibration
    measured = {(n["i_bias"], n["i0"]) for n in layer["neurons"]}
    assert len(measured) == devices  # each device's sweep, shared by its neurons
    assert record["banks"][0]["calibration"] == layer["neurons"]
    assert summary["lab_seconds"] > 0  # the instruments' clock, through the wrapper

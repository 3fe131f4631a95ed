"""Protocols and the hardware bank on the virtual lab."""

import json

import numpy as np

from hil.cli import main
from protocols.store import RunStore


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_sweep_recovers_each_devices_bias_and_i0_within_95_percent(capsys):
    assert main(["lab", "devices", "--devices", "3", "--seed", "0", "--json"]) == 0
    truth = _last_json(capsys)["devices"]
    for device in truth:
        assert main(["characterise", "sweep", "--devices", "3", "--seed", "0",
                     "--device", str(device["id"]), "--json"]) == 0
        fit = _last_json(capsys)
        assert abs(fit["i_bias"] - device["i_bias"]) < 1.96 * fit["i_bias_err"]
        assert abs(fit["i0"] - device["i0"]) < 1.96 * fit["i0_err"]
        assert fit["lab_seconds"] > 0
    runs = RunStore().list_runs()
    assert [r.kind for r in runs] == ["sweep"] * 3 and all(r.status == "finished" for r in runs)
    readings = RunStore().readings(runs[0].id)
    assert len(readings) == 15 * 100 and {"current", "r_after_write", "t"} <= set(readings[0])
    assert "MODEL 6221" in runs[0].config["instruments"]["pulse"]


def test_bad_sweep_input_refused_before_any_pulse(capsys):
    assert main(["characterise", "sweep", "--iterations", "0"]) == 2
    assert "iterations" in capsys.readouterr().err
    assert main(["characterise", "sweep", "--currents", "0.2mA:2mA:5"]) == 2
    assert "pulse current" in capsys.readouterr().err
    assert main(["characterise", "sweep", "--device", "9", "--devices", "4"]) == 2
    assert RunStore().list_runs() == []


def test_train_through_the_virtual_lab(capsys):
    assert main(["train", "--backend", "lab", "--classes", "0,2", "--train-per-class", "2",
                 "--steps", "10", "--epochs", "2", "--calibration", "device", "--json",
                 "--no-progress"]) == 0
    payload = _last_json(capsys)
    assert payload["lab_seconds"] > 2 * 4 * 10 * 2 * 100e-6  # at least the write pulses
    assert 0.0 <= payload["hil_accuracy"] <= 1.0 and "deployed_accuracy" in payload
    kinds = sorted(r.kind for r in RunStore().list_runs())
    assert kinds == ["sweep", "sweep", "train"]  # each device characterised and recorded
    assert np.isfinite(payload["loss_history"]).all()


def test_lab_backend_refuses_hidden_layers(capsys):
    assert main(["train", "--backend", "lab", "--hidden", "10"]) == 2
    assert "hidden" in capsys.readouterr().err

"""The new neurons from the command line: ``hil simulate presets | telegraph`` and
``hil train --backend telegraph`` (paper 004), with their refusals."""

import json

import numpy as np
import pytest

from hil.cli import main
from simulators.macrospin import PRESETS


def _json_line(capsys):
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1]), out


def test_presets_list_each_neuron_with_its_paper_and_default_dt(capsys):
    assert main(["simulate", "presets", "--json"]) == 0
    payload, _ = _json_line(capsys)
    rows = {r["name"]: r for r in payload["presets"]}
    assert set(rows) == set(PRESETS)
    assert rows["vcma-004"]["paper"] == "004" and rows["mtj-000-vcma"]["paper"] == "000"
    assert rows["mtj-000"]["default_dt"] == pytest.approx(2.5e-12)
    assert main(["simulate", "presets"]) == 0
    table = capsys.readouterr().out
    assert any(line.split()[:2] == ["vcma-004", "004"] for line in table.splitlines())
    assert table.splitlines()[0].split()[:2] == ["preset", "paper"]


def test_simulate_telegraph_prints_neel_brown_and_its_sigmoid(capsys):
    assert main(["simulate", "telegraph", "--gate-voltage", "0.1V", "--fields=-2mT:2mT:5",
                 "--json"]) == 0
    payload, lines = _json_line(capsys)
    device = PRESETS["vcma-004"]
    assert payload["e_b_kT"] == pytest.approx(device.barrier(0.1))
    assert payload["weight"] == pytest.approx(4 * device.barrier(0.1) / device.h_k(0.1))
    p = np.array(payload["p_high"])
    assert p[2] == pytest.approx(0.5) and np.all(np.diff(p) > 0)
    assert payload["fields"] == pytest.approx([-2e-3, -1e-3, 0.0, 1e-3, 2e-3])
    assert any("tau_high" in line for line in lines)


@pytest.mark.parametrize(("argv", "field"), [
    (["simulate", "telegraph", "--gate-voltage", "5V"], "gate_voltage"),
    (["simulate", "telegraph", "--fields", "1mT:2mT"], "fields"),
    (["simulate", "telegraph", "--preset", "nope"], "preset"),
    (["train", "--backend", "telegraph", "--gate-voltage", "5V"], "gate_voltage"),
    (["train", "--backend", "llgs", "--eta", "0.2", "--eta-window", "0.1"], "eta_window"),
])
def test_bad_input_names_the_field(argv, field, capsys):
    assert main(argv) == 2
    assert f"error: {field}" in capsys.readouterr().err


def test_train_backend_telegraph(tmp_path, capsys):
    store = tmp_path / "runs.sqlite"
    assert main(["--store", str(store), "train", "--backend", "telegraph", "--classes", "0,1",
                 "--train-per-class", "20", "--test-per-class", "20", "--steps", "20",
                 "--epochs", "3", "--no-compare", "--json", "--no-progress",
                 "--plot", str(tmp_path / "f.png")]) == 0
    payload, lines = _json_line(capsys)
    assert payload["test_images"] == 40
    assert payload["loss_history"][-1] < payload["loss_history"][0]
    assert payload["hil_accuracy"] > 0.75  # 0 against 1 is easy; chance is 0.5
    assert any("vcma-004 telegraphic neurons at 0 V" in line for line in lines)

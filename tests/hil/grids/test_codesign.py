"""``hil codesign`` and ``hil compare``: grid points, stored weights, resume, statistics."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hil.cli import main
from hil.grids import codesign
from hil.grids.compare import DRIFT, drifted, paired_table, verdict
from hil.nn.network import SpikingNet


@pytest.fixture(scope="module")
def weights() -> bytes:
    return codesign.weights_bytes(SpikingNet(codesign.LAYERS, torch.Generator().manual_seed(4)))


@pytest.fixture(scope="module")
def held_out():
    return codesign.held_out(codesign.CodesignOptions(test_images=40))


def test_weights_survive_export_and_reload(weights, held_out):
    net = codesign.net_from_bytes(weights)
    again = codesign.net_from_bytes(codesign.weights_bytes(net))
    x = torch.from_numpy(held_out[0])
    assert torch.equal(net.forward_ideal(x), again.forward_ideal(x))


def test_held_out_images_interleave_classes(held_out):
    assert held_out[1][:10].tolist() == list(range(10))


def _point(width, eta, steps, seed=0):
    return {"width": width, "eta": eta, "seed": seed, "max_steps": steps}


def test_a_point_is_reproducible_and_a_prefix_is_the_shorter_run(weights, held_out):
    long = codesign.deploy_point(_point(1e-6, 0.1, 8), weights, *held_out)
    assert long == codesign.deploy_point(_point(1e-6, 0.1, 8), weights, *held_out)
    short = codesign.deploy_point(_point(1e-6, 0.1, 4), weights, *held_out)
    assert [short[f"acc_T{t}"] for t in range(1, 5)] == [long[f"acc_T{t}"] for t in range(1, 5)]
    assert long["accuracy"] == long["acc_T8"]


def test_read_energy_from_5um_to_03um_is_50x(weights, held_out):
    """Fig. 3d: the same spikes (common random numbers) at eta = 0, energy ~ I0^2."""
    small = codesign.deploy_point(_point(0.3e-6, 0.0, 10), weights, *held_out)
    large = codesign.deploy_point(_point(5e-6, 0.0, 10), weights, *held_out)
    assert small["input_spikes"] == large["input_spikes"]
    assert large["read_energy"] / small["read_energy"] == pytest.approx(50, rel=0.2)


def test_codesign_cli_stores_points_writes_figures_and_resumes(tmp_path, weights, capsys):
    weights_file = tmp_path / "w.pt"
    weights_file.write_bytes(weights)
    store = str(tmp_path / "runs.sqlite")
    out = tmp_path / "out"
    argv = ["--store", store, "codesign", "--widths", "0.3um,5um", "--etas", "0,0.25",
            "--seeds", "2", "--test-images", "20", "--steps", "4", "--weights",
            str(weights_file), "--workers", "1", "--out", str(out), "--no-progress",
            "--export-weights", str(tmp_path / "again.pt"), "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["points"] == 8 and first["computed"] == 8 and not first["failed"]
    assert (tmp_path / "again.pt").read_bytes() == weights
    lines = Path(first["csv"]).read_text().strip().splitlines()
    assert len(lines) == 9 and "acc_T4" in lines[0] and "read_energy" in lines[0]
    for path in first["figures"].values():
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["--store", store, "codesign", "--resume", str(first["run_id"]), "--out",
                 str(out), "--no-progress", "--json", "--workers", "1"]) == 0
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert resumed["computed"] == 0 and resumed["points"] == 8


def test_codesign_cli_refuses_a_width_outside_the_papers_bars(tmp_path, capsys):
    assert main(["--store", str(tmp_path / "r.sqlite"), "codesign", "--widths", "0.1um"]) == 2
    assert "widths" in capsys.readouterr().err


def test_drift_moves_every_device_within_si_s4s_bound():
    from hil.banks.model import model_bank

    bank = model_bank(200, 0.5e-6, 0.25, seed=1)
    before = bank.devices.i_bias(bank.pulse_width)
    drifted(bank, DRIFT, np.random.default_rng(0))
    change = bank.devices.i_bias(bank.pulse_width) / before - 1
    assert np.abs(change).max() <= DRIFT + 1e-12 and np.abs(change).max() > 0.9 * DRIFT


def test_paired_table_and_verdict():
    rows = [{"nonideality": "none", "eta": 0.25, "seed": s, "deployed-nominal": 0.5,
             "deployed-device": 0.8 + 0.01 * s, "hil": 0.8 + 0.01 * s + d}
            for s, d in enumerate([0.0, 0.02, -0.02, 0.0])]
    (entry,) = paired_table(rows)
    assert entry["seeds"] == 4
    assert entry["hil - deployed-device"][0] == pytest.approx(0.0, abs=1e-12)
    assert entry["hil - deployed-nominal"][0] == pytest.approx(0.315)
    assert entry["verdict"].startswith("no difference resolved")
    assert verdict(0.05, 0.01).startswith("HIL beats")
    assert verdict(-0.05, 0.01).startswith("the digital twin beats")


def test_compare_point_scores_three_ways_on_the_same_devices():
    from hil.grids.compare import METHODS, Experiment, compare_point, split

    exp = Experiment(classes=(0, 1), train_per_class=4, validation_per_class=5,
                     test_per_class=10, steps=10, epochs=2, lrs=(0.5,), batches=(8, 4))
    data = split(exp)
    assert len(data[1][1]) == 10 and len(data[2][1]) == 20
    row = compare_point({"eta": 0.25, "seed": 3, "nonideality": "drift"}, exp, data)
    for method in METHODS:
        assert 0.0 <= row[method] <= 1.0 and 0.0 <= row[f"{method}_val"] <= 1.0
        assert row[f"{method}_choice"] in ("lr0.5-b8", "lr0.5-b4")
        best = max(row[f"val_{method}_lr0.5-b{b}"] for b in (8, 4))
        assert row[f"{method}_val"] == best  # chosen on validation, not on held-out
    again = compare_point({"eta": 0.25, "seed": 3, "nonideality": "drift"}, exp, data)
    assert again == row  # seeded: the same devices, noise and spikes

"""``hil codesign``: grid points, stored weights, resume, statistics."""

import json
from pathlib import Path

import pytest
import torch

from hil.cli import main
from hil.grids import codesign
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

"""``hil train`` says what its neurons were: through instruments, the lab's devices and chip
(never the simulated Hall bars' "0.5 um bars, eta = 0.25"), and how they were calibrated."""

from __future__ import annotations

import pytest

from hil.cli import main
from protocols.store import RunStore, default_store_path
from simulators.lab.chip import build_chip
from simulators.lab.server import VirtualLab

SHORT = ["--classes", "0,2", "--train-per-class", "2", "--test-per-class", "2", "--steps",
         "4", "--epochs", "1", "--no-compare", "--no-progress"]


def _header(out: str) -> str:
    return next(line for line in out.splitlines() if line.startswith("run "))


def test_the_header_of_a_virtual_lab_run_names_its_devices_and_chip(capsys):
    assert main(["train", "--backend", "lab", *SHORT]) == 0
    header = _header(capsys.readouterr().out)
    assert "devices 0, 1 of the virtual lab's chip (2 bars of 0.5 um, seed 0)" in header
    assert "um bars, eta" not in header and "nominal calibration (a 0.5 um bar's preset)" \
        in header
    record = RunStore(default_store_path()).provenance(1)  # and the run says it too
    (bank,) = record["banks"]
    assert bank["lab"] == {"virtual": True, "devices": 2, "width": 0.5e-6, "seed": 0,
                           "instruments": "the virtual lab's emulated 6221, 2000, 2400 and "
                           "7001"}
    assert bank["devices"] == [0, 1] and bank["calibration_origin"].startswith("nominal")
    assert record["instruments"]["pulse"]["output"] in ("0", "1")  # the snapshot at start
    assert record["data"]["classes"] == [0, 2] and record["seeds"]["seed"] == 0


@pytest.mark.parametrize("calibration", ["nominal", pytest.param("device",
                                                                 marks=pytest.mark.slow)])
def test_the_header_of_a_lab_file_run_names_its_chip_and_calibration(tmp_path, capsys,
                                                                     calibration):
    with VirtualLab(build_chip(2, 0.5e-6, 4)) as virtual:
        rig = tmp_path / "rig.toml"
        rig.write_text('chip = "wafer 7, die 3"\ndevices = [0, 1]\n[roles]\n' + "".join(
            f'{role} = "{entry["resource"]}"\n' for role, entry in virtual.resources.items()))
        assert main(["train", "--backend", "lab", "--lab", str(rig), "--calibration",
                     calibration, *SHORT]) == 0
    header = _header(capsys.readouterr().out)
    assert f"devices 0, 1 of chip 'wafer 7, die 3' through the instruments of {rig}" in header
    lab = RunStore(default_store_path()).provenance(1)["banks"][0]["lab"]
    assert lab["chip"] == "wafer 7, die 3" and lab["content"] == rig.read_text()
    assert "um bars, eta" not in header
    assert ("device calibration (sweep runs 2, 3)" if calibration == "device" else
            "nominal calibration (a 0.5 um bar's preset)") in header  # run 1 trains


def test_the_header_of_a_model_run_says_its_bars_are_simulated(capsys):
    assert main(["train", *SHORT]) == 0
    assert "simulated 0.5 um bars, eta = 0.25, nominal calibration" in _header(
        capsys.readouterr().out)

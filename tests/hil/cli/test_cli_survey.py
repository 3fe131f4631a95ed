"""``hil characterise survey`` through the 7002 and ``hil lab serve --devices 96``: the
quick gate surveys 4 devices; the 96-device chip (defects, drift) is ``slow``."""

import json
import signal
import subprocess
import sys

import pytest
import pyvisa

from hil.cli import main
from hil.session.lab import virtual_devices
from instruments.connection import LabFile


def survey(capsys, tmp_path, *options, status=0):
    chip_map = tmp_path / "chip-map.png"
    assert main(["--store", str(tmp_path / "runs.sqlite"), "characterise", "survey",
                 "--map", str(chip_map), "--json", *options]) == status
    out = capsys.readouterr()
    return json.loads(out.out.strip().splitlines()[-1]), out, chip_map


def test_a_survey_through_the_matrix_prices_routes_grades_and_maps(capsys, tmp_path):
    summary, out, chip_map = survey(capsys, tmp_path, "--devices", "4", "--switch", "7002",
                                    "--iterations", "20", "--network", "2")
    assert "estimated lab time" in out.err
    assert summary["grades"] == {str(d): "usable" for d in range(4)}
    assert len(summary["network"]) == 2 and len(summary["spares"]) == 2
    assert summary["relay_closures"] == 8 == summary["relay_operations"]["closures"]
    assert summary["lab_seconds"] == pytest.approx(summary["lab_seconds_estimate"], rel=0.05)
    assert chip_map.stat().st_size > 10_000
    assert "the 7002 counted 8 closures" in out.out


def test_lab_serve_at_scale_is_a_7002_and_writes_each_devices_channels(tmp_path):
    lab_file = tmp_path / "lab.toml"
    proc = subprocess.Popen([sys.executable, "-m", "hil.cli", "lab", "serve", "--json",
                             "--devices", "96", "--write-lab", str(lab_file)],
                            stdout=subprocess.PIPE, text=True)
    try:
        roles = json.loads(proc.stdout.readline())
        assert roles["switch"]["model"] == "7002"
        switch = pyvisa.ResourceManager("@py").open_resource(
            roles["switch"]["resource"], read_termination="\n", write_termination="\n",
            timeout=2000)
        assert "MODEL 7002" in switch.query("*IDN?")
        assert [switch.query(f":ROUT:CONF:SLOT{s}:CTYP?").strip() for s in (5, 6)] == \
            ["C7011", "NONE"]  # 96 devices, 20 a card: five cards
        switch.close()
        wiring = LabFile.load(lab_file).wiring
        assert wiring.devices == list(range(96))
        assert wiring.channels(95) == {(5, 26), (5, 36)}
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait() == 0


@pytest.mark.slow
def test_a_96_device_chip_survey_names_its_defects_and_keeps_its_estimate(capsys, tmp_path):
    # a chip with defects: the survey ends with status 3, naming each unusable device
    summary, out, chip_map = survey(capsys, tmp_path, "--devices", "96", "--network", "90",
                                    status=3)
    truth = {r["id"]: r["defect"] for r in virtual_devices(96, 0.5e-6, 0, "7002")}
    assert all(f"device {d}: " in out.err for d, defect in truth.items() if defect)
    expected = {"dead": "no switching", "stuck at -1": "no switching",
                "stuck at +1": "stuck at +1", "open": "open"}
    for device, defect in truth.items():
        grade = summary["grades"][str(device)]
        assert grade == (expected[defect] if defect else "usable"), (device, defect, grade)
    assert summary["usable_devices"] == 90 and len(summary["network"]) == 90
    assert summary["relay_closures"] == 2 * 96 == summary["relay_operations"]["closures"]
    assert summary["relay_operations"]["hot_switches"] == 0
    # defective devices are never swept: the survey takes less than the estimate, by
    # about their share of it
    ratio = summary["lab_seconds"] / summary["lab_seconds_estimate"]
    assert 0.90 < ratio < 1.0
    assert summary["i_bias_variation"] < 0.26  # paper 002 Eq. 3: eta = 25 % spread

"""The Keithley 2182A as the Hall voltmeter, through real sockets: a served virtual lab whose
lab file names it (``[models] voltmeter = "2182A"``) runs a sweep and a short training on
the software route, its sweep agrees with the same device's on the 2000's hardware route,
and ``--timing hardware`` is refused by name before any current reaches the device."""

import argparse
import contextlib
import json
import math

import numpy as np

from hil.cli import main
from hil.cli.lab import lab_file_text
from protocols.store import RunStore
from simulators.lab.chip import build_chip
from simulators.lab.server import VirtualLab

SEED = 3  # device 0: I_bias 0.3045 mA, I0 6.9 uA (hil lab devices --devices 2 --seed 3)
SWEEP = ["--device", "0", "--currents", "0.27mA:0.34mA:8", "--iterations", "40", "--seed",
         "0", "--json"]


@contextlib.contextmanager
def served(tmp_path, voltmeter: str):
    """A virtual lab on loopback and the lab file ``hil lab serve --write-lab`` writes."""
    with VirtualLab(build_chip(2, 0.5e-6, SEED), voltmeter=voltmeter) as lab:
        path = tmp_path / f"{voltmeter}.toml"
        path.write_text(lab_file_text(lab.resources, argparse.Namespace(
            devices=2, width="0.5um", seed=SEED)))
        yield lab, path


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_a_sweep_read_by_the_2182a_agrees_with_the_2000s(tmp_path, capsys):
    fits = {}
    for meter in ("2000", "2182A"):
        with served(tmp_path, meter) as (_, path):
            assert main(["characterise", "sweep", "--lab", str(path), *SWEEP]) == 0
            fits[meter] = _last_json(capsys)
    hardware, nano = fits["2000"], fits["2182A"]
    assert (hardware["timing"], nano["timing"]) == ("hardware", "software")
    assert abs(nano["i_bias"] - hardware["i_bias"]) < 1.96 * math.hypot(
        nano["i_bias_err"], hardware["i_bias_err"])
    # the same pulses on the same device: the 2182A reads every verdict the 2000 reads
    assert nano["counts"] == hardware["counts"]
    idn = RunStore().list_runs()[-1].config["instruments"]["voltmeter"]
    assert "MODEL 2182A" in str(idn)


def test_hardware_timing_with_a_2182a_is_refused_by_name_before_any_pulse(tmp_path, capsys):
    with served(tmp_path, "2182A") as (lab, path):
        assert main(["characterise", "sweep", "--lab", str(path), "--timing", "hardware",
                     *SWEEP]) == 2
        err = capsys.readouterr().err
        assert "timing: hardware timing is not available" in err
        assert "2182A, whose driver has no triggered buffer" in err  # the capability
        assert lab.instruments["pulse"].output is False
        assert np.max(np.abs(lab.chip.received)) == 0.0  # no current reached a device
    assert RunStore().list_runs() == []


def test_a_short_training_read_by_the_2182a(tmp_path, capsys):
    with served(tmp_path, "2182A") as (lab, path):
        assert main(["train", "--backend", "lab", "--lab", str(path), "--classes", "0,2",
                     "--train-per-class", "1", "--test-per-class", "1", "--steps", "4",
                     "--epochs", "1", "--json", "--no-progress"]) == 0
        payload = _last_json(capsys)
        assert lab.instruments["voltmeter"].readings  # the 2182A took the reads
    assert payload["epochs_run"] == 1 and np.isfinite(payload["loss_history"]).all()
    store = RunStore()
    (run,) = store.list_runs()
    assert run.status == "finished" and "MODEL 2182A" in str(store.provenance(run.id))

"""Calibrations one can trust: units required, every fit graded, an unusable sweep never
used; surveys cover every routed device; persistence compares one device only."""

import json

import numpy as np
import pytest

from hil.banks.lab import latest_sweeps
from hil.cli import main
from protocols.fitting import fit_sigmoid, grade_fit
from protocols.store import RunStore
from protocols.sweep import grade_summary
from simulators.lab.chip import build_chip
from simulators.lab.server import VirtualLab

VIRTUAL = {"virtual": True, "devices": 4, "width": 0.5e-6, "seed": 0}


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _truth(seed=0, device=0):
    return float(build_chip(4, 0.5e-6, seed).devices.select(device).i_bias(100e-6)[0])


def _good_sweep(capsys, seed=0, device=0, extra=()):
    centre = _truth(seed, device) * 1e3
    assert main(["characterise", "sweep", "--seed", str(seed), "--device", str(device),
                 "--currents", f"{centre - 0.03:.4f}mA:{centre + 0.03:.4f}mA:10",
                 "--iterations", "60", "--json", *extra]) == 0
    return _last_json(capsys)


def test_a_bare_number_is_refused_naming_the_unit(capsys):
    assert main(["characterise", "sweep", "--currents", "0.25:0.35:15",
                 "--iterations", "20"]) == 2
    err = capsys.readouterr().err
    assert "currents" in err and "has no unit" in err and "'0.25mA'" in err
    for command in (["characterise", "endurance", "--current", "0.3"],
                    ["characterise", "hysteresis", "--max-current", "0.6"],
                    ["characterise", "anisotropy", "--max-field", "0.2"],
                    ["characterise", "sweep", "--write-width", "100"],
                    ["train", "--width", "0.5"]):
        assert main(command) == 2
        assert "has no unit" in capsys.readouterr().err
    assert RunStore().list_runs() == []  # refused before any record


def test_limit_errors_speak_the_unit_the_user_typed(capsys):
    assert main(["characterise", "endurance", "--current", "900uA", "--cycles", "5"]) == 2
    assert "900 uA is outside the allowed range [-750, 750] uA" in capsys.readouterr().err
    assert main(["characterise", "sweep", "--currents", "0.2mA:2mA:5"]) == 2
    assert "1.1 mA is outside the allowed range [-0.75, 0.75] mA" in capsys.readouterr().err


def test_unit_slip_is_stored_unusable_and_never_becomes_a_calibration(capsys):
    """The scenario of a sweep typed in uA where mA was meant: it never crosses 50 %."""
    assert main(["characterise", "sweep", "--currents", "0.25uA:0.35uA:15",
                 "--iterations", "20", "--json"]) == 3  # recorded, and unusable
    out = capsys.readouterr()
    payload = json.loads(out.out.strip().splitlines()[-1])
    assert "I (uA)" in out.out  # the table reads in the unit typed
    assert payload["usable"] is False and payload["reason"].startswith("never crossed 50 %")
    assert "unusable: never crossed 50 %" in out.err
    (run,) = RunStore().list_runs()
    assert run.status == "unusable" and run.result["reason"].startswith("never crossed")
    assert latest_sweeps(RunStore(), VIRTUAL) == {}
    # endurance takes no 50 % current from it
    assert main(["characterise", "endurance", "--cycles", "10"]) == 2
    assert "no usable sweep of device 0" in capsys.readouterr().err
    assert main(["runs", "list"]) == 0
    assert "unusable: never crossed 50 %" in capsys.readouterr().out
    assert main(["characterise", "sweep", "--resume", str(run.id)]) == 2  # complete


def test_a_graded_unusable_sweep_is_never_used_even_when_newest(capsys):
    good = _good_sweep(capsys)
    assert good["usable"] is True
    assert abs(good["i_bias"] - _truth()) < 3 * good["i_bias_err"]
    # newer, unusable (too few cycles to pin I_bias down: one per current)
    centre = _truth() * 1e3
    assert main(["characterise", "sweep", "--currents",
                 f"{centre - 0.2:.4f}mA:{centre - 0.1:.4f}mA:5", "--iterations", "3"]) == 3
    capsys.readouterr()
    store = RunStore()
    assert [r.status for r in store.list_runs()] == ["finished", "unusable"]
    # and a stored "finished" sweep whose counts fail the grade (a record older than the
    # grading): graded again from its own counts, so also never used
    config = {"lab": VIRTUAL, "device": 0, "iterations": 10, "currents": [1e-4, 2e-4, 3e-4]}
    run_id = store.create_run("sweep", config, 0)
    store.finish(run_id, "finished", {"run_id": run_id, "device": 0,
                                      "currents": [1e-4, 2e-4, 3e-4], "counts": [0, 0, 1],
                                      "trials": [10, 10, 10], "i_bias": 3.5e-4,
                                      "i0": 2e-5, "i_bias_err": 1e-5, "i0_err": 1e-5})
    chosen = latest_sweeps(store, VIRTUAL)
    assert chosen[0]["run_id"] == good["run_id"]
    assert main(["characterise", "endurance", "--cycles", "200", "--json"]) == 0
    endurance = _last_json(capsys)
    assert endurance["current"] == pytest.approx(good["i_50"])  # its own 50 % current


def test_unusable_calibration_sweep_stops_lab_training(capsys, monkeypatch):
    """``--calibration device`` sweeps a device with no usable sweep; if that sweep is
    unusable the run stops with the reason instead of training on it."""
    from hil.session import session
    from protocols.fitting import FitGrade

    monkeypatch.setattr(session, "grade_summary", lambda result: FitGrade(False, "x"))
    real = session.sweep_device

    def unusable(*args, **kwargs):
        result = yield from real(*args, **kwargs)
        result.grade = FitGrade(False, "never crossed 50 % (forced)")
        return result

    monkeypatch.setattr(session, "sweep_device", unusable)
    assert main(["train", "--backend", "lab", "--classes", "0,2", "--train-per-class", "1",
                 "--test-per-class", "1", "--steps", "5", "--epochs", "1",
                 "--calibration", "device", "--no-progress"]) == 1
    assert "is unusable: never crossed 50 % (forced)" in capsys.readouterr().err
    statuses = {r.kind: r.status for r in RunStore().list_runs()}
    assert statuses == {"sweep": "unusable", "train": "failed"}


@pytest.mark.parametrize("counts, reason", [
    ([0, 0, 0, 0, 0], "never crossed 50 %"),
    ([0, 2, 5, 6, 7], "covers only"),
    ([10, 10, 10, 10, 10], "never crossed 50 %"),
])
def test_grade_rules(counts, reason):
    currents = np.linspace(0.3e-3, 0.4e-3, 5)
    counts = np.array(counts)
    try:
        fit = fit_sigmoid(currents, counts / 10, 10)
    except (RuntimeError, ValueError):
        fit = None
    grade = grade_fit(currents, counts, 10, fit)
    assert not grade.usable and grade.reason.startswith(reason)


def test_grade_accepts_a_well_measured_curve_and_bounds_errors():
    rng = np.random.default_rng(5)
    currents = np.linspace(0.32e-3, 0.40e-3, 15)
    p = 1 / (1 + np.exp(-(currents - 0.36e-3) / 8e-6))
    counts = rng.binomial(100, p)
    fit = fit_sigmoid(currents, counts / 100, 100)
    assert grade_fit(currents, counts, 100, fit).usable
    from protocols.fitting import SigmoidFit

    wide_i0 = SigmoidFit(fit.i_bias, fit.i0, fit.i_bias_err, 0.6 * fit.i0)
    assert grade_fit(currents, counts, 100, wide_i0).reason.startswith("I0 uncertain by 60 %")
    wide_bias = SigmoidFit(fit.i_bias, fit.i0, 0.06 * fit.i_bias, fit.i0_err)
    assert grade_fit(currents, counts, 100, wide_bias).reason.startswith("I_bias uncertain")
    outside = SigmoidFit(0.5e-3, fit.i0, fit.i_bias_err, fit.i0_err)
    assert grade_fit(currents, counts, 100, outside).reason == \
        "I_bias lies outside the swept currents"
    summary = {"currents": currents.tolist(), "counts": counts.tolist(), "trials": [100] * 15,
               **fit.as_dict()}
    assert grade_summary(summary).usable
    assert not grade_summary({**summary, "usable": False, "reason": "r"}).usable
    assert not grade_summary(None).usable


def _lab_file(path, virtual, devices=None, chip="test chip"):
    text = f'chip = "{chip}"\n'
    if devices is not None:
        text += f"devices = {devices}\n"
    text += "[roles]\n" + "".join(f'{role} = "{entry["resource"]}"\n'
                                  for role, entry in virtual.resources.items())
    path.write_text(text)
    return path


def test_survey_over_a_lab_file_covers_every_routed_device(capsys, tmp_path):
    """The scenario of a served 4-device lab surveyed through a lab file."""
    with VirtualLab(build_chip(4, 0.5e-6, 1)) as virtual:
        rig = _lab_file(tmp_path / "rig.toml", virtual, devices=[0, 1, 2, 3])
        assert main(["characterise", "survey", "--lab", str(rig), "--iterations", "30",
                     "--json", "--plot", str(tmp_path / "survey.png")]) == 0
        payload = _last_json(capsys)
        assert [f["device"] for f in payload["fits"]] == [0, 1, 2, 3]
        truth = [float(virtual.chip.devices.select(j).i_bias(100e-6)[0]) for j in range(4)]
        assert payload["i_bias_variation"] > 0.005  # four different devices, not one
        for fit, true in zip(payload["fits"], truth, strict=True):
            assert abs(fit["i_bias"] - true) < 4 * fit["i_bias_err"] + 2e-6
        assert (tmp_path / "survey.png").read_bytes()[:4] == b"\x89PNG"
        # a switch card without a device list: refused with what to add, before any run
        bare = _lab_file(tmp_path / "bare.toml", virtual)
        assert main(["characterise", "survey", "--lab", str(bare)]) == 2
        assert "add devices = [0, 1, ...]" in capsys.readouterr().err
        assert virtual.instruments["pulse"].output is False
    assert [r.kind for r in RunStore().list_runs()] == ["survey"]


def test_persistence_refuses_sweeps_of_different_chips_and_devices(capsys):
    """The scenario of two chips' sweeps compared as one device's drift."""
    first = _good_sweep(capsys, seed=0)
    other_chip = _good_sweep(capsys, seed=1)
    assert main(["characterise", "persistence", str(first["run_id"]),
                 str(other_chip["run_id"])]) == 2
    assert "different labs or chips" in capsys.readouterr().err
    other_device = _good_sweep(capsys, seed=0, device=1)
    assert main(["characterise", "persistence", str(first["run_id"]),
                 str(other_device["run_id"])]) == 2
    assert "different devices (0 vs 1)" in capsys.readouterr().err
    again = _good_sweep(capsys, seed=0)
    assert main(["characterise", "persistence", str(first["run_id"]), str(again["run_id"]),
                 "--json"]) == 0
    drift = _last_json(capsys)
    assert drift["sigma"] < 4  # the same device, unchanged: no significant drift


def test_persistence_refuses_other_instruments_and_unusable_sweeps(capsys):
    store = RunStore()
    result = {"currents": np.linspace(3e-4, 4e-4, 10).tolist(), "trials": [100] * 10,
              "counts": [0, 2, 10, 30, 50, 70, 90, 98, 100, 100], "i_bias": 3.5e-4,
              "i0": 1e-5, "i_bias_err": 1e-6, "i0_err": 1e-6}
    ids = []
    for idn in ("KEITHLEY 6221 serial 1", "KEITHLEY 6221 serial 2"):
        run_id = store.create_run("sweep", {"lab": {"lab_file": "rig.toml"}, "device": 0,
                                            "instruments": {"pulse": idn}}, None)
        store.finish(run_id, "finished", result)
        ids.append(run_id)
    assert main(["characterise", "persistence", *map(str, ids)]) == 2
    assert "different instruments" in capsys.readouterr().err
    bad = store.create_run("sweep", {"lab": {"lab_file": "rig.toml"}, "device": 0}, None)
    store.finish(bad, "unusable", {**result, "usable": False, "reason": "covers only"})
    assert main(["characterise", "persistence", str(ids[0]), str(bad)]) == 2
    assert "not a finished sweep (unusable sweep)" in capsys.readouterr().err

"""Protocols and the hardware bank on the virtual lab."""

import json

import numpy as np
import pytest

from hil.cli import main
from protocols.store import RunStore


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_sweep_recovers_each_devices_bias_and_i0_within_95_percent(capsys):
    # one fixed seed; that the intervals cover 95 % of the time over many sweeps is
    # test_hallbar's test_sigmoid_fit_intervals_cover_...
    assert main(["lab", "devices", "--devices", "3", "--seed", "1", "--json"]) == 0
    truth = _last_json(capsys)["devices"]
    for device in truth:
        assert main(["characterise", "sweep", "--devices", "3", "--seed", "1",
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
    assert "currents = 1.1 mA is outside" in capsys.readouterr().err
    assert main(["characterise", "sweep", "--device", "9", "--devices", "4"]) == 2
    assert main(["characterise", "sweep", "--read-current", "200uA"]) == 2
    assert "read_current" in capsys.readouterr().err
    for flags, field in ((["--reset-current=0.5mA"], "reset_current"),
                         (["--reset-current=-2mA"], "reset_current"),
                         (["--reset-width", "1s"], "reset_width"),
                         (["--read-nplc", "20"], "read_nplc"),
                         (["--interval", "2s", "--timing", "hardware"], "timing")):
        assert main(["characterise", "sweep", *flags]) == 2
        assert f"error: {field}" in capsys.readouterr().err
    assert RunStore().list_runs() == []
    # a reset too weak to reset: found from the readings, the run stops with outputs off
    assert main(["characterise", "sweep", "--reset-current=-0.2mA", "--currents",
                 "0.3mA:0.4mA:4"]) == 1
    assert "does not switch" in capsys.readouterr().err
    assert [r.status for r in RunStore().list_runs()] == ["failed"]


def test_train_through_the_virtual_lab(capsys):
    assert main(["train", "--backend", "lab", "--classes", "0,2", "--train-per-class", "2",
                 "--test-per-class", "1", "--steps", "10", "--epochs", "2", "--calibration",
                 "device", "--json",
                 "--no-progress"]) == 0
    payload = _last_json(capsys)
    assert payload["lab_seconds"] > 2 * 4 * 10 * 2 * 100e-6  # at least the write pulses
    assert 0.0 <= payload["hil_accuracy"] <= 1.0 and "deployed_accuracy" in payload
    kinds = sorted(r.kind for r in RunStore().list_runs())
    assert kinds == ["sweep", "sweep", "train"]  # each device characterised and recorded
    assert np.isfinite(payload["loss_history"]).all()


def test_lab_backend_trains_a_hidden_layer_on_chosen_devices(capsys):
    """``--hidden`` on the lab: the hidden layer's devices, then the outputs', as
    ``--devices`` lists them on a chip of ``--chip``; a list of the wrong length is refused
    by name before any instrument is touched."""
    options = ["train", "--backend", "lab", "--hidden", "2", "--chip", "8", "--steps", "3",
               "--epochs", "1", "--train-per-class", "1", "--test-per-class", "1",
               "--no-compare", "--no-progress", "--json"]
    assert main([*options, "--devices", "7,5,0,1,2,3"]) == 0
    payload = _last_json(capsys)
    run = RunStore().get_run(payload["run_id"])
    assert sorted(int(d) for d in run.result["pulses"]) == [0, 1, 2, 3, 5, 7]
    assert run.config["bank"]["devices"] == [7, 5, 0, 1, 2, 3]
    # one lab under both layers: its clock once, as the run recorded it
    assert payload["lab_seconds"] == pytest.approx(run.result["lab_seconds"], rel=1e-6)
    assert main([*options, "--devices", "7,5,0"]) == 2
    assert "devices" in capsys.readouterr().err


@pytest.mark.parametrize("timing", ["software", "hardware"])
def test_sweep_killed_with_sigkill_keeps_its_readings_and_resumes(tmp_path, timing):
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    env = {**os.environ, "SPINHIL_HOME": str(tmp_path / "home")}
    # software-timed cycles are ~30x slower: fewer per current, the same checks
    iterations = 60 if timing == "hardware" else 20
    total, killed_after = 12 * iterations, 12 * iterations // 5
    options = ["characterise", "sweep", "--currents", "0.26mA:0.36mA:12", "--iterations",
               str(iterations), "--seed", "0", "--timing", timing, "--json"]
    victim = subprocess.Popen([sys.executable, "-m", "hil.cli", *options], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "home" / "runs.sqlite"
    kept = 0
    while kept < killed_after and victim.poll() is None:  # no clock: a loaded machine waits
        time.sleep(0.02)
        if db.exists():
            with sqlite3.connect(db) as con:
                try:
                    (kept,) = con.execute("SELECT COUNT(*) FROM readings").fetchone()
                except sqlite3.OperationalError:
                    kept = 0
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    store = RunStore(db)
    run = store.list_runs()[0]
    before = store.readings(run.id)
    assert run.status == "interrupted" and killed_after <= len(before) < total
    if timing == "hardware":
        assert len(before) % iterations == 0  # a batch is stored whole or not at all
    resumed = subprocess.run([sys.executable, "-m", "hil.cli", "characterise", "sweep",
                              "--resume", str(run.id), "--json"], env=env, text=True,
                             capture_output=True)
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert resumed.returncode == (0 if result["usable"] else 3), resumed.stderr
    after = store.readings(run.id)
    assert after[: len(before)] == before  # nothing kept was rewritten
    assert sorted((r["index"], r["iteration"]) for r in after) == \
        [(k, n) for k in range(12) for n in range(iterations)]  # every cycle exactly once
    # graded like any sweep (this range stops below device 0's 50 % point: unusable)
    assert store.get_run(run.id).status == ("finished" if result["usable"] else "unusable")
    # the uninterrupted sweep with the same seed: the same counts, reading for reading
    fresh = {**env, "SPINHIL_HOME": str(tmp_path / "fresh")}
    full = subprocess.run([sys.executable, "-m", "hil.cli", *options], env=fresh, text=True,
                          capture_output=True)
    assert full.returncode == resumed.returncode, full.stderr
    reference = json.loads(full.stdout.strip().splitlines()[-1])
    assert result["counts"] == reference["counts"] and result["i_bias"] == reference["i_bias"]
    uninterrupted = RunStore(tmp_path / "fresh" / "runs.sqlite").readings(reference["run_id"])

    def switched(readings):
        return {(r["index"], r["iteration"]): r["switched"] for r in readings}

    assert switched(after) == switched(uninterrupted)


def test_export_in_pymeasure_results_format(tmp_path, capsys):
    from pymeasure.experiment import Results

    assert main(["characterise", "sweep", "--iterations", "10", "--currents",
                 "0.27mA:0.34mA:8", "--json"]) == 3  # unusable (below 50 %), kept all the same
    run_id = _last_json(capsys)["run_id"]
    path = tmp_path / "sweep.csv"
    assert main(["runs", "export", str(run_id), "--format", "pymeasure", "-o", str(path)]) == 0
    loaded = Results.load(str(path))
    assert loaded.procedure.device == 0 and loaded.procedure.iterations == 10
    assert len(loaded.data) == 80
    assert set(loaded.data["Switched"].unique()) <= {0, 1}


@pytest.mark.parametrize(("kind", "role"), [("drop", "voltmeter"), ("garble", "voltmeter"),
                                           ("late", "voltmeter"), ("partial", "pulse"),
                                           ("multiple", "voltmeter")])
def test_faults_during_a_sweep_and_training_never_store_a_wrong_reading(tmp_path, kind, role):
    from hil.banks.base import Calibration
    from hil.banks.lab import LabBank
    from hil.session.lab import connect_virtual
    from protocols.cycle import ResetWriteRead
    from protocols.plan import run_plan
    from protocols.sweep import sweep_device
    from simulators.lab.chip import build_chip
    from simulators.lab.server import Fault, VirtualLab

    store = RunStore(tmp_path / "runs.sqlite")
    with VirtualLab(build_chip(2, 0.5e-6, 4)) as virtual:
        with connect_virtual(lab=virtual) as lab:
            lab.timeout_ms = 1000
            for role in ("pulse", "voltmeter"):
                lab.reconnect(role)
            rwr = ResetWriteRead(lab)
            rwr.calibrate()
            low, high = rwr.levels
            for timing in ("software", "hardware"):  # a cycle, or a batch, is repeated
                rwr.timing = timing
                repeats = rwr.repeats
                virtual.faults.append(Fault(kind, role, virtual.lines[role] + 30, delay=2.0))
                run_id = store.create_run("sweep", {"fault": kind, "timing": timing}, 4)
                result = run_plan(sweep_device(rwr, 0, np.linspace(0.26e-3, 0.36e-3, 5), 12),
                                  lambda rows, i=run_id: store.append_readings(i, rows))
                assert rwr.repeats > repeats  # the fault struck and the step was repeated
                readings = store.readings(run_id)
                assert len(readings) == 60 and sum(result.counts) == sum(
                    r["switched"] for r in readings)
                for r in readings:  # every stored reading is one of the two real levels
                    # (within 7 sigma of the 0.01 PLC reads' noise; the levels are 3 ohm apart)
                    assert min(abs(r["r_after_write"] - low),
                               abs(r["r_after_write"] - high)) < 0.3

            # training through the same lab: a fault inside a batch of cycles
            bank = LabBank(lab, [0, 1], [Calibration(0.3e-3, 8e-6, 100e-6)] * 2)
            virtual.faults.append(Fault(kind, role, virtual.lines[role] + 40, delay=2.0))
            switched = bank.switch(np.full((20, 2), 0.7e-3))
            assert switched.all()  # far above I_bias: every cycle switches, none guessed
            bank.close()
        assert virtual.instruments["pulse"].output is False


def test_hardware_timed_sweep_matches_the_model_and_the_software_path(capsys):
    from simulators.lab.chip import build_chip

    device = build_chip(2, 0.5e-6, 7).devices.select(0)
    centre = float(device.i_bias(100e-6)[0])
    results = {}
    for timing in ("software", "hardware", "auto"):
        assert main(["characterise", "sweep", "--devices", "2", "--seed", "7", "--json",
                     "--currents", f"{centre - 15e-6}A:{centre + 15e-6}A:7", "--iterations",
                     "200", "--timing", timing]) == 0
        results[timing] = _last_json(capsys)
    hardware, software = results["hardware"], results["software"]
    assert results["auto"]["timing"] == "hardware"  # the virtual lab has the trigger link
    exact = device.p_switch(np.array(hardware["currents"])[:, None], 100e-6)[:, 0]
    from protocols.fitting import wilson_interval

    low, high = wilson_interval(np.array(hardware["counts"]), 200, confidence=0.999)
    assert np.all((low <= exact) & (exact <= high))  # the model's P, cycle by cycle
    # the same pulses on both paths: the same switches, so the same counts and fit
    assert hardware["counts"] == software["counts"] == results["auto"]["counts"]
    assert hardware["i_bias"] == software["i_bias"]
    # the instruments time the cycles: far less lab time than one SCPI exchange per step
    assert hardware["lab_seconds"] < software["lab_seconds"] / 10


def test_hardware_timed_training_through_the_virtual_lab(capsys):
    args = ["train", "--backend", "lab", "--classes", "0,2", "--train-per-class", "2",
            "--test-per-class", "1", "--steps", "10", "--epochs", "2", "--json", "--no-progress",
            "--seed", "3"]
    assert main([*args, "--timing", "hardware"]) == 0
    hardware = _last_json(capsys)
    assert main([*args, "--timing", "software"]) == 0
    software = _last_json(capsys)
    assert np.isfinite(hardware["loss_history"]).all()
    # the same pulses either way: the same switches, so the same training
    assert hardware["loss_history"] == software["loss_history"]
    assert hardware["hil_accuracy"] == software["hil_accuracy"]
    # one waveform per neuron and batch instead of ~30 SCPI exchanges per cycle
    assert hardware["lab_seconds"] < software["lab_seconds"] / 5


def test_timing_falls_back_to_software_without_the_trigger_link(tmp_path, capsys):
    from hil.session.lab import connect_virtual
    from protocols.cycle import ProtocolError
    from protocols.timing import choose_timing
    from simulators.lab.chip import build_chip
    from simulators.lab.server import VirtualLab

    with VirtualLab(build_chip(2, 0.5e-6, 1), trigger_link=False) as virtual:
        with connect_virtual(lab=virtual) as lab:
            lab.select_device(0)
            state = virtual.device_state()
            assert choose_timing(lab, "auto") == "software"
            with pytest.raises(ProtocolError, match="trigger link"):
                choose_timing(lab, "hardware")
            assert virtual.device_state()["state"] == state["state"]  # no current flowed
            assert lab["voltmeter"].read_voltage() == pytest.approx(0.0, abs=1e-4)  # usable
        assert virtual.instruments["pulse"].output is False
    # the same rig served, from a lab file: the CLI refuses hardware timing with the reason
    with VirtualLab(build_chip(2, 0.5e-6, 1), trigger_link=False) as virtual:
        rig = tmp_path / "rig.toml"
        rig.write_text("[roles]\n" + "".join(f'{role} = "{entry["resource"]}"\n'
                                              for role, entry in virtual.resources.items()))
        for command in (["characterise", "sweep"], ["train", "--backend", "lab"]):
            assert main([*command, "--lab", str(rig), "--timing", "hardware"]) == 2
            assert "timing: hardware timing is not available" in capsys.readouterr().err
        assert main(["characterise", "sweep", "--lab", str(rig), "--currents",
                     "0.26mA:0.36mA:4", "--iterations", "5", "--json"]) == 3  # unusable
        assert _last_json(capsys)["timing"] == "software"  # auto fell back
        assert virtual.instruments["pulse"].output is False
    with VirtualLab(build_chip(2, 0.5e-6, 1)) as virtual, connect_virtual(lab=virtual) as lab:
        assert choose_timing(lab, "auto") == "hardware"
        assert choose_timing(lab, "software") == "software"


def _hardware_sweep_readings(path, stuck_in_third_batch: bool) -> list[dict]:
    """A hardware-timed sweep (6 currents x 30 cycles) stored in ``path``; optionally the
    device sticks at +1 while the third batch plays."""
    from hil.session.lab import connect_virtual
    from protocols.cycle import ProtocolError, ResetWriteRead
    from protocols.plan import run_plan
    from protocols.sweep import sweep_device
    from simulators.lab.chip import build_chip
    from simulators.lab.server import Fault, VirtualLab

    store = RunStore(path)
    run_id = store.create_run("sweep", {}, 5)
    fault = Fault("stuck", "pulse", 10**9, device=0, state=1)
    with VirtualLab(build_chip(2, 0.5e-6, 5), faults=[fault]) as virtual:
        with connect_virtual(lab=virtual) as lab:
            lab.select_device(0)
            rwr = ResetWriteRead(lab, timing="hardware")
            rwr.calibrate()

            def record(rows):
                if stuck_in_third_batch and len(store.readings(run_id)) == 30:  # 2nd batch
                    fault.after = virtual.lines["pulse"] + 5  # strikes as the 3rd starts
                store.append_readings(run_id, rows)

            try:
                run_plan(sweep_device(rwr, 0, np.linspace(0.26e-3, 0.36e-3, 6), 30), record)
            except ProtocolError as err:
                assert stuck_in_third_batch and "did not reset" in str(err)
        assert fault.fired == stuck_in_third_batch
        assert virtual.instruments["pulse"].output is False
    return store.readings(run_id)


def test_hardware_batch_after_a_reset_that_stopped_resetting_is_never_stored(tmp_path):
    clean = _hardware_sweep_readings(tmp_path / "clean.sqlite", False)
    kept = _hardware_sweep_readings(tmp_path / "stuck.sqlite", True)
    assert len(clean) == 6 * 30
    assert len(kept) == 60  # two batches before the fault; the one it struck is not stored
    assert [r["switched"] for r in kept] == [r["switched"] for r in clean[:60]]


def test_reply_faults_corrupt_as_named_and_refuse_what_they_cannot_strike():
    from simulators.lab.server import Fault

    with pytest.raises(ValueError, match="fault kind 'melt'"):
        Fault("melt", "pulse", 0)
    with pytest.raises(ValueError, match="only a reply fault"):
        Fault("drop", "pulse", 0, command="*OPC?")
    reading, error = "-6.239731E-05,1.000000E-04", '0,"No error"'
    assert Fault("count", "voltmeter", 0).corrupt(reading) == b"-6.239731E-05"
    assert Fault("multiple", "pulse", 0).corrupt("1") == b"1,1"
    assert Fault("partial", "voltmeter", 0).corrupt(reading) == b"-6.239731E-05"  # count
    assert Fault("partial", "voltmeter", 0).corrupt("-6.239731E-05") == b"-6.239"
    assert Fault("unit", "voltmeter", 0).corrupt("1.0E-03") == b"1.0E-03VDC"
    assert Fault("overflow", "field", 0).corrupt(error) == b'+9.9E37,"No error"'
    assert Fault("nan", "pulse", 0).corrupt("CURR") == b"NaN"  # no number: all of it
    assert Fault("binary", "pulse", 0).corrupt("1")[:3] == b"\x00\x80\xff"
    assert Fault("empty", "switch", 0).corrupt("(@1!1)") == b""
    assert Fault("garble", "pulse", 0, command=":READ?").strikes("  :read?")
    assert not Fault("garble", "pulse", 0, command=":READ?").strikes(":FETC?")

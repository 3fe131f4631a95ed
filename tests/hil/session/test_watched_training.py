"""A training run on the served virtual lab that watches itself: a device dies on the lab's
clock, the run retires it for a spare (swept, the network told), finishes, and its record
holds every event with its lab time; the checkpoint keeps the spare in its place."""

from __future__ import annotations

import io

import pytest
import torch

from hil.banks.calibration import nominal_calibration
from hil.banks.lab import LabBank
from hil.cli.main import main
from hil.learn.config import TrainConfig
from hil.learn.train import Trainer
from hil.session.lab import connect_virtual
from hil.session.session import lab_description
from hil.session.suspenders import suspenders_from_mapping
from protocols.store import RunStore
from simulators.lab.chip import build_chip
from simulators.lab.clock import LabClock
from simulators.lab.faults import FaultSchedule
from simulators.lab.server import VirtualLab
from simulators.presets import hall_bar_preset


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A six-epoch run on devices 0-3 of a six-device chip; device 1 dies at 27 lab s
    (the calibration sweeps end near 26 lab s; an epoch takes about 1 lab s)."""
    tmp_path = tmp_path_factory.mktemp("night")
    store = RunStore(tmp_path / "runs.sqlite")
    schedule = FaultSchedule.from_mapping({"die": [{"device": 1, "at": 27.0}]}, 6)
    virtual, bank = _lab_bank(store, schedule)
    try:
        config = TrainConfig(backend="lab", classes=[0, 2, 4, 6], train_per_class=4,
                             test_per_class=5, steps=10, epochs=6, seed=3, compare=False)
        trainer = Trainer(config, banks=[bank])
        trainer.watch = suspenders_from_mapping({"spares": [4, 5], "stuck": {"window": 100},
                                                 "sweep_iterations": 50})
        result = trainer.run(store)
    finally:
        bank.close()
        virtual.stop()
    return tmp_path / "runs.sqlite", store, result, schedule, bank


def test_a_training_run_replaces_a_dying_device_and_finishes(night):
    _, store, result, schedule, bank = night
    run = store.get_run(result.run_id)
    assert run.status == "finished" and len(result.loss_history) == 6
    events = store.provenance(result.run_id)["events"]
    retire = next(e for e in events if e["action"] == "retire")
    assert retire["device"] == 1 and retire["spare"] == 4
    struck = schedule.log()[0]["struck"]
    assert retire["lab_clock"] >= struck  # found after the lab killed it, on its clock
    assert bank.devices == [0, 4, 2, 3]
    swept = next(e for e in events if e["action"] == "recalibrated")
    assert result.calibration[0][1]["i_bias"] == pytest.approx(swept["i_bias"])
    state = torch.load(io.BytesIO(store.latest_checkpoint(result.run_id)[1]),
                       weights_only=False)
    assert state["banks"][0]["serving"] == [0, 4, 2, 3]  # a resumed run keeps the spare
    assert state["calibration"][0][1]["i_bias"] == pytest.approx(swept["i_bias"])
    assert store.provenance(result.run_id)["watch"]["spares"] == [4, 5]


def _watch_lines(store_path, run_id: int, capsys) -> list[str]:
    assert main(["--store", str(store_path), "runs", "watch", str(run_id), "--once"]) == 0
    return capsys.readouterr().out.splitlines()


def test_hil_runs_watch_prints_the_events_and_epochs_of_a_run(night, capsys):
    path, _, result, _, _ = night
    run_id = result.run_id
    lines = _watch_lines(path, run_id, capsys)
    assert lines[0] == f"run {run_id} (train): finished"
    assert any("stuck" in line and "retire" in line and "device 1" in line for line in lines)
    assert sum(line.startswith("epoch ") for line in lines) == 6
    assert lines[-1].startswith(f"run {run_id}: finished")


def test_hil_train_refuses_a_bad_suspenders_table_by_name(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('[train]\nbackend = "lab"\nepochs = 1\n[suspenders.drift]\n'
                      'tolerance = 3.0\n')
    assert main(["--store", str(tmp_path / "runs.sqlite"), "train", "--config",
                 str(config)]) == 2
    assert "suspenders.drift.tolerance" in capsys.readouterr().err


def _lab_bank(store: RunStore, schedule: FaultSchedule):
    virtual = VirtualLab(build_chip(6, 0.5e-6, 0), LabClock.for_bus("gpib"),
                         faults=schedule).start()
    lab = connect_virtual(lab=virtual).connect()
    description = lab_description(None, 6, 0.5e-6, 0)
    bank = LabBank(lab, [0, 1, 2, 3], [nominal_calibration(hall_bar_preset(0.5e-6))] * 4,
                   timing="hardware", description=description)
    bank.measure_calibration(store, description)
    return virtual, bank


def test_a_run_stopped_after_a_retirement_resumes_with_the_spare_in_place(tmp_path):
    """Ctrl-C after epoch 4 (device 1 retired for spare 4 before it); the run resumed on a
    fresh virtual lab goes on with spare 4 and its sweep's calibration, retires nothing
    again, and finishes with the earlier events kept."""
    store = RunStore(tmp_path / "runs.sqlite")
    config = TrainConfig(backend="lab", classes=[0, 2, 4, 6], train_per_class=4,
                         test_per_class=5, steps=10, epochs=6, seed=3, compare=False)
    settings = {"spares": [4, 5], "stuck": {"window": 100}, "sweep_iterations": 50}

    def stop_after_four(stage, done, total, metrics):
        if stage == "train" and done == 4:
            raise KeyboardInterrupt

    virtual, bank = _lab_bank(store, FaultSchedule.from_mapping(
        {"die": [{"device": 1, "at": 27.0}]}, 6))
    trainer = Trainer(config, stop_after_four, banks=[bank])
    trainer.watch = suspenders_from_mapping(settings)
    try:
        with pytest.raises(KeyboardInterrupt) as stopped:
            trainer.run(store)
    finally:
        bank.close()
        virtual.stop()
    run_id = stopped.value.run_id
    before = store.provenance(run_id)["events"]
    assert [e["device"] for e in before if e["action"] == "retire"] == [1]
    virtual, bank = _lab_bank(store, FaultSchedule())
    trainer = Trainer(config, banks=[bank])
    trainer.watch = suspenders_from_mapping(store.provenance(run_id)["watch"])
    try:
        result = trainer.run(store, resume_id=run_id)
    finally:
        bank.close()
        virtual.stop()
    assert store.get_run(run_id).status == "finished" and len(result.loss_history) == 6
    assert bank.devices == [0, 4, 2, 3]
    after = store.provenance(run_id)["events"]
    assert after[:len(before)] == before
    assert [e["device"] for e in after if e["action"] == "retire"] == [1]
    swept = next(e for e in before if e["action"] == "recalibrated")
    assert result.calibration[0][1]["i_bias"] == pytest.approx(swept["i_bias"])

"""A stopped training run resumed equals the uninterrupted one, for every bank: the model
Hall bars, the telegraphic MTJs, the stochastic LLGS, the lab's devices on the virtual lab
(a fresh virtual lab on resume, as after a crash) and multiplexed banks: the same loss,
training and validation accuracy for every epoch, the same held-out predictions, HIL and
deployed. The stop comes where Ctrl-C or a kill would leave the run: after an epoch's
checkpoint, or in the middle of the lab's calibration sweeps."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from hil.learn.config import TrainConfig
from hil.learn.train import Trainer
from protocols.store import RunStore

SHORT = {"epochs": 4, "train_per_class": 4, "test_per_class": 5, "steps": 10, "seed": 3,
         "classes": [0, 2]}
BANKS = {
    # dropout, Adam and a cosine schedule: torch's global stream, the optimiser's moments
    # and the schedule's step must all come back
    "model": {"backend": "model", "classes": [0, 2, 4, 6], "dropout": 0.2, "optimizer": "adam",
              "lr": 0.05, "scheduler": "cosine", "validation_per_class": 2},
    "multiplexed": {"backend": "model", "multiplex": 2, "classes": [0, 2, 4]},
    "telegraph": {"backend": "telegraph", "preset": "vcma-004", "classes": [0, 2, 4]},
    "lab": {"backend": "lab", "calibration": "device", "validation_per_class": 1},
    "lab-multiplexed": {"backend": "lab", "multiplex": 2, "classes": [0, 2, 4]},
    # two layers on one lab: every device's state and the shared clock come back
    "lab-hidden": {"backend": "lab", "hidden": [2], "chip": 6, "devices": [5, 3, 0, 1],
                   "steps": 4, "batch_size": 4},
    "llgs": {"backend": "llgs", "preset": "mtj-000-7.5kT", "pulse_width": 1e-9, "steps": 4,
             "train_per_class": 2, "test_per_class": 2, "epochs": 3},
}


def _config(bank: str) -> TrainConfig:
    return TrainConfig(**{**SHORT, **BANKS[bank]}).validate()


def _train(store: RunStore, config: TrainConfig, stop_after_epoch: int | None = None,
           resume: int | None = None):
    def progress(stage: str, done: int, total: int, metrics: dict) -> None:
        if stage == "train" and done == stop_after_epoch:  # its checkpoint is stored
            raise KeyboardInterrupt

    return Trainer(config, progress).run(store, resume_id=resume)


def _histories(store: RunStore, result) -> dict:
    metrics = store.metrics(result.run_id)
    return {"loss": result.loss_history, "train_accuracy": result.train_accuracy,
            "validation": result.validation, "hil": result.hil.predictions,
            "hil_confidence": result.hil.confidence,
            "deployed": None if result.deployed is None else result.deployed.predictions,
            "software_loss": result.software_loss_history,
            "stored": {name: series for name, series in metrics.items() if name != "lr"},
            "lr": metrics["lr"]}


def _resumed_equals_uninterrupted(tmp_path, bank: str, stop_after_epoch: int) -> dict:
    config = _config(bank)
    reference = RunStore(tmp_path / "uninterrupted.sqlite")
    expected = _histories(reference, _train(reference, config))
    store = RunStore(tmp_path / "runs.sqlite")
    with pytest.raises(KeyboardInterrupt) as stopped:
        _train(store, config, stop_after_epoch=stop_after_epoch)
    run_id = stopped.value.run_id
    assert store.get_run(run_id).status == "aborted"
    assert len(store.metrics(run_id)["loss"]) == stop_after_epoch
    got = _histories(store, _train(store, config, resume=run_id))
    assert got == expected
    assert [step for step, _ in store.metrics(run_id)["loss"]] == list(range(config.epochs))
    assert store.get_run(run_id).status == "finished"
    return expected


@pytest.mark.parametrize("bank", ["model", "multiplexed", "telegraph", "lab",
                                  "lab-multiplexed", "lab-hidden"])
def test_a_stopped_run_resumed_equals_the_uninterrupted_one(tmp_path, bank):
    expected = _resumed_equals_uninterrupted(tmp_path, bank, stop_after_epoch=2)
    assert len(set(expected["loss"])) > 1  # the runs did train, epoch after epoch


@pytest.mark.slow
def test_an_llgs_run_resumed_equals_the_uninterrupted_one(tmp_path):
    _resumed_equals_uninterrupted(tmp_path, "llgs", stop_after_epoch=1)


def test_a_lab_run_stopped_during_its_calibration_sweeps_resumes_exactly(tmp_path,
                                                                         monkeypatch):
    """Stopped after device 0's calibration sweep: the resumed run keeps that sweep,
    puts device 0 of its fresh virtual lab back as the sweep left it, sweeps device 1,
    and trains to the uninterrupted result."""
    from hil.session.session import Session

    config = _config("lab")
    reference = RunStore(tmp_path / "uninterrupted.sqlite")
    expected = _histories(reference, _train(reference, config))
    sweep, sweeps = Session.sweep, []

    def sweep_then_stop(self, *args, **kwargs):
        result = sweep(self, *args, **kwargs)
        sweeps.append(result.run_id)
        if len(sweeps) == 1:
            raise KeyboardInterrupt
        return result

    store = RunStore(tmp_path / "runs.sqlite")
    monkeypatch.setattr(Session, "sweep", sweep_then_stop)
    with pytest.raises(KeyboardInterrupt) as stopped:
        _train(store, config)
    monkeypatch.undo()
    run_id = stopped.value.run_id
    assert store.latest_checkpoint(run_id) is None  # stopped before any checkpoint
    got = _histories(store, _train(store, config, resume=run_id))
    assert got == expected
    kinds = [(run.kind, run.status) for run in store.list_runs()]
    assert kinds == [("train", "finished"), ("sweep", "finished"), ("sweep", "finished")]
    banks = store.provenance(run_id)["banks"]
    assert banks[0]["calibration_sweeps"] == [sweeps[0], 3]  # device 0's sweep was kept


def _checkpoints(db) -> int:
    try:
        with sqlite3.connect(db) as con:
            return con.execute("SELECT COALESCE(MAX(step) + 1, 0) FROM checkpoints "
                               "WHERE run_id=1").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


@pytest.mark.slow
def test_hil_train_on_the_virtual_lab_stopped_by_ctrl_c_resumes_to_the_same_epochs(tmp_path):
    """The report's own steps: ``hil train --backend lab --epochs 12``, SIGINT after epoch
    6, ``hil train --resume 1``: every epoch's loss and accuracy, and the held-out ones,
    as the uninterrupted run's (before, epoch 7 differed: 1.9333 against 2.0391); its lab
    time counts every start."""
    options = ["train", "--backend", "lab", "--epochs", "12", "--json", "--no-progress"]

    def last_json(text: str) -> dict:
        return json.loads(text.strip().splitlines()[-1])

    reference = subprocess.run([sys.executable, "-m", "hil.cli", *options], text=True,
                               capture_output=True, check=True,
                               env={**os.environ, "SPINHIL_HOME": str(tmp_path / "ref")})
    expected = last_json(reference.stdout)
    env = {**os.environ, "SPINHIL_HOME": str(tmp_path / "home")}
    victim = subprocess.Popen([sys.executable, "-m", "hil.cli", *options], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    db = tmp_path / "home" / "runs.sqlite"
    while victim.poll() is None and _checkpoints(db) < 6:  # no clock: a loaded machine waits
        time.sleep(0.05)
    victim.send_signal(signal.SIGINT)
    _, err = victim.communicate()
    assert victim.returncode == 130
    assert err.strip().endswith("interrupted; outputs are off (confirmed by OUTP?)")
    stored = RunStore(db)
    assert stored.get_run(1).status == "aborted"
    done = len(stored.metrics(1)["loss"])
    assert 6 <= done < 12
    resumed = subprocess.run([sys.executable, "-m", "hil.cli", "train", "--resume", "1",
                              "--json", "--no-progress"], text=True, capture_output=True,
                             check=True, env=env)
    got = last_json(resumed.stdout)
    for key in ("loss_history", "train_accuracy", "hil_accuracy", "deployed_accuracy"):
        assert got[key] == expected[key], key
    assert got["lab_seconds"] == pytest.approx(expected["lab_seconds"], rel=0.05)


def test_hil_train_resume_refuses_a_run_a_script_gave_banks_for(tmp_path, capsys):
    from hil.banks.model import model_bank
    from hil.cli import main

    def stop(stage: str, *_) -> None:
        if stage == "train":
            raise KeyboardInterrupt

    store = RunStore(tmp_path / "runs.sqlite")
    config = TrainConfig(**{**SHORT, "epochs": 2, "compare": False}).validate()
    with pytest.raises(KeyboardInterrupt) as stopped:
        Trainer(config, stop, banks=[model_bank(2, 0.5e-6, 0.25, seed=1)]).run(store)
    assert store.get_run(stopped.value.run_id).config["banks"] == "given"
    assert main(["--store", str(tmp_path / "runs.sqlite"), "train", "--resume",
                 str(stopped.value.run_id)]) == 2
    assert "a script gave; resume it from that script" in capsys.readouterr().err

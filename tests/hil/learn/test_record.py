"""A user's own loop over a model with device neurons, recorded in the run store with
``hil.record_training``: what the run ran on is in its record, and a loop stopped and
resumed from the store gives the uninterrupted loop's losses, epoch for epoch (a lazy layer
on simulated Hall bars, and a layer on the virtual lab's devices)."""

from __future__ import annotations

import pytest
import torch

import hil
from protocols.store import RunStore

X = torch.rand(24, 6, generator=torch.Generator().manual_seed(0))
Y = (X.sum(1) > 3).long()


def _model(bank=None) -> torch.nn.Module:
    torch.manual_seed(0)
    neurons = bank if bank is not None else (
        lambda n: hil.model_bank(n, 0.5e-6, eta=0.25, seed=1))  # lazy: built on first use
    return torch.nn.Sequential(torch.nn.Linear(6, 2), hil.DeviceNeurons(neurons, steps=8),
                               torch.nn.Linear(2, 2))


def _loop(store: RunStore, model: torch.nn.Module, epochs: int, stop_after: int | None = None,
          resume: int | None = None) -> int:
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    with hil.record_training(store, model, optimizer, config={"lr": 0.05}, seed=0,
                             resume=resume) as run:
        for epoch in run.epochs(epochs):
            order = torch.randperm(len(X))  # torch's global stream: restored on resume
            loss = torch.nn.functional.cross_entropy(model(X[order]), Y[order])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.log(epoch, loss=loss.item())
            if epoch == stop_after:
                raise KeyboardInterrupt
        run.result = {"epochs": epochs}
    return run.id


def _losses(store: RunStore, run_id: int) -> list[float]:
    return [value for _, value in store.metrics(run_id)["loss"]]


def test_a_recorded_loop_stopped_and_resumed_gives_the_uninterrupted_losses(tmp_path):
    reference = RunStore(tmp_path / "a.sqlite")
    expected = _losses(reference, _loop(reference, _model(), 5))
    store = RunStore(tmp_path / "b.sqlite")
    with pytest.raises(KeyboardInterrupt) as stopped:
        _loop(store, _model(), 5, stop_after=1)
    run_id = stopped.value.run_id
    assert store.get_run(run_id).status == "aborted" and len(_losses(store, run_id)) == 2
    _loop(store, _model(), 5, resume=run_id)  # a fresh model and bank, as after a crash
    assert _losses(store, run_id) == expected
    assert len(set(expected)) == 5  # it trained
    run = store.get_run(run_id)
    assert (run.kind, run.status, run.result) == ("training-loop", "finished", {"epochs": 5})
    record = store.provenance(run_id)
    (bank,) = record["banks"]
    assert bank["bank"] == "ModelBank" and bank["width"] == 0.5e-6 and bank["eta"] == 0.25
    assert bank["neurons"] == 2 and len(bank["calibration"]) == 2
    assert "nominal" in bank["calibration_origin"]
    assert "DeviceNeurons" in record["model"] and len(record["starts"]) == 2


def test_a_recorded_loop_on_the_virtual_lab_resumes_exactly_and_keeps_its_snapshot(tmp_path):
    def lab_bank(path):
        session = hil.open_lab(devices=2, store=path)
        return hil.LabBank.from_session(session, [0, 1], calibration="nominal")

    reference = RunStore(tmp_path / "a.sqlite")
    with lab_bank(tmp_path / "a.sqlite") as bank:
        expected = _losses(reference, _loop(reference, _model(bank), 3))
    store = RunStore(tmp_path / "b.sqlite")
    with lab_bank(tmp_path / "b.sqlite") as bank, pytest.raises(KeyboardInterrupt) as stopped:
        _loop(store, _model(bank), 3, stop_after=0)
    with lab_bank(tmp_path / "b.sqlite") as bank:  # a fresh virtual lab
        _loop(store, _model(bank), 3, resume=stopped.value.run_id)
    assert _losses(store, stopped.value.run_id) == expected
    record = store.provenance(stopped.value.run_id)
    assert record["banks"][0]["devices"] == [0, 1]
    assert record["banks"][0]["lab"]["virtual"] is True
    assert set(record["instruments"]) >= {"pulse", "voltmeter"}
    assert "nplc" in record["instruments"]["voltmeter"]  # settings, not only *IDN?

"""The public API, used as a script would: only names from ``hil.__all__``."""

from __future__ import annotations

import importlib
import subprocess
import sys

import numpy as np
import pytest
import torch

import hil


def test_public_names_resolve_and_nothing_else_does():
    assert sorted(hil.__all__) == sorted(set(hil.__all__))
    for name in hil.__all__:
        assert getattr(hil, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        hil.Nope  # noqa: B018
    importlib.import_module("hil.learn.train")  # a submodule must not shadow the function
    assert callable(hil.train) and hil.train.__module__ == "hil.learn.api"


def test_importing_the_cli_loads_neither_torch_nor_qt():
    code = "import sys, hil.cli; print('torch' in sys.modules, 'PyQt6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def _evaluate_on_a_fresh_lab(net, store, seed: int, config) -> list[int]:
    """Held-out predictions of ``net`` through devices 0 and 1 of a freshly started virtual
    lab (its devices' draws start from the seed): the same weights, the same predictions."""
    with hil.open_lab(devices=2, seed=seed, store=store) as lab:
        bank = hil.LabBank.from_session(lab, [0, 1])
        trainer = hil.Trainer(config, banks=[bank])
        return trainer.evaluate_banks(net, [bank]).predictions


def test_scripted_session_end_to_end_on_the_virtual_lab(tmp_path):
    store = hil.RunStore(tmp_path / "runs.sqlite")
    config = hil.TrainConfig(backend="lab", classes=[0, 1], train_per_class=2,
                             test_per_class=3, steps=6, epochs=2, compare=False,
                             optimizer="adam", lr=0.05, timing="hardware")
    with hil.open_lab(devices=2, seed=3, store=store) as lab:
        sweeps = [lab.sweep(device=d, iterations=30, timing="hardware") for d in (0, 1)]
        for d, sweep in enumerate(sweeps):
            assert sweep.kind == "sweep" and sweep.summary["device"] == d
            assert 0.2e-3 < sweep.fit.i_bias < 0.6e-3  # a 0.5 um bar (paper 002 Fig. 2)
            assert store.get_run(sweep.run_id).status == "finished"
        truth = hil.virtual_devices(devices=2, seed=3)  # what the fits should find
        for sweep, device in zip(sweeps, truth, strict=True):
            assert abs(sweep.fit.i_bias - device["i_bias"]) < 4 * sweep.fit.i_bias_err
        bank = hil.LabBank.from_session(lab, [0, 1])
        # the bank is calibrated from the two sweeps just recorded, no new sweep
        assert [c.i_bias for c in bank.calibration] == [s.summary["i_50"] for s in sweeps]
        assert [r.kind for r in store.list_runs()] == ["sweep", "sweep"]
        result = hil.Trainer(config, banks=[bank]).run(store)
        assert store.get_run(result.run_id).status == "finished"
        assert len(result.loss_history) == 2
        assert lab.lab.instruments["pulse"].ask("OUTP?").strip() == "0"
    # the session is closed: the virtual lab stopped, every output off
    pt, npz = hil.export_weights(store, result.run_id, tmp_path / "weights")
    arrays = np.load(npz)
    np.testing.assert_array_equal(arrays["hil/layers.0.weight"],
                                  result.net.layers[0].weight.detach().numpy())
    reloaded = hil.load_net(pt)
    for a, b in zip(reloaded.parameters(), result.net.parameters(), strict=True):
        assert torch.equal(a, b)
    first = _evaluate_on_a_fresh_lab(result.net, store, 3, config)
    again = _evaluate_on_a_fresh_lab(reloaded, store, 3, config)
    assert first == again and len(first) == 6
    from_store = hil.load_net(store, result.run_id)
    assert torch.equal(from_store.layers[0].weight, reloaded.layers[0].weight)
    images = torch.rand(3, reloaded.sizes[0], generator=torch.Generator().manual_seed(0))
    assert torch.equal(reloaded(images), reloaded.forward_ideal(images))  # net(x) works
    assert reloaded(images).shape == (3, reloaded.sizes[-1])


def test_a_bank_sweeps_an_uncalibrated_device_as_a_sessions_sweep(tmp_path):
    """A device with no usable sweep is swept through ``Session.sweep``: the run it records
    is the one ``lab.sweep`` records with the bank's cycle and timing (autozero included),
    and the bank's calibration is that run's fit; a second bank takes it from the store."""
    store = hil.RunStore(tmp_path / "runs.sqlite")
    with hil.open_lab(devices=2, seed=4, store=store) as lab:
        bank = hil.LabBank.from_session(lab, [1], iterations=30)
        (run,) = store.list_runs()
        assert (run.kind, run.status, run.config["device"]) == ("sweep", "finished", 1)
        assert run.config["lab"] == lab.description
        assert run.config["cycle"]["autozero"] is bank.settings.autozero
        assert run.config["timing"] == bank.timing
        assert bank.calibration[0].i_bias == run.result["i_50"]  # the 50 % current
        again = hil.LabBank.from_session(lab, [1])
        assert again.calibration[0].i_bias == run.result["i_50"]
        assert len(store.list_runs()) == 1


def test_a_bad_procedure_setting_is_refused_before_any_record(tmp_path):
    store = hil.RunStore(tmp_path / "runs.sqlite")
    with hil.open_lab(devices=1, store=store) as lab:
        with pytest.raises(hil.ConfigError, match="iterations"):
            lab.sweep(iterations=0)
        with pytest.raises(hil.ConfigError, match="reset_width"):
            lab.sweep(cycle={"reset_width": 1e-6})
        with pytest.raises(hil.ConfigError, match="currents"):
            lab.sweep(currents=[0.3e-3, 5e-3])  # above the safe pulse current
        with pytest.raises(hil.ConfigError, match="timing"):
            lab.survey(timing="sometimes")
    assert store.list_runs() == []


def test_the_commands_calls_take_units_and_refuse_by_name(tmp_path):
    """What ``hil simulate telegraph`` and ``hil lab serve`` do is a call a script makes
    with the same units and the same refusals."""
    result = hil.simulate_telegraph(gate_voltage="0.1V", fields=["-2mT", 0.0, "2mT"])
    p_high = result.summary()["p_high"]
    assert p_high[1] == pytest.approx(0.5) and p_high[0] < 0.5 < p_high[2]
    assert result.fields.tolist() == pytest.approx([-2e-3, 0.0, 2e-3])
    with pytest.raises(hil.ConfigError, match="fields: 1000 mT is outside"):
        hil.simulate_telegraph(fields=["1T"])
    assert "vcma-004" in [row["name"] for row in hil.macrospin_presets()]
    with pytest.raises(hil.ConfigError, match="port"):
        hil.serve_lab(port=5)
    path = tmp_path / "lab.toml"
    with hil.serve_lab(devices=2, width="0.5um", seed=1, write_lab=path) as lab:
        assert "devices = [0, 1]" in path.read_text()
        assert lab.resources["pulse"]["resource"] in path.read_text()

"""The HIL trainer on simulated Hall bars (ModelBank)."""

import numpy as np
import pytest

from hil.learn.config import TrainConfig
from hil.learn.train import Trainer
from protocols.store import RunStore


def _train(tmp_path, **kw):
    config = TrainConfig(**kw)
    return Trainer(config).run(RunStore(tmp_path / "runs.sqlite"))


def test_training_lowers_the_measured_loss(tmp_path):
    result = _train(tmp_path, epochs=12, compare=False, test_per_class=10)
    first, last = result.loss_history[0], np.mean(result.loss_history[-3:])
    assert last < 0.3 * first
    assert result.train_accuracy[-1] > 0.8


def test_hil_beats_software_then_deploy_on_one_seed(tmp_path):
    """The short sibling of the paired 10-seed test: one seed, 400 held-out images, the
    same images through both networks; McNemar's exact test on the images only one of
    them gets right says HIL is the better one (p < 0.05)."""
    from scipy.stats import binomtest

    r = _train(tmp_path, seed=0, eta=0.25, test_per_class=100)
    labels = np.asarray(r.hil.labels)
    hil_right = np.asarray(r.hil.predictions) == labels
    deployed_right = np.asarray(r.deployed.predictions) == labels
    only_hil = int((hil_right & ~deployed_right).sum())
    only_deployed = int((~hil_right & deployed_right).sum())
    assert only_hil > only_deployed
    test = binomtest(only_hil, only_hil + only_deployed, 0.5, alternative="greater")
    assert test.pvalue < 0.05, (only_hil, only_deployed)


@pytest.mark.slow
def test_hil_beats_software_then_deploy_with_realistic_variation(tmp_path):
    """Paper 002 Fig. 4d-e: eta = 25 %, I_bias / I0 ~ 36 (window ~ 16 I0), nominal
    calibration. Paired over 10 fixed seeds; the mean advantage must exceed 2 standard
    errors and 3 points."""
    diffs = []
    for seed in range(10):
        r = _train(tmp_path, seed=seed, eta=0.25, test_per_class=50)
        diffs.append(r.hil.accuracy - r.deployed.accuracy)
    diffs = np.array(diffs)
    mean, se = diffs.mean(), diffs.std(ddof=1) / np.sqrt(len(diffs))
    assert mean > max(2 * se, 0.03), (mean, se, diffs)


def test_hidden_layer_of_bank_neurons_learns(tmp_path):
    result = _train(tmp_path, hidden=[64], classes=None, train_per_class=100,
                    test_per_class=30, steps=30, epochs=8, batch_size=50, compare=False,
                    eta=0.1)
    assert result.hil.accuracy > 0.6  # chance is 0.1


def test_time_multiplexed_devices_learn(tmp_path):
    """Paper 002 SI S12: one device serves two neurons."""
    result = _train(tmp_path, classes=[0, 2], multiplex=2, epochs=10, test_per_class=50,
                    compare=False)
    assert len(result.banks[-1].bank.bank.calibration) == 1  # one physical device
    assert result.hil.accuracy > 0.85


def test_device_calibration_uses_measured_curves(tmp_path):
    result = _train(tmp_path, calibration="device", epochs=3, test_per_class=5, compare=False)
    bank = result.banks[-1]
    truth = bank.devices.i_bias(bank.pulse_width)
    measured = np.array([c["i_bias"] for c in result.calibration[-1]])
    nominal = bank.calibration[0].i_bias
    assert np.all(np.abs(measured - truth) < 0.02 * truth)
    assert np.abs(measured - nominal).max() > 0.05 * nominal  # eta = 25 %: not nominal


def test_store_records_epochs_and_result(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    result = Trainer(TrainConfig(epochs=3, test_per_class=5)).run(store)
    run = store.get_run(result.run_id)
    assert run.status == "finished" and run.config["optimiser"]["epochs"] == 3
    assert [s for s, _ in store.metrics(run.id)["loss"]] == [0, 1, 2]
    assert run.result["hil_accuracy"] == pytest.approx(result.hil.accuracy)
    assert store.latest_checkpoint(run.id)[0] == 3  # the trained models, after epochs 0-2

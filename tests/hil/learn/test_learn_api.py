"""Device neurons in a user's model and the trainer's torch conventions."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import hil
from hil.cli import main


def _bank(n: int, seed: int = 0):
    return hil.model_bank(n, 0.5e-6, eta=0.0, seed=seed)


def test_device_neurons_after_a_conv_layer_measure_the_devices_curve():
    # z maps to I = I_bias + I0 z; each neuron's rate is the device's exact P_sw there
    bank = _bank(2 * 3 * 3)
    layer = hil.DeviceNeurons(bank, steps=400)
    for z in (0.0, 2.0):
        rates = layer(torch.full((5, 2, 3, 3), z))
        assert rates.shape == (5, 2, 3, 3)
        c = bank.calibration[0]
        p = float(bank.p_switch(np.array([c.i_bias + c.i0 * z]))[0])
        expected = (400 * p + 0.5) / 401  # the continuity-corrected rate
        sigma = np.sqrt(p * (1 - p) / (5 * 18 * 400))
        assert abs(float(rates.mean()) - expected) < 4 * sigma  # binomial, 4 sigma
        assert 0.3 < p < 0.99  # near the sigmoid of paper 002 Eq. 2 at z


def test_device_neurons_backward_is_the_measured_activation():
    layer = hil.DeviceNeurons(_bank(4), steps=50)
    z = torch.zeros(3, 4, requires_grad=True)
    rate = layer(z)
    rate.sum().backward()
    # d rate / d z = a (1 - a) with a the measured rate, times T / (T + 1) (the rate's
    # continuity correction); never the ideal sigmoid's 0.25 at z = 0
    a = rate.detach()
    np.testing.assert_allclose(z.grad, a * (1 - a) * 50 / 51, rtol=1e-6)


def test_a_logit_output_gives_a_minus_y():
    layer = hil.DeviceNeurons(_bank(3), steps=30, output="logit")
    z = torch.zeros(2, 3, requires_grad=True)
    logits = layer(z)
    target = torch.tensor([[1.0, 0, 0], [0, 1.0, 0]])
    nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="sum").backward()
    np.testing.assert_allclose(z.grad, torch.sigmoid(logits.detach()) - target, rtol=1e-6)


def test_a_size_mismatch_names_both_shapes():
    layer = hil.DeviceNeurons(_bank(10), steps=4)
    with pytest.raises(ValueError, match=r"shape \(2, 3, 4\) has 12 features.*bank has 10 "
                       r"neurons \(shape \(10,\)\)"):
        layer(torch.zeros(2, 3, 4))


def test_a_factory_builds_the_bank_at_the_datas_size():
    sizes = []
    layer = hil.DeviceNeurons(lambda n: sizes.append(n) or _bank(n), steps=2)
    assert layer.n_neurons is None
    assert layer(torch.zeros(4, 3, 5, 5)).shape == (4, 3, 5, 5)
    assert sizes == [75] and layer.n_neurons == 75


def test_to_device_neurons_replaces_every_activation_in_order():
    model = nn.Sequential(nn.Linear(6, 5), nn.Sigmoid(), nn.Linear(5, 3), nn.ReLU())
    hil.to_device_neurons(model, [_bank(5), _bank(3)], steps=3)
    layers = [m for m in model if isinstance(m, hil.DeviceNeurons)]
    assert [d.n_neurons for d in layers] == [5, 3]
    assert model(torch.zeros(2, 6)).shape == (2, 3)
    with pytest.raises(ValueError, match="2 activations, got 1 banks"):
        hil.to_device_neurons(nn.Sequential(nn.Sigmoid(), nn.Tanh()), [_bank(2)])


def test_input_size_comes_from_a_users_dataset():
    # 10 x 10 images: 100 inputs, never 784
    rng = np.random.default_rng(0)
    images = torch.tensor(rng.random((40, 10, 10)), dtype=torch.float32)
    labels = torch.arange(40) % 2
    data = (TensorDataset(images[:30], labels[:30]), TensorDataset(images[30:], labels[30:]))
    trainer = hil.Trainer(hil.TrainConfig(classes=[0, 1], train_per_class=5,
                                          test_per_class=5, steps=5, epochs=1,
                                          compare=False), data=data)
    assert trainer.n_inputs == 100
    result = trainer.run(hil.RunStore())
    assert result.net.layers[0].weight.shape == (2, 100)


def _train(args: list[str], capsys) -> dict:
    assert main(["train", "--json", "--no-progress", *args]) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_adam_and_cosine_from_toml_change_the_run_and_validation_is_shown(tmp_path, capsys):
    common = ["--classes", "0,2", "--train-per-class", "4", "--test-per-class", "5",
              "--steps", "10", "--epochs", "3", "--validation-per-class", "4", "--no-compare"]
    sgd = _train(common, capsys)
    config = tmp_path / "adam.toml"
    config.write_text('[train]\noptimizer = "adam"\nscheduler = "cosine"\nlr = 0.02\n'
                      "weight_decay = 1e-4\n")
    adam = _train(["--config", str(config), *common], capsys)
    store = hil.RunStore()
    first, second = store.get_run(sgd["run_id"]), store.get_run(adam["run_id"])
    assert (first.config["optimiser"]["optimizer"],
            first.config["optimiser"]["scheduler"]) == ("sgd", "none")
    assert (second.config["optimiser"]["optimizer"],
            second.config["optimiser"]["scheduler"]) == ("adam", "cosine")
    assert second.config["optimiser"]["weight_decay"] == 1e-4
    assert sgd["loss_history"] != adam["loss_history"]
    lr = [v for _, v in store.metrics(adam["run_id"])["lr"]]
    np.testing.assert_allclose(lr, [0.02 * (1 + np.cos(np.pi * e / 3)) / 2 for e in range(3)])
    assert main(["runs", "show", str(adam["run_id"])]) == 0
    shown = capsys.readouterr().out
    val = [line for line in shown.splitlines() if line.strip().startswith("val_accuracy:")]
    assert len(val) == 1 and len(val[0].split(":")[1].split(",")) == 3  # one per epoch
    assert "val_loss:" in shown


def test_early_stopping_and_weights_export(tmp_path, capsys):
    payload = _train(["--classes", "0,2", "--train-per-class", "2", "--test-per-class", "2",
                      "--steps", "5", "--epochs", "30", "--validation-per-class", "2",
                      "--patience", "1", "--lr", "1e-6"], capsys)
    # a learning rate this small cannot lower the validation loss for long
    assert payload["epochs_run"] < 30
    assert len(payload["val_loss_history"]) == payload["epochs_run"]
    out = tmp_path / "net"
    assert main(["runs", "export", str(payload["run_id"]), "--weights", "-o", str(out)]) == 0
    models = torch.load(tmp_path / "net.pt", weights_only=False)
    arrays = np.load(tmp_path / "net.npz")
    assert set(models) == {"hil", "software", "layer_sizes"}
    np.testing.assert_array_equal(arrays["software/layers.0.weight"],
                                  models["software"]["layers.0.weight"].numpy())
    assert arrays["layer_sizes"].tolist() == [784, 2]


def test_bad_optimiser_settings_name_the_field():
    for field, value in (("optimizer", "lbfgs"), ("scheduler", "warm"), ("dropout", 1.0),
                         ("weight_decay", -1.0), ("validation_per_class", -2)):
        with pytest.raises(hil.ConfigError, match=field):
            hil.TrainConfig(**{field: value}).validate()
    with pytest.raises(hil.ConfigError, match="patience.*validation_per_class"):
        hil.TrainConfig(patience=2).validate()

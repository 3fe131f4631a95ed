"""``TrainConfig`` in four parts (bank, net, optimiser, data): a run records one table per
part, and a run recorded before the parts (every field at the top, ``data`` the folder)
still reads, and resumes, as the same configuration."""

import json

import pytest

import hil
from hil.cli import main
from hil.learn.config import BankConfig, DataConfig, NetConfig, OptimiserConfig, TrainConfig
from protocols.store import RunStore

# a run's config as runs recorded it before the parts: flat, ``data`` the IDX folder
OLD_FLAT = {
    "backend": "model", "preset": "mtj-000", "pulse_width": None, "lab": None,
    "timing": "auto", "gate_voltage": 0.0, "read_noise": 0.0, "width": 0.5e-6, "eta": 0.1,
    "eta_window": None, "calibration": "nominal", "classes": [0, 2], "train_per_class": 2,
    "test_per_class": 2, "steps": 4, "hidden": [], "epochs": 2, "lr": 0.1, "momentum": 0.9,
    "optimizer": "sgd", "scheduler": "none", "weight_decay": 0.0, "dropout": 0.0,
    "validation_per_class": 0, "patience": None, "batch_size": 16, "error": "unbiased",
    "gradient": "straight-through", "rereads": 5, "multiplex": 1, "max_current": None,
    "seed": 5, "data": None, "compare": False}


def test_the_parts_hold_the_fields_and_a_run_records_one_table_per_part():
    config = TrainConfig(lr=0.05, hidden=[8], eta=0.1, classes=[1, 7], seed=2)
    assert config.optimiser == OptimiserConfig(lr=0.05)
    assert config.net == NetConfig(hidden=[8])
    assert config.bank == BankConfig(eta=0.1)
    assert config.data == DataConfig(classes=[1, 7])
    assert config.lr == 0.05 and config.n_classes == 2  # a field by its own name
    stored = config.to_dict()
    assert set(stored) == {"bank", "net", "optimiser", "data", "seed", "compare"}
    assert stored["optimiser"]["lr"] == 0.05 and stored["data"]["classes"] == [1, 7]
    assert TrainConfig.from_dict(json.loads(json.dumps(stored))) == config
    with pytest.raises(TypeError, match="'learning_rate'"):
        TrainConfig(learning_rate=0.1)


def test_a_flat_record_of_before_the_parts_reads_as_the_same_configuration():
    old = TrainConfig.from_dict(OLD_FLAT)
    # the settings of other backends it recorded (a Hall bar's preset ...) are left out
    assert old == TrainConfig(bank=BankConfig(eta=0.1),
                              net=NetConfig(steps=4),
                              optimiser=OptimiserConfig(epochs=2),
                              data=DataConfig(classes=[0, 2], train_per_class=2,
                                              test_per_class=2),
                              seed=5, compare=False)
    assert TrainConfig.from_dict({**OLD_FLAT, "data": "/digits"}).data.folder == "/digits"
    timed = {k: v for k, v in OLD_FLAT.items() if k != "timing"}
    lab = TrainConfig.from_dict({**timed, "backend": "lab", "hardware_timed": True})
    assert lab.bank.timing == "hardware" and lab.bank.eta == BankConfig().eta  # not lab's


def test_a_toml_file_with_a_table_per_part_reads_as_the_flat_one(tmp_path):
    from hil.learn.config import load_toml

    flat, parts = tmp_path / "flat.toml", tmp_path / "parts.toml"
    flat.write_text('eta = 0.1\nlr = 0.05\nclasses = [1, 7]\nseed = 3\n')
    parts.write_text('seed = 3\n[bank]\neta = 0.1\n[optimiser]\nlr = 0.05\n'
                     '[data]\nclasses = [1, 7]\n')
    assert load_toml(parts) == load_toml(flat)


def test_a_run_recorded_flat_before_the_parts_resumes_to_the_same_history(tmp_path, capsys):
    """A killed run of the flat era (no checkpoint yet) goes on under ``hil train --resume``
    with its own configuration: the history of the same run trained now."""
    old = RunStore(tmp_path / "old.sqlite")
    with pytest.raises(KeyboardInterrupt), old.run("train", OLD_FLAT, seed=5):
        raise KeyboardInterrupt  # killed before its first checkpoint
    (stopped,) = old.list_runs()
    assert main(["--store", str(tmp_path / "old.sqlite"), "train", "--resume",
                 str(stopped.id), "--json", "--plot", str(tmp_path / "fig.png")]) == 0
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    now = hil.Trainer(TrainConfig.from_dict(OLD_FLAT)).run(RunStore(tmp_path / "new.sqlite"))
    assert resumed["run_id"] == stopped.id
    assert resumed["loss_history"] == now.loss_history and len(now.loss_history) == 2
    assert resumed["hil_accuracy"] == now.hil.accuracy
    assert old.get_run(stopped.id).status == "finished"


def test_options_as_a_command_line_gives_them_build_the_config_it_runs(tmp_path):
    """``TrainConfig.from_options``: the backend's defaults < a TOML file < the options
    (strings as typed: lists, "all", units); an unknown key or a bad value refused by its
    field; a recorded run's config read back by ``from_record`` is the same config."""
    from hil.errors import ConfigError
    from hil.learn.config import TrainConfig

    path = tmp_path / "run.toml"
    path.write_text('backend = "lab"\nepochs = 3\nclasses = "0,2"\nwidth = "0.5um"\n')
    config = TrainConfig.from_options({"epochs": 5, "train_per_class": "2",
                                       "test_per_class": "all", "lr": None}, path)
    assert (config.backend, config.epochs, config.classes) == ("lab", 5, [0, 2])
    assert config.width == pytest.approx(0.5e-6) and config.train_per_class == 2
    assert config.test_per_class is None and config.lr == TrainConfig().lr
    assert TrainConfig.from_record({**config.to_dict(), "instruments": {"pulse": "6221"}}) \
        == config
    assert TrainConfig.from_options({"backend": "lab", "width": 0.5e-6}).width == 0.5e-6  # SI
    with pytest.raises(ConfigError) as refused:
        TrainConfig.from_options({"epoch": 3})
    assert refused.value.field == "epoch"
    with pytest.raises(ConfigError) as refused:
        TrainConfig.from_options({"train_per_class": "two"})
    assert refused.value.field == "train_per_class"

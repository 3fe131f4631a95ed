"""One epoch loop (``hil.learn.loop.run_epochs``) under every trainer: the HIL trainer and
its software baseline, the grids' paired comparison and co-design network, the trainable
activation (paper 000) and the two-polariser network (paper 003). Their seeded histories
are pinned as they were before the six loops were folded into one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from hil.learn.config import TrainConfig
from hil.learn.data import load_digits
from hil.learn.loop import EpochStats, run_epochs, shuffled
from hil.learn.train import Trainer
from protocols.store import RunStore

# seeded runs before the loops were folded (hil.learn.loop)
PINNED = {'trainer_plain': {'loss': [2.7690323889255524, 1.553109496831894, 0.7919788397848606],
                            'acc': [0.375, 0.6875, 0.875],
                            'software': [1.1867190152406693,
                                         0.1678229719400406,
                                         0.12825739092659205],
                            'hil': 0.8333333333333334,
                            'deployed': 0.5,
                            'val': {},
                            'epochs_run': 3},
          'trainer_validation': {'loss': [2.7690323889255524, 0.9956946969032288],
                                 'acc': [0.375, 0.75],
                                 'software': [1.1867190152406693,
                                              0.14632876822724938,
                                              0.014050062232854543,
                                              0.008868407021509483,
                                              0.00806053856285871,
                                              0.007868072665587533],
                                 'hil': 0.8333333333333334,
                                 'deployed': 0.5,
                                 'val': {'val_loss': [0.37113702297210693, 0.8236641883850098],
                                         'val_accuracy': [1.0, 0.75]},
                                 'epochs_run': 2},
          'compare_True': [-48.7423714889801, -0.4882095828652382],
          'compare_False': [-39.486442663858725, -0.33944907784461975],
          'codesign': [-2988.4838835325527,
                       -36.610005848284345,
                       -157.40141658546054,
                       -8.658089429140091],
          'trainable_fixed': {'acc': 0.38, 'hist': [3.946361720561981, 2.9604501724243164]},
          'trainable_k': {'acc': 0.3, 'hist': [4.028345316648483, 3.0840673446655273]},
          'trainable_kc': {'acc': 0.24, 'hist': [4.070793628692627, 3.1658816039562225]},
          'two_polariser_device': {'acc': 0.6666666666666666,
                                   'loss': [1.1043713053067525, 0.9533483624458313]},
          'two_polariser_software': {'acc': 0.6666666666666666,
                                     'loss': [1.1045656085014344, 0.9532345453898112]},
          'two_polariser_ideal': {'acc': 0.6666666666666666,
                                  'loss': [1.1006117781003317, 0.9500371257464091]}}
SMALL = dict(classes=[0, 2], train_per_class=4, test_per_class=3, steps=5, epochs=3, seed=7,
             batch_size=3, scheduler="step")


def close(value):
    return pytest.approx(value, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("name, extra", [("plain", {}), (
    "validation", {"validation_per_class": 2, "patience": 1, "epochs": 6})])
def test_the_trainer_and_its_software_baseline_keep_their_histories(tmp_path, name, extra):
    result = Trainer(TrainConfig(**{**SMALL, **extra})).run(RunStore(tmp_path / "r.sqlite"))
    pinned = PINNED[f"trainer_{name}"]
    assert result.loss_history == close(pinned["loss"])
    assert result.train_accuracy == close(pinned["acc"])
    assert result.software_loss_history == close(pinned["software"])
    assert (result.hil.accuracy, result.deployed.accuracy) == (pinned["hil"], pinned["deployed"])
    assert result.epochs_run == pinned["epochs_run"]  # early stopping: 2 of 6 epochs
    for key, series in pinned["val"].items():
        assert result.validation[key] == close(series)


@pytest.mark.parametrize("hil", [True, False])
def test_the_grids_comparison_trains_the_same_weights(hil):
    from hil.banks.model import model_bank
    from hil.grids.compare import Experiment, _train
    from hil.nn.network import DeviceCurrents, SpikingNet

    exp = Experiment(epochs=3, steps=5)
    digits = load_digits(None).select([0, 2, 4, 6], 4, 1)
    x = torch.from_numpy(digits.train_x)
    y = torch.tensor([[0, 2, 4, 6].index(int(v)) for v in digits.train_y])
    gen = torch.Generator().manual_seed(3)
    net = SpikingNet(exp.layers, gen)
    bank = model_bank(4, 0.5e-6, 0.25, seed=1)
    _train(net, [DeviceCurrents(bank, bank.calibration, "straight-through")], x, y, exp, 0.1,
           4, gen, hil)
    sums = [float(p.detach().double().sum()) for p in net.parameters()]
    assert sums == close(PINNED[f"compare_{hil}"])


@pytest.mark.slow
def test_the_codesign_network_trains_the_same_weights():
    from hil.grids.codesign import SoftwareRecipe, train_software

    net = train_software(SoftwareRecipe(epochs=1, seed=2))
    sums = [float(p.detach().double().sum()) for p in net.parameters()]
    assert sums == close(PINNED["codesign"])


@pytest.mark.parametrize("mode", ["fixed", "k", "kc"])
def test_the_trainable_activation_keeps_its_history(mode):
    from hil.learn.trainable_activation import train_trainable

    d = load_digits(None).select(None, 20, 5)
    _, accuracy, history = train_trainable(d.train_x, d.train_y, d.test_x, d.test_y, mode,
                                           seed=4, epochs=2, batch_size=25)
    assert history == close(PINNED[f"trainable_{mode}"]["hist"])
    assert accuracy == PINNED[f"trainable_{mode}"]["acc"]


@pytest.mark.parametrize("mode", ["device", "software", "ideal"])
def test_the_two_polariser_network_keeps_its_history(mode):
    from hil.learn.two_polariser import train_two_polariser

    d = load_digits(None).select([0, 1, 2], 10, 5)
    losses: list[float] = []
    run = train_two_polariser(d, mode, hidden=4, epochs=2, lr=3e-3, batch_size=8, seed=1,
                              on_epoch=lambda epoch, loss: losses.append(loss))
    assert losses == close(PINNED[f"two_polariser_{mode}"]["loss"])
    assert run.test_accuracy == PINNED[f"two_polariser_{mode}"]["acc"]


def test_the_loop_draws_batches_each_epoch_and_stops_when_told():
    gen = torch.Generator().manual_seed(0)
    seen: list[list[int]] = []

    def step(batch: torch.Tensor) -> tuple[float, int]:
        seen.append(batch.tolist())
        return float(len(batch)), int(len(batch) == 2)

    stats = run_epochs(shuffled(5, 2, gen), step, 4, first_epoch=1,
                       after_epoch=lambda s: s.epoch == 2)
    assert [s.epoch for s in stats] == [1, 2]  # from the first epoch, stopped after epoch 2
    assert stats[0] == EpochStats(1, 1.0, 2 / 5)  # summed loss / images, hits / images
    epochs = [sorted(sum(seen[i:i + 3], [])) for i in (0, 3)]
    assert epochs == [[0, 1, 2, 3, 4]] * 2 and seen[:3] != seen[3:]  # a new order each epoch


def test_hil_has_one_epoch_loop():
    """No ``for ... in range(... epochs ...)`` in hil outside the loop itself."""
    root = Path(__file__).resolve().parents[3] / "hil"
    loops = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.For) and isinstance(node.iter, ast.Call)
                    and ast.unparse(node.iter.func) == "range"
                    and "epoch" in ast.unparse(node.iter)):
                loops.append(f"{path.relative_to(root)}:{node.lineno}")
    assert loops == ["learn/loop.py:" + str(_loop_line(root / "learn" / "loop.py"))]


def _loop_line(path: Path) -> int:
    tree = ast.parse(path.read_text())
    return next(n.lineno for n in ast.walk(tree) if isinstance(n, ast.For))

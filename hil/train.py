"""The HIL trainer (paper 002 Methods 4.6) and the software-then-deploy baseline (Fig. 4e).

One epoch: every training image becomes T steps of Poisson spikes; the network turns them
into write currents through its banks; the switch counts are the activations; loss,
gradient and weight update run in software (torch). The run store gets the configuration
first, then per-epoch metrics and a checkpoint (weights, optimiser, every random state), so
``resume`` continues a killed run to the same result as an uninterrupted one.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hil.backends.model import model_bank
from hil.bank import Calibration, MultiplexedBank, NeuronBank
from hil.calibrate import calibrations_from_fits, characterise, nominal_calibration
from hil.config import TrainConfig
from hil.data import DigitSplit, load_digits
from hil.encoding import poisson_spikes
from hil.errors import ConfigError
from hil.network import DeviceCurrents, SpikingNet, predict
from protocols.store import RunStore
from simulators.presets import hall_bar_preset

EVAL_CHUNK = 200  # images per evaluation batch (bounds memory at T x 200 x 784)
Progress = Callable[[str, int, int, dict[str, float]], None]


@dataclass
class Evaluation:
    accuracy: float
    predictions: list[int]
    labels: list[int]
    confidence: list[list[float]]


@dataclass
class TrainResult:
    run_id: int
    hil: Evaluation
    deployed: Evaluation | None
    loss_history: list[float]
    train_accuracy: list[float]
    software_loss_history: list[float]
    calibration: list[list[dict[str, float]]]
    seconds: float
    banks: list[NeuronBank] = field(repr=False, default_factory=list)

    def summary(self, config: TrainConfig) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "hil_accuracy": self.hil.accuracy,
            "loss_history": self.loss_history,
            "train_accuracy": self.train_accuracy,
            "seed": config.seed,
            "seconds": self.seconds,
            "test_images": len(self.hil.labels),
            "classes": config.classes if config.classes is not None else list(range(10)),
        }
        if self.deployed is not None:
            out["deployed_accuracy"] = self.deployed.accuracy
            out["software_loss_history"] = self.software_loss_history
        return out


def prepare_data(config: TrainConfig) -> DigitSplit:
    digits = load_digits(config.data)
    return digits.select(config.classes, config.train_per_class, config.test_per_class)


def build_banks(config: TrainConfig) -> list[NeuronBank]:
    """One bank per layer; with ``multiplex`` > 1 each device serves several neurons."""
    banks: list[NeuronBank] = []
    for layer, size in enumerate(config.layer_sizes()[1:]):
        devices = -(-size // config.multiplex)
        seed = np.random.SeedSequence([config.seed, layer])
        bank: NeuronBank
        if config.backend == "lab":
            bank = lab_bank(config, devices)
        elif config.backend == "llgs":
            from hil.backends.llgs import LLGSBank

            bank = LLGSBank(config.preset, devices, config.pulse_width or 30e-9,
                            seed=int(seed.generate_state(1)[0]))
        else:
            bank = model_bank(devices, config.width, config.eta, config.eta_window, seed=seed)
        if config.multiplex > 1:
            bank = _FirstNeurons(MultiplexedBank(bank, config.multiplex), size)
        banks.append(bank)
    if config.max_current is not None:
        for bank in banks:
            bank.max_current = np.minimum(bank.max_current, config.max_current)
    return banks


def lab_description(config: TrainConfig, devices: int) -> dict:
    if config.lab is not None:
        return {"lab_file": config.lab}
    return {"virtual": True, "devices": devices, "width": config.width, "seed": config.seed}


def lab_bank(config: TrainConfig, devices: int) -> NeuronBank:
    """Devices 0..n-1 of the lab (the virtual one built from width and seed by default)."""
    from hil.backends.keithley import KeithleyBank
    from hil.lab_session import open_lab
    from protocols.errors import ProtocolError

    lab = open_lab(lab_description(config, devices)).connect()
    nominal = nominal_calibration(hall_bar_preset(config.width))
    try:
        return KeithleyBank(lab, list(range(devices)), [nominal] * devices,
                            timing=config.timing)
    except ProtocolError as err:
        lab.close()
        raise ConfigError("timing", str(err)) from None


class _FirstNeurons(NeuronBank):
    """The first ``n`` neurons of a bank (a multiplexed bank may have a spare slot)."""

    def __init__(self, bank: NeuronBank, n: int) -> None:
        self.bank = bank
        super().__init__(bank.calibration[:n], bank.max_current[:n])

    def _switch(self, currents: np.ndarray) -> np.ndarray:
        pad = self.bank.n_neurons - self.n_neurons
        full = np.concatenate([currents, np.zeros((*currents.shape[:-1], pad))], axis=-1)
        return self.bank.switch(full)[..., : self.n_neurons]

    def get_state(self) -> Any:
        return self.bank.get_state()

    def set_state(self, state: Any) -> None:
        self.bank.set_state(state)

    def close(self) -> None:
        self.bank.close()
        super().close()


def targets(labels: np.ndarray, classes: list[int] | None) -> torch.Tensor:
    order = list(range(10)) if classes is None else classes
    index = torch.tensor([order.index(int(y)) for y in labels])
    return F.one_hot(index, len(order)).to(torch.float32)


class Trainer:
    """Validates the configuration and loads the data on construction, so bad input fails
    before anything is written; ``run`` then records everything in the store."""

    def __init__(self, config: TrainConfig, progress: Progress | None = None):
        self.config = config.validate()
        self.progress = progress or (lambda *a: None)
        self.data = prepare_data(self.config)

    # -- the run ---------------------------------------------------------------------
    def run(self, store: RunStore, resume_id: int | None = None) -> TrainResult:
        cfg = self.config
        self.store = store
        start = time.perf_counter()
        if resume_id is None:
            run_id = self.store.create_run("train", cfg.to_dict(), cfg.seed)
        else:
            run_id = resume_id
            self.store.claim(run_id)
        try:
            result = self._run(run_id, start)
        except BaseException as err:
            status = "aborted" if isinstance(err, KeyboardInterrupt) else "failed"
            self.store.finish(run_id, status, {"error": repr(err)})
            raise
        self.store.finish(run_id, "finished", result.summary(cfg))
        return result

    def _run(self, run_id: int, start: float) -> TrainResult:
        cfg = self.config
        banks = build_banks(cfg)
        try:
            return self._train_and_evaluate(run_id, start, banks)
        finally:
            for bank in banks:
                bank.close()

    def _train_and_evaluate(self, run_id: int, start: float, banks: list[NeuronBank]):
        cfg = self.config
        x = torch.from_numpy(self.data.train_x)
        y = targets(self.data.train_y, cfg.classes)
        gen = torch.Generator().manual_seed(cfg.seed)
        net = SpikingNet(cfg.layer_sizes(), gen)
        optimiser = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        checkpoint = self.store.latest_checkpoint(run_id)
        history: dict[str, list[float]] = {"loss": [], "train_accuracy": []}
        if checkpoint is None:
            calibration = self._calibrate(banks)
            first_epoch = 0
        else:
            state = torch.load(io.BytesIO(checkpoint[1]), weights_only=False)
            net.load_state_dict(state["net"])
            optimiser.load_state_dict(state["optimiser"])
            gen.set_state(state["generator"])
            for bank, bank_state in zip(banks, state["banks"], strict=True):
                bank.set_state(bank_state)
            calibration = [[Calibration(**c) for c in layer] for layer in state["calibration"]]
            history = state["history"]
            first_epoch = checkpoint[0] + 1
        devices = [DeviceCurrents(b, c) for b, c in zip(banks, calibration, strict=True)]
        for epoch in range(first_epoch, cfg.epochs):
            loss, accuracy = self._epoch(net, optimiser, devices, x, y, gen)
            history["loss"].append(loss)
            history["train_accuracy"].append(accuracy)
            self.store.log_metrics(run_id, epoch, {"loss": loss, "train_accuracy": accuracy})
            self.store.save_checkpoint(run_id, epoch, _checkpoint_bytes(
                net, optimiser, gen, banks, calibration, history))
            self.progress("train", epoch + 1, cfg.epochs, {"loss": loss, "acc": accuracy})
        hil = self.evaluate(net, devices)
        self.store.log_metrics(run_id, cfg.epochs, {"hil_accuracy": hil.accuracy})
        deployed, software_loss = None, []
        if cfg.compare:
            software, software_loss = self.train_software()
            deployed = self.evaluate(software, devices)
            self.store.log_metrics(run_id, cfg.epochs, {"deployed_accuracy": deployed.accuracy})
        return TrainResult(
            run_id, hil, deployed, history["loss"], history["train_accuracy"], software_loss,
            [[vars(c) for c in layer] for layer in calibration], time.perf_counter() - start,
            banks,
        )

    def _calibrate(self, banks: list[NeuronBank]) -> list[list[Calibration]]:
        """Nominal: what the bank was built with. Device: a measured sweep per neuron."""
        if self.config.calibration == "nominal":
            return [list(b.calibration) for b in banks]
        out = []
        for i, bank in enumerate(banks):
            self.progress("characterise", i + 1, len(banks), {})
            if hasattr(bank, "measure_calibration"):  # lab devices: sweeps in the run store
                bank.measure_calibration(self.store, lab_description(self.config,
                                                                     bank.n_neurons))
                out.append(list(bank.calibration))
                continue
            fits = characterise(bank, bank.calibration)
            out.append(calibrations_from_fits(fits, bank.calibration[0].pulse_width))
        return out

    def _epoch(self, net, optimiser, devices, x, y, gen) -> tuple[float, float]:
        cfg = self.config
        order = torch.randperm(len(x), generator=gen)
        total_loss, correct = 0.0, 0
        for batch in order.split(cfg.batch_size):
            spikes = poisson_spikes(x[batch], cfg.steps, gen)
            logits, _, mean_input = net.forward_devices(spikes, devices)
            loss = F.binary_cross_entropy_with_logits(logits, y[batch], reduction="sum")
            optimiser.zero_grad()
            (loss / len(batch)).backward()
            optimiser.step()
            total_loss += float(loss.detach())
            predicted, _ = predict(logits.detach(), mean_input)
            correct += int((predicted == y[batch].argmax(1)).sum())
        return total_loss / len(x), correct / len(x)

    @torch.no_grad()
    def evaluate(self, net: SpikingNet, devices: list[DeviceCurrents]) -> Evaluation:
        """Held-out images through the devices; the same spike trains for every network."""
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed + 1)
        x = torch.from_numpy(self.data.test_x)
        labels = targets(self.data.test_y, cfg.classes).argmax(1)
        predictions, confidences = [], []
        for chunk in torch.arange(len(x)).split(EVAL_CHUNK):
            spikes = poisson_spikes(x[chunk], cfg.steps, gen)
            logits, _, mean_input = net.forward_devices(spikes, devices)
            predicted, confidence = predict(logits, mean_input)
            predictions.append(predicted)
            confidences.append(confidence)
        predicted = torch.cat(predictions)
        return Evaluation(
            float((predicted == labels).float().mean()), predicted.tolist(), labels.tolist(),
            torch.cat(confidences).tolist(),
        )

    def train_software(self) -> tuple[SpikingNet, list[float]]:
        """The same network and schedule with ideal sigmoids, in software (Fig. 4e)."""
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        net = SpikingNet(cfg.layer_sizes(), gen)
        optimiser = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        x = torch.from_numpy(self.data.train_x)
        y = targets(self.data.train_y, cfg.classes)
        history = []
        for epoch in range(cfg.epochs):
            total = 0.0
            for batch in torch.randperm(len(x), generator=gen).split(cfg.batch_size):
                loss = F.binary_cross_entropy_with_logits(
                    net.forward_ideal(x[batch]), y[batch], reduction="sum")
                optimiser.zero_grad()
                (loss / len(batch)).backward()
                optimiser.step()
                total += float(loss.detach())
            history.append(total / len(x))
            self.progress("software", epoch + 1, cfg.epochs, {"loss": history[-1]})
        return net, history


def _checkpoint_bytes(net, optimiser, gen, banks, calibration, history) -> bytes:
    buffer = io.BytesIO()
    torch.save({
        "net": net.state_dict(),
        "optimiser": optimiser.state_dict(),
        "generator": gen.get_state(),
        "banks": [b.get_state() for b in banks],
        "calibration": [[vars(c) for c in layer] for layer in calibration],
        "history": history,
    }, buffer)
    return buffer.getvalue()

"""The HIL trainer (paper 002 Methods 4.6) and the software-then-deploy baseline (Fig. 4e).

One epoch: every training image becomes T steps of Poisson spikes; the network turns them
into write currents through its banks; the switch counts are the activations; loss,
gradient and weight update run in software (torch). The run store gets the configuration
first, then per-epoch metrics and a checkpoint (weights, optimiser, every random state), so
``resume`` continues a killed run to the same result as an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from hil.banks import registry
from hil.banks.base import Calibration, NeuronBank
from hil.errors import ConfigError
from hil.learn.config import TrainConfig
from hil.learn.data import (
    DigitSplit,
    describe_split,
    from_datasets,
    load_digits,
    validation_split,
)
from hil.learn.encoding import poisson_spikes
from hil.learn.loop import EpochStats, descend, run_epochs, shuffled
from hil.learn.readout import EVAL_CHUNK, read_out
from hil.nn.network import DeviceCurrents, SpikingNet, device_hits, output_loss
from hil.session.suspenders import WatchSettings
from hil.session.watch import RunWatch, watch_run
from protocols.progress import Progress
from protocols.store import ActiveRun, RunStore

OptimiserFactory = Callable[[Iterable[torch.nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]


@dataclass
class Evaluation:
    """Held-out scores. ``accuracy`` and ``predictions`` are the devices' own readout (ties
    re-read on the devices, hil.learn.readout); ``readouts`` has every readout's accuracy
    (with the software tie-break and the normalised inputs beside it) and ``ties`` how the
    first read's ties went."""

    accuracy: float
    predictions: list[int]
    labels: list[int]
    confidence: list[list[float]]
    readouts: dict[str, float] = field(default_factory=dict)
    ties: dict[str, int] = field(default_factory=dict)


@dataclass
class TrainResult:
    """What a training run gives back and records: the HIL and deployed evaluations, the
    histories and each bank's calibration."""
    run_id: int
    hil: Evaluation
    deployed: Evaluation | None
    loss_history: list[float]
    train_accuracy: list[float]
    software_loss_history: list[float]
    calibration: list[list[dict[str, float]]]
    seconds: float
    banks: list[NeuronBank] = field(repr=False, default_factory=list)
    validation: dict[str, list[float]] = field(default_factory=dict)
    epochs_run: int = 0
    net: SpikingNet | None = field(repr=False, default=None)
    software: SpikingNet | None = field(repr=False, default=None)

    @property
    def lab_seconds(self) -> float | None:
        """The instruments' clock over the run's banks, each lab counted once (layers on one
        lab share its clock); None off the lab."""
        return lab_seconds(self.banks)

    def summary(self, config: TrainConfig) -> dict[str, Any]:
        """The run's result as one JSON-ready dict (accuracies, histories, seed, time, classes), as
        recorded in the store and printed by ``hil train --json``."""
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "hil_accuracy": self.hil.accuracy,
            "loss_history": self.loss_history,
            "train_accuracy": self.train_accuracy,
            "seed": config.seed,
            "seconds": self.seconds,
            "test_images": len(self.hil.labels),
            "classes": config.classes if config.classes is not None else list(range(10)),
            "epochs_run": self.epochs_run,
        }
        for name, series in self.validation.items():
            out[f"{name}_history"] = series
        if self.deployed is not None:
            out["deployed_accuracy"] = self.deployed.accuracy
            out["software_loss_history"] = self.software_loss_history
        return out


def prepare_data(config: TrainConfig, data: DigitSplit | tuple | None = None
                 ) -> tuple[DigitSplit, tuple[np.ndarray, np.ndarray] | None]:
    """The training and held-out images (MNIST, IDX files, or a user's pair of torch
    Datasets) and the validation images held apart from the training pool."""
    if data is None:
        data = load_digits(config.folder)
    elif isinstance(data, tuple):
        data = from_datasets(*data)
    if config.validation_per_class == 0:
        return data.select(config.classes, config.train_per_class, config.test_per_class), None
    pool = data.select(config.classes, None, config.test_per_class)
    return validation_split(pool, config.classes, config.validation_per_class,
                            config.train_per_class)


def make_optimiser(config: TrainConfig, params: Iterable[torch.nn.Parameter]
                   ) -> torch.optim.Optimizer:
    """The optimiser ``config.optimizer`` names, with its lr, momentum and weight decay."""
    params = list(params)
    decay = config.weight_decay
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=decay)
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=config.lr, momentum=config.momentum,
                                   weight_decay=decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=decay)


def make_scheduler(config: TrainConfig, optimiser: torch.optim.Optimizer) -> Any:
    """The learning-rate schedule ``config.scheduler`` names (None for ``none``), stepped
    once per epoch."""
    schedules = torch.optim.lr_scheduler
    if config.scheduler == "cosine":
        return schedules.CosineAnnealingLR(optimiser, T_max=config.epochs)
    if config.scheduler == "step":
        return schedules.StepLR(optimiser, step_size=max(1, config.epochs // 3), gamma=0.1)
    if config.scheduler == "exponential":
        return schedules.ExponentialLR(optimiser, gamma=0.9)
    return None


def build_banks(config: TrainConfig, progress: Progress | None = None,
                store: RunStore | None = None) -> list[NeuronBank]:
    """One bank per layer, built by the config's backend (hil.banks.registry); with
    ``multiplex`` > 1 each device serves several neurons. ``progress`` hears the LLGS
    preset's calibration as stage ``calibration``; ``store``: where a lab's survey is."""
    return registry.build_layers(config, config.layer_sizes()[1:], progress, store)


def targets(labels: np.ndarray, classes: list[int] | None) -> torch.Tensor:
    """One-hot targets in the order of ``classes`` (paper 002 trains on a subset, 0/2/4/6)."""
    order = list(range(10)) if classes is None else classes
    index = torch.tensor([order.index(int(y)) for y in labels])
    return F.one_hot(index, len(order)).to(torch.float32)


def _calibration_origin(calibration: str, bank: NeuronBank) -> dict[str, Any]:
    """Where a layer's calibration came from: the bank's own (built, measured, or each
    device's sweep run), for the run's record."""
    return {"config": calibration, "origin": bank.innermost.calibration_origin,
            "sweep_runs": bank.calibration_sweeps}


def lab_seconds(banks: list[NeuronBank]) -> float | None:
    """The instruments' clock summed over the banks' labs, each lab once (layers on one lab
    share its clock); None off the lab."""
    labs: dict[int, float] = {}
    for bank in banks:
        seconds = bank.lab_seconds
        if seconds is not None:
            key = id(bank.lab_clock() or bank)
            labs[key] = max(labs.get(key, 0.0), seconds)
    return sum(labs.values()) if labs else None


class Trainer:
    """Validates the configuration and loads the data on construction, so bad input fails
    before anything is written; ``run`` then records everything in the store."""

    def __init__(self, config: TrainConfig, progress: Progress | None = None, *,
                 data: DigitSplit | tuple | None = None,
                 optimizer: OptimiserFactory | None = None,
                 scheduler: SchedulerFactory | None = None,
                 banks: list[NeuronBank] | None = None):
        """``data``: a :class:`DigitSplit` or a (train, held-out) pair of torch Datasets
        (default: ``config.folder``). ``optimizer`` / ``scheduler``: factories ``params ->
        optimiser`` and ``optimiser -> scheduler`` in place of the config's names.
        ``banks``: one bank per layer (e.g. a lab session's devices), kept open after the
        run; default: built from the config and closed after it."""
        self.config = config.validate()
        self.switches = registry.backend(config.backend).capabilities.switches
        if not self.switches:  # paper 003's neurons: their own network (one hidden layer)
            from hil.learn.two_polariser import check_two_polariser

            if banks is not None or optimizer is not None or scheduler is not None:
                raise ConfigError("backend", f"{config.backend}: its network builds its own "
                                  "devices and Adam; allowed: no banks, optimizer or scheduler")
            check_two_polariser(self.config)
        self.progress = progress or (lambda *a: None)
        self.data, self.validation = prepare_data(self.config, data)
        self.optimizer_factory = optimizer or (lambda p: make_optimiser(self.config, p))
        self.scheduler_factory = scheduler or (lambda o: make_scheduler(self.config, o))
        self.custom = {k: v for k, v in (("optimizer", optimizer), ("scheduler", scheduler))
                       if v is not None}
        self.given_banks = banks
        self.lab_seconds_estimate: float | None = None  # lab clock at the end, as estimated
        # before the first epoch (the run's smallest and largest calls, dry-priced)
        self.on_lab_estimate: Callable[[float], None] | None = None  # told that estimate
        # on a lab: suspenders and reconnection (hil.session.watch; None: the defaults)
        self.watch: WatchSettings | RunWatch | None = None
        self._watch: RunWatch | None = None

    @property
    def n_inputs(self) -> int:
        """Input features, from the data (784 for MNIST)."""
        return int(self.data.train_x.shape[1])

    def new_net(self, generator: torch.Generator) -> SpikingNet:
        """A fresh network of the configured layer sizes and dropout, its weights drawn from
        ``generator``."""
        return SpikingNet(self.config.layer_sizes(self.n_inputs), generator,
                          dropout=self.config.dropout)

    def _switch_rows(self, epochs: int) -> list[int]:
        """Rows (time steps x images) of every ``switch`` each layer's bank will get in
        ``epochs`` epochs (training batches, validation chunks) and the held-out
        evaluations after them (HIL, and the deployed network with ``compare``)."""
        cfg = self.config

        def chunks(images: int, size: int) -> list[int]:
            return [min(size, images - start) * cfg.steps for start in range(0, images, size)]

        epoch = chunks(len(self.data.train_x), cfg.batch_size)
        if self.validation is not None:
            epoch += chunks(len(self.validation[0]), EVAL_CHUNK)
        evaluations = 2 if cfg.compare else 1
        return epoch * epochs + chunks(len(self.data.test_x), EVAL_CHUNK) * evaluations

    @staticmethod
    def _lab_seconds_to_go(banks: list[NeuronBank], rows: list[int]) -> float | None:
        """Lab seconds of these switch calls on every bank (each bank's cost per batch and
        per cycle, hil.banks.lab_time), or None if a bank cannot tell."""
        total = 0.0
        for size, calls in Counter(rows).items():
            for bank in banks:
                seconds = bank.lab_seconds_for(size)
                if seconds is None:
                    return None
                total += calls * seconds
        return total

    def price(self, banks: list[NeuronBank], epochs: int | None = None) -> float | None:
        """Lab seconds the switch calls of ``epochs`` epochs (default: the run's) and the
        held-out evaluations after them will take on ``banks``: one call of the smallest
        and the largest size priced on a separate virtual lab with the rig's bus and timing
        tables, no device pulsed (hil.banks.lab_time). Re-reads of tied images are not in
        it (how many images tie is known only once they are read). None off the lab."""
        rows = self._switch_rows(self.config.epochs if epochs is None else epochs)
        for bank in banks:
            bank.price_lab_time(sorted(set(rows)))
        return self._lab_seconds_to_go(banks, rows)

    def _estimate_before_the_epochs(self, banks: list[NeuronBank], first_epoch: int) -> None:
        """The lab time at the end, priced (``price``) and said now."""
        now = lab_seconds(banks)
        if now is None:
            return
        to_go = self.price(banks, self.config.epochs - first_epoch)
        if to_go is not None:
            self.lab_seconds_estimate = now + to_go
            if self.on_lab_estimate is not None:
                self.on_lab_estimate(self.lab_seconds_estimate)

    # -- the run ---------------------------------------------------------------------
    def run(self, store: RunStore, resume_id: int | None = None) -> TrainResult:
        """Train in the store's run context (``RunStore.run``): a new run, or the killed
        run ``resume_id`` continued from its last checkpoint to the result it would have
        had uninterrupted (refused while another process is recording it)."""
        cfg = self.config
        self.store = store
        if not self.switches:
            from hil.learn.two_polariser import record_two_polariser

            if resume_id is not None:
                raise ConfigError("resume", f"{cfg.backend} runs keep no checkpoints; allowed: "
                                  "a new run")
            return record_two_polariser(cfg, store, self.data, self.validation, self.progress)
        start = time.perf_counter()
        self._banks: list[NeuronBank] = []
        with store.run("train", self._stored_config(), seed=cfg.seed, resume=resume_id) as run:
            run.closing = self._lab_record  # however the run ends
            result = self._run(run, start)
            run.result = result.summary(cfg)
        return result

    def _lab_record(self) -> dict:
        """Lab banks' pulses per device (replays included), the burst as measured on the
        rig, and the lab time estimated before the first epoch with what it took."""
        record: dict = {}
        for bank in self._banks:
            found = bank.lab_record()
            if found is None:
                continue
            pulses = record.setdefault("pulses", {})
            for device, count in found["pulses"].items():
                pulses[device] = pulses.get(device, 0) + count
            if "burst" in found:
                record.setdefault("burst", found["burst"])
        if self.lab_seconds_estimate is not None:
            record["lab_seconds_estimate"] = self.lab_seconds_estimate
        seconds = lab_seconds(self._banks)
        if record and seconds is not None:
            record["lab_seconds"] = seconds
        return record

    def _stored_config(self) -> dict[str, Any]:
        """The configuration as the run keeps it: with banks a script gave, what those banks
        are (their lab file; their own calibration, recorded per device in the provenance)."""
        stored = self.config.to_dict()
        stored.update({f"{k}_object": repr(v) for k, v in self.custom.items()})
        if self.given_banks is not None:
            stored["banks"] = "given"
            labs = {b.innermost.description.get("lab_file") for b in self.given_banks
                    if getattr(b.innermost, "description", None)}
            if len(labs) == 1:
                stored["bank"]["lab"] = labs.pop()
            if self.config.calibration == "nominal":  # the trainer takes the banks' own
                stored["bank"]["calibration"] = "given"
        return stored

    def _run(self, run: ActiveRun, start: float) -> TrainResult:
        if self.given_banks is not None:
            return self._train_and_evaluate(run, start, self.given_banks)
        banks = build_banks(self.config, self.progress, self.store)
        try:
            return self._train_and_evaluate(run, start, banks)
        finally:
            for bank in banks:
                bank.close()

    def _record(self, run: ActiveRun, banks: list[NeuronBank],
                calibration: list[list[Calibration]]) -> None:
        """What this start of the run ran on: the banks (devices, lab file, chip), each
        neuron's calibration and where it came from, the data split, the seeds, and every
        instrument's settings now (QCoDeS's snapshot)."""
        cfg = self.config
        run.describe(
            backend="given" if self.given_banks is not None else cfg.backend,
            banks=[bank.describe() for bank in banks],
            calibration=[{"origin": _calibration_origin(cfg.calibration, bank),
                          "neurons": [vars(c) for c in layer]}
                         for bank, layer in zip(banks, calibration, strict=True)],
            data=describe_split(self.data, self.validation, cfg),
            seeds={"seed": cfg.seed, "weights_and_spikes": f"torch.Generator({cfg.seed})",
                   "banks": f"numpy SeedSequence([{cfg.seed}, layer])",
                   "validation_spikes": cfg.seed + 2, "held_out_spikes": cfg.seed + 1,
                   "dropout": f"torch.manual_seed({cfg.seed})" if cfg.dropout else None},
            trainer={k: repr(v) for k, v in self.custom.items()})
        snapshots = [bank.instrument_snapshot() for bank in banks]
        if any(snapshots):
            run.snapshot(snapshots[0] if len(snapshots) == 1 else
                         {f"layer {i}": shot for i, shot in enumerate(snapshots) if shot})

    def _train_and_evaluate(self, run: ActiveRun, start: float, banks: list[NeuronBank]):
        self._banks = banks  # for the run's record (pulses, lab time), whatever ends it
        cfg = self.config
        x = torch.from_numpy(self.data.train_x)
        y = targets(self.data.train_y, cfg.classes)
        gen = torch.Generator().manual_seed(cfg.seed)
        if cfg.dropout > 0:  # dropout draws from torch's global generator
            torch.manual_seed(cfg.seed)
        net = self.new_net(gen)
        optimiser = self.optimizer_factory(net.parameters())
        scheduler = self.scheduler_factory(optimiser)
        checkpoint = run.latest_checkpoint()
        history: dict[str, Any] = {"loss": [], "train_accuracy": [], "val_loss": [],
                                   "val_accuracy": [], "stopped": False}
        if checkpoint is None:  # (a run stopped while it calibrated: its sweeps are kept)
            calibration = self._calibrate(banks, run.id if run.resumed else None)
            first_epoch = 0
        else:  # every random stream, the optimiser and the devices as they were saved
            state = torch.load(io.BytesIO(checkpoint[1]), weights_only=False)
            net.load_state_dict(state["net"])
            optimiser.load_state_dict(state["optimiser"])
            if scheduler is not None and state.get("scheduler") is not None:
                scheduler.load_state_dict(state["scheduler"])
            gen.set_state(state["generator"])
            if "torch_rng" in state:
                torch.set_rng_state(state["torch_rng"])
            for bank, bank_state in zip(banks, state["banks"], strict=True):
                bank.set_state(bank_state)
            calibration = [[Calibration(**c) for c in layer] for layer in state["calibration"]]
            history = {**history, **state["history"]}
            first_epoch = checkpoint[0] + 1
        devices = [DeviceCurrents(b, c, cfg.gradient)
                   for b, c in zip(banks, calibration, strict=True)]
        for bank in banks:  # lab devices: the one-off set-up before the first epoch
            bank.prepare()
        self._record(run, banks, calibration)
        run.watch_lab_seconds(lambda: lab_seconds(banks))
        self._watch = watch_run(_with_spares(self.watch, banks), run, banks, devices,
                                calibration, self.store)
        if checkpoint is None:  # calibrated and set up: a run killed now goes on from here
            run.save_checkpoint(-1, _checkpoint_bytes(net, optimiser, scheduler, gen, banks,
                                                      calibration, history))
        self._estimate_before_the_epochs(banks, first_epoch)

        def step(batch: torch.Tensor) -> tuple[float, int]:
            """One update through the devices (paper 002 Methods 4.6)."""
            spikes = poisson_spikes(x[batch], cfg.steps, gen)
            logits, out_spikes, _ = net.forward_devices(spikes, devices)
            loss = output_loss(logits, out_spikes, y[batch], cfg.error)
            done = (descend(optimiser, loss, batch),
                    device_hits(out_spikes.sum(0), y[batch].argmax(1)))
            if self._watch is not None:  # suspenders, the operator's pause and abort
                self._watch.between_batches()
            return done

        def after_epoch(stats: EpochStats) -> bool:
            """Schedule, validation, metrics, a checkpoint and progress; True to stop."""
            epoch = stats.epoch
            metrics = {"loss": stats.loss, "train_accuracy": stats.accuracy,
                       "lr": float(optimiser.param_groups[0]["lr"])}
            if scheduler is not None:
                scheduler.step()
            history["loss"].append(stats.loss)
            history["train_accuracy"].append(stats.accuracy)
            if self.validation is not None:
                metrics.update(self.validate(net, devices))
                history["val_loss"].append(metrics["val_loss"])
                history["val_accuracy"].append(metrics["val_accuracy"])
                history["stopped"] = self._no_progress(history["val_loss"])
            run.log_metrics(epoch, metrics)
            run.save_checkpoint(epoch, _checkpoint_bytes(
                net, optimiser, scheduler, gen, banks, calibration, history))
            shown = {"loss": stats.loss, "acc": stats.accuracy}
            if lab_seconds(banks) is not None:  # lab time left, priced with what ran so far
                left = self._lab_seconds_to_go(banks, self._switch_rows(cfg.epochs - epoch - 1))
                if left is not None:
                    shown["lab_s_left"] = left
            self.progress("train", epoch + 1, cfg.epochs, shown)
            return history["stopped"]

        if not history["stopped"]:
            net.train()
            run_epochs(shuffled(len(x), cfg.batch_size, gen), step, cfg.epochs, first_epoch,
                       after_epoch)
        net.eval()
        hil = self.evaluate(net, devices, "evaluate HIL")
        run.log_metrics(cfg.epochs, {"hil_accuracy": hil.accuracy})
        deployed, software_loss, software = None, [], None
        if cfg.compare:
            software, software_loss = self.train_software()
            deployed = self.evaluate(software, devices, "evaluate deployed")
            run.log_metrics(cfg.epochs, {"deployed_accuracy": deployed.accuracy})
        run.save_checkpoint(cfg.epochs, _model_bytes(
            net, software, optimiser, scheduler, gen, banks, calibration, history))
        validation = ({"val_loss": history["val_loss"], "val_accuracy": history["val_accuracy"]}
                      if self.validation is not None else {})
        return TrainResult(
            run.id, hil, deployed, history["loss"], history["train_accuracy"], software_loss,
            [[vars(c) for c in layer] for layer in calibration], time.perf_counter() - start,
            banks, validation, len(history["loss"]), net, software,
        )

    def _no_progress(self, val_loss: list[float]) -> bool:
        """Early stopping: ``patience`` epochs without a lower validation loss."""
        patience = self.config.patience
        if patience is None or len(val_loss) <= patience:
            return False
        return min(val_loss[-patience:]) >= min(val_loss[:-patience])

    @torch.no_grad()
    def validate(self, net: SpikingNet, devices: list[DeviceCurrents]) -> dict[str, float]:
        """Loss and accuracy on the validation images (held apart from training and from
        the held-out set), through the devices, with the same spike trains every epoch. The
        loss is the displayed logits' cross-entropy; the accuracy is the devices' own
        readout (ties re-read on the devices)."""
        cfg = self.config
        was_training = net.training
        net.eval()
        x = torch.from_numpy(self.validation[0])
        y = targets(self.validation[1], cfg.classes)
        readout = read_out(net, devices, x, y.argmax(1), cfg.steps, cfg.seed + 2,
                           cfg.rereads, software=False)
        net.train(was_training)
        total = float(F.binary_cross_entropy_with_logits(readout.logits, y, reduction="sum"))
        return {"val_loss": total / len(x), "val_accuracy": readout.accuracy()}

    def _calibrate(self, banks: list[NeuronBank],
                   resumed: int | None = None) -> list[list[Calibration]]:
        """Nominal: what the bank was built with. Device: a measured sweep per neuron (on a
        lab, each sweep a run of its own; ``resumed``: this run's id when it goes on after
        a stop during these sweeps)."""
        if self.config.calibration == "nominal":
            return [list(b.calibration) for b in banks]
        out = []
        for i, bank in enumerate(banks):
            self.progress("characterise", i + 1, len(banks), {})
            # on a lab each device's sweep is a run of its own in the store
            bank.measure_calibration(self.store, resumed_after=resumed)
            out.append(list(bank.calibration))
        return out

    @torch.no_grad()
    def evaluate(self, net: SpikingNet, devices: list[DeviceCurrents],
                 stage: str = "evaluate") -> Evaluation:
        """Held-out images through the devices; the same spike trains for every network
        (progress per chunk of images under ``stage``). The accuracy is the devices' own
        readout; the software tie-break's and the normalised inputs' stand beside it."""
        cfg = self.config
        x = torch.from_numpy(self.data.test_x)
        labels = targets(self.data.test_y, cfg.classes).argmax(1)
        readout = read_out(net, devices, x, labels, cfg.steps, cfg.seed + 1, cfg.rereads,
                           stage=lambda done, total: self.progress(stage, done, total, {}))
        predicted = readout.classes["devices"]
        return Evaluation(
            readout.accuracy(), predicted.tolist(), labels.tolist(),
            readout.confidence.tolist(), readout.accuracies(),
            {"tied": readout.tied, "unresolved": readout.unresolved,
             "rereads": readout.rereads},
        )

    def evaluate_banks(self, net: SpikingNet, banks: list[NeuronBank]) -> Evaluation:
        """The held-out images through ``banks`` (one per layer, each with the calibration
        it holds): e.g. a reloaded network on a lab's devices."""
        return self.evaluate(net, [DeviceCurrents(b, b.calibration, self.config.gradient)
                                   for b in banks])

    def train_software(self) -> tuple[SpikingNet, list[float]]:
        """The same network and schedule with ideal sigmoids, in software (Fig. 4e)."""
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        net = self.new_net(gen)
        optimiser = self.optimizer_factory(net.parameters())
        scheduler = self.scheduler_factory(optimiser)
        x = torch.from_numpy(self.data.train_x)
        y = targets(self.data.train_y, cfg.classes)
        history: list[float] = []

        def step(batch: torch.Tensor) -> tuple[float, int]:
            loss = F.binary_cross_entropy_with_logits(net.forward_ideal(x[batch]), y[batch],
                                                      reduction="sum")
            return descend(optimiser, loss, batch), 0

        def after_epoch(stats: EpochStats) -> None:
            if scheduler is not None:
                scheduler.step()
            history.append(stats.loss)
            self.progress("software", stats.epoch + 1, cfg.epochs, {"loss": stats.loss})

        net.train()
        run_epochs(shuffled(len(x), cfg.batch_size, gen), step, cfg.epochs,
                   after_epoch=after_epoch)
        net.eval()
        return net, history


def _with_spares(watch: WatchSettings | RunWatch | None,
                 banks: list[NeuronBank]) -> WatchSettings | RunWatch | None:
    """The watch's settings with the banks' own spares (a survey's usable devices no layer
    took) when the run named none: a retired device then has a successor."""
    spares = list(dict.fromkeys(d for bank in banks for d in bank.spares()))  # layers share
    if not spares or isinstance(watch, RunWatch) or (watch is not None and watch.spares):
        return watch
    return dataclasses.replace(watch or WatchSettings(), spares=spares)


def _checkpoint_bytes(net, optimiser, scheduler, gen, banks, calibration, history) -> bytes:
    buffer = io.BytesIO()
    torch.save({
        "net": net.state_dict(),
        "optimiser": optimiser.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "generator": gen.get_state(),
        "torch_rng": torch.get_rng_state(),
        "banks": [b.get_state() for b in banks],
        "calibration": [[vars(c) for c in layer] for layer in calibration],
        "history": history,
    }, buffer)
    return buffer.getvalue()


def _model_bytes(net, software, optimiser, scheduler, gen, banks, calibration, history) -> bytes:
    """The final checkpoint: the trained HIL net and the software baseline's net (when
    trained), exportable with :func:`hil.learn.weights.export_weights`."""
    state = torch.load(io.BytesIO(_checkpoint_bytes(
        net, optimiser, scheduler, gen, banks, calibration, history)), weights_only=False)
    state["software"] = None if software is None else software.state_dict()
    state["layer_sizes"] = list(net.sizes)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()

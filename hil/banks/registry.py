"""The backends a training run can put its neurons on, in one table.

Each backend declares the settings it reads (a dataclass with its own defaults), the defaults
it brings to the rest of a run (a lab's fewer held-out images, paper 003's network), its
checks (each naming the field and what is allowed), what it can do (``Capabilities``) and how
it builds one layer's bank. The trainer, the configuration's validation and ``hil train``
read this table; nothing else decides by a backend's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from hil.banks.base import FirstNeurons, MultiplexedBank, NeuronBank
from hil.banks.model import model_bank
from hil.banks.notices import llgs_training_notices
from hil.errors import ConfigError
from hil.units import refused
from protocols.progress import Progress
from simulators.bounds import check_llgs_steps
from simulators.lab.chip import MAX_DEVICES
from simulators.macrospin import PRESETS


@dataclass(frozen=True)
class Capabilities:
    """What a backend's banks can do, for the trainer and the CLI to read (not guess)."""

    switches: bool = True  # a reset-write-read bank for the spiking trainer (hil.learn.train)
    records_calibration: bool = False  # device calibration: sweeps recorded in the run store
    lab_time: bool = False  # the instruments' clock: a run's lab seconds


@dataclass(frozen=True)
class ModelSettings:
    """Simulated Hall bars (paper 002 Eq. 2-3)."""

    width: float = 0.5e-6  # m
    eta: float = 0.25  # device-to-device I_bias variation (paper 002 Eq. 3: "up to 25 %")
    eta_window: float | None = None  # independent relative-window spread; None: 0


@dataclass(frozen=True)
class LLGSSettings:
    """Stochastic LLGS macrospins (papers 000, 002)."""

    preset: str = "mtj-000"
    pulse_width: float | None = None  # s; None: 30 ns
    eta: float = 0.25
    eta_window: float | None = None  # one factor sets bias and window: unset or eta


@dataclass(frozen=True)
class TelegraphSettings:
    """Paper 004's telegraphic VCMA neurons."""

    preset: str = "vcma-004"
    gate_voltage: float = 0.0  # V: the bias that sets E_b by VCMA
    eta: float = 0.25
    eta_window: float | None = None  # the window follows the barrier: unset or eta


@dataclass(frozen=True)
class LabSettings:
    """Devices through the instruments: a lab file, or the virtual lab of ``width``."""

    lab: str | None = None  # lab file (TOML); None: the virtual lab
    timing: str = "auto"  # auto (instruments when they can), software, hardware
    width: float = 0.5e-6  # m: the virtual chip's bars and the nominal calibration's
    chip: int | None = None  # the virtual lab's chip: its devices (None: the network's)
    devices: list[int] | None = None  # the devices the neurons take, layer after layer
    survey: int | None = None  # a survey run: its chosen devices and their fits


@dataclass(frozen=True)
class TwoPolariserSettings:
    """Paper 003's two-polariser neurons (activation and derivative from one MTJ)."""

    preset: str = "mtj-003"
    read_noise: float = 0.0  # Gaussian read noise / largest component
    eta: float = 0.0


@dataclass(frozen=True)
class LayerRequest:
    """One layer's bank: its physical devices, the run's seed and the layer's own stream."""

    devices: int
    seed: int
    layer_seed: np.random.SeedSequence
    progress: Progress | None = None

    @property
    def bank_seed(self) -> int:
        """One integer drawn from the layer's stream, for banks seeded by an int rather than a
        SeedSequence."""
        return int(self.layer_seed.generate_state(1)[0])


def _accept(settings: Any) -> None:
    """Refuse bad settings with a ConfigError naming the field and the allowed range; by
    default every value of the settings' types is allowed."""


def _simulated_neurons(settings: Any, bank: Any) -> tuple[str, str | None]:
    """What the neurons are in a run's summary, from the settings and the layer's innermost
    bank: (devices, calibration, or None for the run's calibration option)."""
    return "simulated neurons", None


def _no_notices(settings: Any) -> list[str]:
    """Lines to say before a run whose first steps may look like a hang (a kernel's
    compile); by default none."""
    return []


@dataclass(frozen=True)
class Backend:
    """One backend: its settings, the run defaults it brings, its checks, its capabilities
    and how it builds a layer's bank (``None`` where another trainer runs it)."""

    name: str
    help: str
    settings: type
    capabilities: Capabilities
    build: Callable[[Any, LayerRequest], NeuronBank] | None = None
    check: Callable[[Any], None] = _accept
    run_defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # what the neurons are, for a run's summary: (devices, calibration or None for the
    # run's calibration option), from the settings and the layer's innermost bank
    describe: Callable[[Any, Any], tuple[str, str | None]] = _simulated_neurons
    # lines to say before a run whose first steps may look like a hang (a compile)
    notices: Callable[[Any], list[str]] = _no_notices
    # every layer's bank at once, where layers share something (the lab: one set of
    # instruments and one chip, its devices shared out); given the run store (or None)
    build_layers: Callable[[Any, list[LayerRequest], Any], list[NeuronBank]] | None = None

    @property
    def setting_names(self) -> tuple[str, ...]:
        """The fields of this backend's settings dataclass: the configuration fields it reads."""
        return tuple(f.name for f in dataclasses.fields(self.settings))

    def settings_of(self, config: Any) -> Any:
        """This backend's settings from a configuration's fields (``None``: the backend's
        own default)."""
        values = {name: getattr(config, name) for name in self.setting_names}
        return self.settings(**{k: v for k, v in values.items() if v is not None
                                or _default(self.settings, k) is None})


def _default(settings: type, name: str) -> Any:
    return next(f.default for f in dataclasses.fields(settings) if f.name == name)


# -- the checks (before anything is built or written) --------------------------------
def _preset(name: str, backend: str) -> Any:
    if name not in PRESETS:
        raise ConfigError("preset", f"{name!r} is unknown; allowed: {', '.join(PRESETS)}")
    return PRESETS[name]


def _one_spread(backend: str, eta: float, eta_window: float | None) -> None:
    if eta_window is not None and eta_window != eta:
        raise ConfigError("eta_window", f"{eta_window:g}: on the {backend} backend one device "
                          "parameter sets bias and window, so the window varies with eta = "
                          f"{eta:g}; allowed: unset")


def _check_llgs(s: LLGSSettings) -> None:
    preset = _preset(s.preset, "llgs")
    _one_spread("llgs", s.eta, s.eta_window)
    if s.pulse_width is not None:
        try:
            check_llgs_steps("pulse_width", s.pulse_width, preset.default_dt)
        except ValueError as err:
            raise refused(err) from None


def _check_telegraph(s: TelegraphSettings) -> None:
    preset = _preset(s.preset, "telegraph")
    if not preset.h_k(s.gate_voltage) > 0:
        raise ConfigError("gate_voltage", f"{s.gate_voltage:g} V leaves {s.preset} without a "
                          "perpendicular easy axis; allowed range: H_k(V) > 0")
    _one_spread("telegraph", s.eta, s.eta_window)


def _check_lab(s: LabSettings) -> None:
    if s.lab is not None and not Path(s.lab).is_file():
        raise ConfigError("lab", f"{s.lab} is not a lab file")
    if s.chip is not None:
        if s.lab is not None:
            raise ConfigError("chip", f"{s.chip}: the chip of {s.lab} is the lab file's; "
                              "allowed with a lab file: unset")
        if not (isinstance(s.chip, int) and 1 <= s.chip <= MAX_DEVICES):
            raise ConfigError("chip", f"{s.chip!r} is outside the allowed range "
                              f"[1, {MAX_DEVICES}] devices")
    if s.devices is not None:
        if not all(isinstance(d, int) and d >= 0 for d in s.devices) or \
                len(set(s.devices)) != len(s.devices):
            raise ConfigError("devices", f"{s.devices!r}: allowed: distinct device numbers "
                              ">= 0")
        if s.chip is not None and max(s.devices, default=-1) >= s.chip:
            raise ConfigError("devices", f"{max(s.devices)} is not on the chip of {s.chip} "
                              f"devices; allowed range [0, {s.chip - 1}]")
        if s.survey is not None:
            raise ConfigError("devices", "the survey chooses the devices; allowed with "
                              "survey: unset")
    if s.survey is not None and not (isinstance(s.survey, int) and s.survey >= 1):
        raise ConfigError("survey", f"{s.survey!r} is not a run id (an integer >= 1)")


def _check_two_polariser(s: TwoPolariserSettings) -> None:
    _preset(s.preset, "two-polariser")
    if s.preset != "mtj-003":
        raise ConfigError("preset", f"{s.preset!r} has no second polariser; allowed on the "
                          "two-polariser backend: mtj-003")
    if not 0 <= s.read_noise <= 1:
        raise ConfigError("read_noise", f"{s.read_noise:g} is outside the allowed range [0, 1]")


# -- what each backend's neurons are, in a run's summary ---------------------------------
def _describe_model(s: ModelSettings, bank: Any) -> tuple[str, str | None]:
    return f"simulated {s.width * 1e6:g} um bars, eta = {s.eta:g}", None


def _describe_llgs(s: LLGSSettings, bank: Any) -> tuple[str, str | None]:
    return f"{s.preset} macrospins (LLGS), eta = {s.eta:g}", None


def _describe_telegraph(s: TelegraphSettings, bank: Any) -> tuple[str, str | None]:
    return f"{s.preset} telegraphic neurons at {s.gate_voltage:g} V, eta = {s.eta:g}", None


def _describe_two_polariser(s: TwoPolariserSettings, bank: Any) -> tuple[str, str | None]:
    return f"{s.preset} two-polariser neurons, read noise {s.read_noise:g}", None


def _describe_lab(s: LabSettings, bank: Any) -> tuple[str, str | None]:
    """Through instruments: the lab's devices and chip as the bank says (never the simulated
    bars' numbers), calibrated by its recorded sweeps or the width's nominal preset."""
    if bank is None:
        return "devices through instruments", None
    lab = bank.description or {}
    chosen = ", ".join(str(d) for d in bank.devices)
    if "lab_file" in lab:
        chip = f"chip {lab['chip']!r}" if lab.get("chip") else "the chip"
        devices = f"devices {chosen} of {chip} through the instruments of {lab['lab_file']}"
    else:
        devices = (f"devices {chosen} of the virtual lab's chip ({lab.get('devices')} bars of "
                   f"{lab.get('width', 0) * 1e6:g} um, seed {lab.get('seed')}) through its "
                   "emulated instruments")
    known = [str(r) for r in (bank.calibration_sweeps or []) if r is not None]
    calibration = (f"device calibration (sweep runs {', '.join(known)})" if known else
                   f"nominal calibration (a {s.width * 1e6:g} um bar's preset)")
    return devices, calibration


def _llgs_notices(s: LLGSSettings) -> list[str]:
    return llgs_training_notices(s.preset)


# -- the builds -------------------------------------------------------------------------
def _build_model(s: ModelSettings, layer: LayerRequest) -> NeuronBank:
    return model_bank(layer.devices, s.width, s.eta, s.eta_window, seed=layer.layer_seed)


def _build_llgs(s: LLGSSettings, layer: LayerRequest) -> NeuronBank:
    from hil.banks.llgs import LLGSBank

    return LLGSBank(s.preset, layer.devices, s.pulse_width or 30e-9, seed=layer.bank_seed,
                    eta=s.eta, eta_window=s.eta_window,
                    progress=layer.progress)


def _build_telegraph(s: TelegraphSettings, layer: LayerRequest) -> NeuronBank:
    from hil.banks.telegraph import TelegraphBank

    return TelegraphBank(s.preset, layer.devices, s.gate_voltage, seed=layer.bank_seed,
                         eta=s.eta, eta_window=s.eta_window)


def _build_lab(s: LabSettings, layer: LayerRequest) -> NeuronBank:
    return _build_lab_layers(s, [layer], None)[0]


def _build_lab_layers(s: LabSettings, layers: list[LayerRequest], store: Any) -> list:
    from hil.banks.lab import lab_banks

    return lab_banks(s.lab, s.timing, s.width, [layer.devices for layer in layers],
                     layers[0].seed, s.chip, s.devices, s.survey, store)


BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    """Add a backend to the table (a name is registered once)."""
    if backend.name in BACKENDS:
        raise ValueError(f"backend {backend.name!r} is registered already")
    BACKENDS[backend.name] = backend
    return backend


register(Backend(
    "model", "simulated Hall bars (paper 002, default)", ModelSettings, Capabilities(),
    _build_model, describe=_describe_model))
register(Backend(
    "llgs", "stochastic LLGS macrospins", LLGSSettings, Capabilities(), _build_llgs,
    _check_llgs, describe=_describe_llgs, notices=_llgs_notices))
register(Backend(
    "lab", "instruments: the virtual lab or --lab", LabSettings,
    Capabilities(records_calibration=True, lab_time=True), _build_lab,
    _check_lab,
    # Through instruments every activation costs T reset-write-read cycles. Paper 002
    # tested one image per class, which says nothing (4 images: a 95 % interval 40 points
    # wide); 25 per class (100 images, +-10 points) costs 100 x T=100 x 4 devices = 40,000
    # cycles per evaluation: 51 s hardware-timed (1.28 ms a cycle), 28 min at one SCPI
    # exchange per step (41 ms), 22 h at paper 002's own 2 s interval (bench/RESULTS.md).
    MappingProxyType({"test_per_class": 25}), describe=_describe_lab,
    build_layers=_build_lab_layers))
register(Backend(
    "telegraph", "paper 004's telegraphic VCMA neurons, Neel-Brown", TelegraphSettings,
    Capabilities(), _build_telegraph, _check_telegraph, describe=_describe_telegraph))
register(Backend(
    "two-polariser", "paper 003: activation and derivative from one MTJ",
    TwoPolariserSettings, Capabilities(switches=False), None, _check_two_polariser,
    # paper 003's network: 784-64-10 on all digits, Adam (bench/RESULTS.md)
    MappingProxyType({"hidden": [64], "classes": None, "epochs": 5, "lr": 3e-3,
                      "optimizer": "adam", "batch_size": 64, "train_per_class": None, "eta": 0.0,
                      "validation_per_class": 50}), describe=_describe_two_polariser))


def backend(name: str) -> Backend:
    """The registered backend ``name``, or a refusal naming the allowed ones."""
    try:
        return BACKENDS[name]
    except (KeyError, TypeError):
        raise ConfigError("backend", f"{name!r} is not one of {', '.join(BACKENDS)}") from None


def describe(config: Any, banks: list) -> tuple[str, str]:
    """What a run's neurons were and how they were calibrated, in words, as its backend and
    its first layer's innermost bank say."""
    chosen = backend(config.backend)
    inner = banks[0].innermost if banks else None
    devices, calibration = chosen.describe(chosen.settings_of(config), inner)
    return devices, calibration or f"{config.calibration} calibration"


def notices(config: Any) -> list[str]:
    """What to say before a run of ``config`` starts (its backend's notices)."""
    chosen = backend(config.backend)
    return chosen.notices(chosen.settings_of(config))


def setting_fields() -> set[str]:
    """Every field some backend reads."""
    return {name for b in BACKENDS.values() for name in b.setting_names}


def check(config: Any, unset: Mapping[str, Any]) -> Any:
    """The backend's checks on ``config`` and a refusal of any backend setting given (not at
    its ``unset`` value) that this backend does not read; its settings, checked."""
    chosen = backend(config.backend)
    for name in sorted(setting_fields() - set(chosen.setting_names)):
        value = getattr(config, name)
        if value is not None and value != unset.get(name):
            readers = [b.name for b in BACKENDS.values() if name in b.setting_names]
            raise ConfigError(name, f"{value!r}: {name.replace('_', ' ')} is a setting of the "
                              f"{', '.join(readers)} backend{'s' if len(readers) > 1 else ''}; the "
                              f"{chosen.name} backend reads {', '.join(chosen.setting_names)}; "
                              "allowed here: unset")
    settings = chosen.settings_of(config)
    chosen.check(settings)
    return settings


def build_layer(config: Any, size: int, layer: int,
                progress: Progress | None = None) -> NeuronBank:
    """The bank of one layer of ``size`` neurons (layer number ``layer``): see
    :func:`build_layers`."""
    return _build(config, [(layer, size)], progress, None)[0]


def build_layers(config: Any, sizes: list[int], progress: Progress | None = None,
                 store: Any = None) -> list[NeuronBank]:
    """One bank per layer of ``sizes`` neurons: ``config.multiplex`` neurons per device
    (paper 002 SI S12), each device's current clipped at ``config.max_current``. A backend
    whose layers share instruments builds them together (one lab, its devices shared out
    layer after layer); ``store``: the run store, where a lab finds its survey."""
    return _build(config, list(enumerate(sizes)), progress, store)


def _build(config: Any, layers: list[tuple[int, int]], progress: Progress | None,
           store: Any) -> list[NeuronBank]:
    chosen = backend(config.backend)
    if chosen.build is None:
        raise ConfigError("backend", f"{chosen.name}: its neurons are not reset-write-read "
                          "switches; it trains through hil.learn.two_polariser (hil train "
                          f"--backend {chosen.name})")
    requests = [LayerRequest(-(-size // config.multiplex), config.seed,
                             np.random.SeedSequence([config.seed, layer]), progress)
                for layer, size in layers]
    settings = chosen.settings_of(config)
    if chosen.build_layers is not None:
        banks = chosen.build_layers(settings, requests, store)
    else:
        banks = []
        try:
            for request in requests:
                banks.append(chosen.build(settings, request))
        except BaseException:
            for bank in banks:
                bank.close()
            raise
    return [_fitted(config, bank, size) for bank, (_, size) in zip(banks, layers, strict=True)]


def _fitted(config: Any, bank: NeuronBank, size: int) -> NeuronBank:
    if config.max_current is not None:
        bank.max_current = np.minimum(bank.max_current, config.max_current)
    if config.multiplex > 1:
        bank = FirstNeurons(MultiplexedBank(bank, config.multiplex), size)
    return bank

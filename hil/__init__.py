"""spinhil's public API: hardware-in-the-loop learning with spintronic stochastic neurons
(paper 002, Islam et al., Hardware in Loop Learning with Spin Stochastic Neurons).

Open a lab and characterise its devices::

    import hil
    with hil.open_lab(devices=2, store="runs.sqlite") as lab:   # the virtual lab
        fits = [lab.sweep(device=d, iterations=50).fit for d in range(2)]
        bank = hil.LabBank.from_session(lab, [0, 1])            # its devices as neurons
        result = hil.Trainer(hil.TrainConfig(classes=[0, 1]), banks=[bank]).run(lab.store)

Put device neurons into any torch model (``hil.DeviceNeurons``), train with the torch
conventions (``hil.TrainConfig``, ``hil.Trainer``), read the run store (``hil.RunStore``),
export trained weights (``hil.export_weights``). Names load on first use, so ``hil --help``
stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = [
    "__version__",
    # the lab session (hil.session)
    "ProcedureResult", "Session", "open_lab", "cycle_config", "virtual_devices",
    # neuron banks (hil.banks)
    "Calibration", "LLGSBank", "LabBank", "ModelBank", "MultiplexedBank", "NeuronBank",
    "calibrated", "characterise", "model_bank",
    # device neurons in torch (hil.nn)
    "DeviceNeurons", "SpikingNet", "to_device_neurons",
    # learning (hil.learn)
    "Evaluation", "TrainConfig", "TrainResult", "Trainer", "build_banks", "export_weights",
    "from_datasets", "load_digits", "load_net", "record_training", "train",
    # simulations and figures (hil.simulate, hil.plots)
    "PswResult", "simulate_psw", "plots",
    # the run store and errors
    "ConfigError", "RunStore",
]

_HOMES = {
    "ProcedureResult": "hil.session", "Session": "hil.session", "open_lab": "hil.session",
    "cycle_config": "hil.session", "virtual_devices": "hil.session",
    "Calibration": "hil.banks", "LLGSBank": "hil.banks", "LabBank": "hil.banks",
    "ModelBank": "hil.banks", "MultiplexedBank": "hil.banks", "NeuronBank": "hil.banks",
    "calibrated": "hil.banks", "characterise": "hil.banks", "model_bank": "hil.banks",
    "DeviceNeurons": "hil.nn", "SpikingNet": "hil.nn", "to_device_neurons": "hil.nn",
    "Evaluation": "hil.learn", "TrainConfig": "hil.learn", "TrainResult": "hil.learn",
    "Trainer": "hil.learn", "build_banks": "hil.learn", "export_weights": "hil.learn",
    "from_datasets": "hil.learn", "load_digits": "hil.learn", "load_net": "hil.learn",
    "record_training": "hil.learn",
    "train": "hil.learn.api",
    "PswResult": "hil.simulate", "simulate_psw": "hil.simulate",
    "ConfigError": "hil.errors", "RunStore": "protocols.store",
}
_SUBMODULES = {"plots"}  # public modules, loaded on first use like the names

if TYPE_CHECKING:  # for type checkers and IDEs: the same names, loaded eagerly
    from hil import plots
    from hil.banks import (
        Calibration,
        LabBank,
        LLGSBank,
        ModelBank,
        MultiplexedBank,
        NeuronBank,
        calibrated,
        characterise,
        model_bank,
    )
    from hil.errors import ConfigError
    from hil.learn import (
        Evaluation,
        TrainConfig,
        Trainer,
        TrainResult,
        build_banks,
        export_weights,
        from_datasets,
        load_digits,
        load_net,
        record_training,
    )
    from hil.learn.api import train
    from hil.nn import DeviceNeurons, SpikingNet, to_device_neurons
    from hil.session import ProcedureResult, Session, cycle_config, open_lab, virtual_devices
    from hil.simulate import PswResult, simulate_psw
    from protocols.store import RunStore


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return import_module(f"hil.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'hil' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

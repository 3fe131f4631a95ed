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
export trained weights (``hil.export_weights``). Every ``hil`` command is a call here and
prints what it returns (``hil lab serve`` is ``hil.serve_lab``, ``hil simulate telegraph``
``hil.simulate_telegraph``, ``hil compare`` ``hil.compare``), and the errors a caller
catches are here too (``hil.ConfigError``, ``hil.StoreError``...). Names load on first
use, so ``hil --help`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

__all__ = [
    "__version__",
    # the lab session (hil.session)
    "ProcedureResult", "Session", "open_lab", "cycle_config", "virtual_devices",
    "lab_description", "persistence", "serve_lab", "lab_file_text", "TIMINGS",
    "load_suspenders", "suspenders_from_mapping",
    # neuron banks (hil.banks)
    "Calibration", "LLGSBank", "LabBank", "ModelBank", "MultiplexedBank", "NeuronBank",
    "calibrated", "characterise", "model_bank", "BACKENDS", "backend_notices",
    "describe_banks",
    # device neurons in torch (hil.nn)
    "DeviceNeurons", "SpikingNet", "to_device_neurons",
    # learning (hil.learn), and the training options as ``hil train`` reads them
    "Evaluation", "TrainConfig", "TrainResult", "Trainer", "build_banks", "export_weights",
    "from_datasets", "load_digits", "load_net", "record_training", "train",
    "write_training_figure", "OPTIMIZERS", "SCHEDULERS",
    # simulations and figures (hil.simulate, hil.plots)
    "PswResult", "simulate_psw", "macrospin_presets", "TelegraphResult",
    "simulate_telegraph", "TwoPolariserResult", "simulate_two_polariser", "plots",
    # grids on Dask (hil.grids): maps, co-design, HIL against deployment
    "GridResult", "psw_map", "CodesignOptions", "CodesignResult", "codesign", "Experiment",
    "CompareResult", "compare", "compare_experiment", "stored_compare", "compare_tables",
    "helps_table",
    # the run store, statistics, units and the outputs' state
    "RunStore", "stored_run", "export_pymeasure", "wilson_interval", "fifty_interval",
    "units", "outputs",
    # errors: what a caller catches (a bad input, a refused value, a stopped run)
    "ConfigError", "LimitError", "OutOfRange", "CostWarning", "ProtocolError",
    "InstrumentError", "LabConnectionError", "OutputsOnError", "StoreError",
]

_HOMES = {
    "ProcedureResult": "hil.session", "Session": "hil.session", "open_lab": "hil.session",
    "cycle_config": "hil.session", "virtual_devices": "hil.session",
    "lab_description": "hil.session", "persistence": "hil.session",
    "serve_lab": "hil.session.serve", "lab_file_text": "hil.session.serve",
    "TIMINGS": "hil.learn.config",
    "load_suspenders": "hil.session.suspenders",
    "suspenders_from_mapping": "hil.session.suspenders",
    "Calibration": "hil.banks", "LLGSBank": "hil.banks", "LabBank": "hil.banks",
    "ModelBank": "hil.banks", "MultiplexedBank": "hil.banks", "NeuronBank": "hil.banks",
    "calibrated": "hil.banks", "characterise": "hil.banks", "model_bank": "hil.banks",
    "BACKENDS": "hil.banks.registry", "backend_notices": "hil.banks.registry:notices",
    "describe_banks": "hil.banks.registry:describe",
    "DeviceNeurons": "hil.nn", "SpikingNet": "hil.nn", "to_device_neurons": "hil.nn",
    "Evaluation": "hil.learn", "TrainConfig": "hil.learn", "TrainResult": "hil.learn",
    "Trainer": "hil.learn", "build_banks": "hil.learn", "export_weights": "hil.learn",
    "from_datasets": "hil.learn", "load_digits": "hil.learn", "load_net": "hil.learn",
    "record_training": "hil.learn",
    "train": "hil.learn.api",
    "write_training_figure": "hil.learn.report",
    "OPTIMIZERS": "hil.learn.config", "SCHEDULERS": "hil.learn.config",
    "PswResult": "hil.simulate", "simulate_psw": "hil.simulate",
    "macrospin_presets": "simulators.macrospin", "TelegraphResult": "hil.simulate",
    "simulate_telegraph": "hil.simulate", "TwoPolariserResult": "hil.simulate",
    "simulate_two_polariser": "hil.simulate",
    "GridResult": "hil.grids", "psw_map": "hil.grids.maps",
    "CodesignOptions": "hil.grids.codesign", "CodesignResult": "hil.grids.codesign_run",
    "codesign": "hil.grids.codesign_run",
    "Experiment": "hil.grids.compare",
    "CompareResult": "hil.grids.compare_run", "compare": "hil.grids.compare_run",
    "compare_experiment": "hil.grids.compare_run", "stored_compare": "hil.grids.compare_run",
    "compare_tables": "hil.grids.compare_run", "helps_table": "hil.grids.compare_run",
    "RunStore": "protocols.store", "stored_run": "hil.session.runner",
    "export_pymeasure": "hil.session.export",
    "wilson_interval": "protocols.fitting", "fifty_interval": "protocols.fitting",
    "ConfigError": "hil.errors", "LimitError": "instruments.limits",
    "OutOfRange": "simulators.bounds", "CostWarning": "simulators.bounds",
    "ProtocolError": "protocols.errors", "InstrumentError": "instruments.errors",
    "LabConnectionError": "instruments.errors", "OutputsOnError": "instruments.errors",
    "StoreError": "protocols.store",
}
# public modules, loaded on first use like the names: the figures, the units a caller types
# and what this process knows of the source outputs it connected to
_SUBMODULES = {"plots": "hil.plots", "units": "hil.units", "outputs": "instruments.outputs"}

if TYPE_CHECKING:  # for type checkers and IDEs: the same names, loaded eagerly
    from hil import plots, units
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
    from hil.banks.registry import BACKENDS
    from hil.banks.registry import describe as describe_banks
    from hil.banks.registry import notices as backend_notices
    from hil.errors import ConfigError
    from hil.grids import GridResult
    from hil.grids.codesign import CodesignOptions
    from hil.grids.codesign_run import CodesignResult, codesign
    from hil.grids.compare import Experiment
    from hil.grids.compare_run import (
        CompareResult,
        compare,
        compare_experiment,
        compare_tables,
        helps_table,
        stored_compare,
    )
    from hil.grids.maps import psw_map
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
    from hil.learn.config import OPTIMIZERS, SCHEDULERS, TIMINGS
    from hil.learn.report import write_training_figure
    from hil.nn import DeviceNeurons, SpikingNet, to_device_neurons
    from hil.session import (
        ProcedureResult,
        Session,
        cycle_config,
        lab_description,
        open_lab,
        persistence,
        virtual_devices,
    )
    from hil.session.export import export_pymeasure
    from hil.session.runner import stored_run
    from hil.session.serve import lab_file_text, serve_lab
    from hil.session.suspenders import load_suspenders, suspenders_from_mapping
    from hil.simulate import (
        PswResult,
        TelegraphResult,
        TwoPolariserResult,
        simulate_psw,
        simulate_telegraph,
        simulate_two_polariser,
    )
    from instruments import outputs
    from instruments.errors import InstrumentError, LabConnectionError, OutputsOnError
    from instruments.limits import LimitError
    from protocols.errors import ProtocolError
    from protocols.fitting import fifty_interval, wilson_interval
    from protocols.store import RunStore, StoreError
    from simulators.bounds import CostWarning, OutOfRange
    from simulators.macrospin import macrospin_presets


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return import_module(_SUBMODULES[name])
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'hil' has no attribute {name!r}")
    module, _, attribute = home.partition(":")  # "module:name" where hil names it otherwise
    value = getattr(import_module(module), attribute or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

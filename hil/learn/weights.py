"""Trained models out of the run store: every training run keeps its HIL net and its
software baseline's net in its final checkpoint; export them as a torch state dict (``.pt``)
and as plain arrays (``.npz``), and load them back as networks."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from hil.errors import ConfigError
from hil.nn.network import SpikingNet
from hil.session.runner import stored_run
from protocols.store import RunStore

MODELS = ("hil", "software")


def trained_models(store: RunStore, run_id: int) -> dict:
    """``{"hil": state dict, "software": state dict or None, "layer_sizes": [...]}`` of a
    finished training run."""
    run = stored_run(store, run_id, "run_id")
    if run.kind != "train" or run.status != "finished":
        raise ConfigError("run_id", f"run {run_id} is a {run.status} {run.kind} run; only a "
                          "finished training run has trained weights")
    checkpoint = store.latest_checkpoint(run_id)
    state = None if checkpoint is None else torch.load(io.BytesIO(checkpoint[1]),
                                                       weights_only=False)
    if state is None or "layer_sizes" not in state:
        raise ConfigError("run_id", f"run {run_id} was recorded before trained models were "
                          "kept")
    return {"hil": state["net"], "software": state["software"],
            "layer_sizes": state["layer_sizes"]}


def export_weights(store: RunStore, run_id: int, path: str | Path) -> tuple[Path, Path]:
    """Write ``path``.pt (a torch state dict per model) and ``path``.npz (arrays named
    ``hil/layers.0.weight``, ...); returns both paths."""
    models = trained_models(store, run_id)
    base = Path(path)
    base = base.with_suffix("") if base.suffix in (".pt", ".npz") else base
    base.parent.mkdir(parents=True, exist_ok=True)
    pt, npz = base.with_name(base.name + ".pt"), base.with_name(base.name + ".npz")
    torch.save(models, pt)
    arrays = {f"{name}/{key}": value.numpy() for name in MODELS
              if models[name] is not None for key, value in models[name].items()}
    np.savez(npz, layer_sizes=np.asarray(models["layer_sizes"]), **arrays)
    return pt, npz


def load_net(source: RunStore | str | Path, run_id: int | None = None,
             model: str = "hil") -> SpikingNet:
    """A trained network from the run store (``source`` a store and ``run_id``) or from an
    exported ``.pt`` file."""
    if model not in MODELS:
        raise ConfigError("model", f"{model!r} is not one of {', '.join(MODELS)}")
    if isinstance(source, RunStore):
        if run_id is None:
            raise ConfigError("run_id", "give the training run to load from the store")
        models = trained_models(source, run_id)
    else:
        models = torch.load(source, weights_only=False)
    if models[model] is None:
        raise ConfigError("model", f"the run kept no {model} model (trained without compare)")
    net = SpikingNet(models["layer_sizes"])
    net.load_state_dict(models[model])
    return net.eval()

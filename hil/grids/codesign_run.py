"""``hil codesign`` as one call (``hil.codesign``): paper 002's device-size analysis (Fig.
3c-d, S8-S9) with its software weights trained once (or reused), the grid on Dask, the
table and the figures; the command prints what it returns."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.errors import ConfigError
from hil.grids.codesign import (
    CodesignOptions,
    codesign_sweep,
    net_from_bytes,
    software_accuracy,
    stored_weights,
    summarise,
    train_and_store,
)
from hil.grids.codesign_plots import write_figures
from hil.grids.engine import run_grid
from hil.learn.data import load_digits
from hil.session.runner import stored_run
from hil.units import si_value
from protocols.store import RunStore

__all__ = ["CodesignResult", "codesign"]


@dataclass
class CodesignResult:
    """A co-design run: its id and the software-weights run it deployed, every finished
    point in grid order, the points that failed after their retries, how many were computed
    now, the software net's own accuracy, the CSV table and figures written, and the
    accuracy per (width, eta): (mean, standard error over seeds, seeds)."""

    run_id: int
    weights_run: int
    rows: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    computed: int
    software_accuracy: float | None
    table: Path
    figures: dict[str, Path] = field(default_factory=dict)
    accuracy: dict[tuple[float, float], tuple[float, float, int]] = field(default_factory=dict)


def codesign(store: RunStore, widths: Any = None, etas: Any = None, seeds: int | None = None,
             max_steps: int | None = None, test_images: int | None = None,
             data: str | None = None, weights: str | Path | int | None = None,
             export_weights: str | Path | None = None, out: str | Path = "codesign", *,
             scheduler: str | None = None, workers: int | None = None,
             resume: int | None = None, progress: bool = True) -> CodesignResult:
    """Paper 002's co-design sweep: a 784-400-10 net trained in software, deployed on Hall
    bars of each of ``widths`` (SI or "0.5um"; default 0.3-5 um) at each variation of
    ``etas``, ``seeds`` device draws a point, held-out accuracy after every T up to
    ``max_steps``. ``weights``: a weights file (.pt) or the id of a software-weights run
    (default: train once and store them as a run); ``export_weights`` writes the weights
    used. ``resume`` (a run id) finishes a killed sweep with its recorded grid. The CSV
    table and the figures go under ``out``; options are refused by field name
    (ConfigError) before anything is trained."""
    if resume is not None:  # the recorded grid and weights, nothing else
        saved = stored_run(store, resume, "resume").config
        options = CodesignOptions(tuple(saved["widths"]), tuple(saved["etas"]), saved["seeds"],
                                  saved["max_steps"], saved["test_images"],
                                  data=saved["data"]).validate()
        weights_run = saved["weights_run"]
        data_bytes = stored_weights(store, weights_run)
    else:
        values: dict[str, Any] = {}
        if widths is not None:
            values["widths"] = tuple(si_value("widths", w, "m", example_unit="um")
                                     for w in widths)
        if etas is not None:
            values["etas"] = tuple(float(e) for e in etas)
        for key, value in (("seeds", seeds), ("max_steps", max_steps),
                           ("test_images", test_images)):
            if value is not None:
                values[key] = value
        options = CodesignOptions(**values, data=data).validate()
        weights_run, data_bytes = _weights(weights, options, store)
    if export_weights:
        Path(export_weights).write_bytes(data_bytes)
    sweep = codesign_sweep(options, weights_run, data_bytes)
    result = run_grid(sweep, store, scheduler=scheduler, workers=workers, resume=resume,
                      progress=progress)
    software = (store.get_run(weights_run).result or {}).get("software_accuracy")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    table = folder / f"codesign-run{result.run_id}.csv"
    with table.open("w", newline="") as f:
        store.export_csv(result.run_id, f)
    figures = write_figures(result.rows, folder, software,
                            prefix=f"codesign-run{result.run_id}") if result.rows else {}
    return CodesignResult(result.run_id, weights_run, result.rows, result.failed,
                          result.computed, software, table, figures,
                          summarise(result.rows, "accuracy"))


def _weights(weights: str | Path | int | None, options: CodesignOptions,
             store: RunStore) -> tuple[int, bytes]:
    """(run id, weights): trained now, a stored software-weights run's, or a file's (then
    stored as a run of its own, with the file's hash)."""
    if weights is None:
        return train_and_store(options, store)
    if isinstance(weights, int) or str(weights).isdigit():
        return int(weights), stored_weights(store, int(weights))
    path = Path(weights)
    if not path.is_file():
        raise ConfigError("weights", f"{path} is neither a file nor a run id")
    data = path.read_bytes()
    try:
        net = net_from_bytes(data)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the user's input
        raise ConfigError("weights", f"{path} holds no 784-400-10 weights ({err})") from None
    digits = load_digits(options.data)
    with store.run("software-weights", {"file": str(path)}) as run:
        run.describe(weights_file={"path": str(path.resolve()), "sha256":
                                   hashlib.sha256(data).hexdigest()})
        run.save_checkpoint(0, data)
        run.result = {"file": str(path), "software_accuracy":
                      software_accuracy(net, digits.test_x, digits.test_y)}
    return run.id, data

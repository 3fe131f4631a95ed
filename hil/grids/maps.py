"""Switching-probability maps of the Hall-bar model as sweep tasks: P_sw over write current
x pulse width, or x in-plane field (simulators/hallbar.py), each point Monte Carlo checked;
``psw_map`` runs one on Dask (``hil sweep psw``)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from hil.errors import ConfigError
from hil.grids.engine import Grid, GridResult, run_grid
from hil.units import si_value
from protocols.store import RunStore
from simulators.presets import check_fraction, hall_bar_preset


def switching_map_point(point: dict[str, Any], trials: int) -> dict[str, Any]:
    """One map point: a device of ``width`` drawn with ``eta`` from ``seed``, its exact P_sw
    at (``current``, ``pulse_width``, ``field``) and the fraction of ``trials`` seeded
    reset-write cycles that switched. A width outside paper 002's range raises."""
    preset = hall_bar_preset(point["width"])
    rng = np.random.default_rng(point["seed"])
    device = preset.draw(1, point.get("eta", 0.0), 0.0, rng)
    p = float(device.p_switch(point["current"], point["pulse_width"], point["field"])[0])
    return {"p_exact": p, "p_measured": float(rng.binomial(trials, p) / trials)}


def switching_map(width: float, currents, pulse_widths, fields, seeds: int = 1,
                  eta: float = 0.0) -> list[dict[str, Any]]:
    """The grid of points, in the order current, pulse width, field, seed."""
    return [{"width": width, "eta": eta, "current": float(i), "pulse_width": float(t),
             "field": float(h), "seed": int(s)}
            for i, t, h, s in itertools.product(currents, pulse_widths, fields, range(seeds))]


def psw_map(store: RunStore, width: Any, currents: Sequence[Any],
            pulse_widths: Sequence[Any] = (100e-6,), fields: Sequence[Any] = (20e-3,),
            eta: float = 0.0, seeds: int = 1, trials: int = 1000, *,
            scheduler: str | None = None, workers: int | None = None,
            resume: int | None = None, progress: bool = True) -> GridResult:
    """``hil sweep psw``: the Hall-bar model's P_sw over write current x pulse width x
    in-plane field (each SI, a pint quantity or a string such as "0.3mA", "10us", "20mT")
    for ``seeds`` devices of ``width`` drawn with variation ``eta``, ``trials`` seeded
    cycles a point, on Dask; every point is stored in ``store`` as it finishes, and
    ``resume`` (a run id) finishes a killed map. Refused by field name (ConfigError) before
    the run is created."""
    width_si = si_value("width", width, "m", example_unit="um")
    try:
        hall_bar_preset(width_si)
        check_fraction("eta", eta)
    except ValueError as err:
        raise ConfigError("width" if "width" in str(err) else "eta", str(err)) from None
    if not 1 <= trials <= 10**7:
        raise ConfigError("trials", f"{trials} is outside the allowed range [1, 1e7]")
    if not 1 <= seeds <= 1000:
        raise ConfigError("seeds", f"{seeds} is outside the allowed range [1, 1000]")
    points = switching_map(
        width_si, [si_value("currents", i, "A", example_unit="mA") for i in currents],
        [si_value("pulse_widths", t, "s", example_unit="us") for t in pulse_widths],
        [si_value("fields", h, "T", example_unit="mT") for h in fields], seeds, eta)
    sweep = Grid("psw-map", switching_map_point, {"trials": trials}, points,
                 {"trials": trials})
    return run_grid(sweep, store, scheduler=scheduler, workers=workers, resume=resume,
                    progress=progress)

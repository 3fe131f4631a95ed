"""Switching-probability maps of the Hall-bar model as sweep tasks: P_sw over write current
x pulse width, or x in-plane field (simulators/hallbar.py), each point Monte Carlo checked.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from simulators.presets import hall_bar_preset


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

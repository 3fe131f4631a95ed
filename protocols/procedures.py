"""Characterisation procedures built on the reset-write-read primitives (paper 002 Fig. 2b,
SI S1, S4, S5, Fig. 3a-b). Each pulsing procedure is a plan (``protocols.plan``) on a
calibrated ``ResetWriteRead`` routed to its device: it yields its raw readings as they are
taken, each with its timestamp (one reading, or a batch the instruments timed), and returns
its result; ``run_plan`` runs it, ``hil.session.runner`` records it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

from protocols.cycle import ResetWriteRead
from protocols.plan import Plan, Readings


def reading(**values) -> Readings:
    """One reading, stamped with the time it was taken."""
    return Readings([{**values, "t": time.time()}])


def loop_currents(max_current: float, points: int, loops: int = 1) -> np.ndarray:
    """Write currents of ``loops`` closed current loops (paper 002 Fig. 2b): from -max up to
    +max and back down to -max in steps of max / ``points``, each loop going on from where
    the last one ended."""
    up = np.linspace(-max_current, max_current, 2 * points + 1)
    one = np.concatenate([up, up[-2::-1]])
    return np.concatenate([one] + [one[1:]] * (loops - 1))


def hysteresis(rwr: ResetWriteRead, max_current: float, points: int,
               loops: int = 1) -> Plan[dict]:
    """R_AHE after each write pulse around ``loops`` closed current loops with no reset in
    between (paper 002 Fig. 2b), and both switching edges of each loop: on the way up the
    current of the pulse that writes -1 -> +1, on the way down the one that writes
    +1 -> -1 (at paper 002's +200 Oe, I > 0 writes +1 and I < 0 writes -1). The loop width
    is the up edge minus the down edge. Each mean is given with its error: the standard
    error over the loops and the current step's resolution (uniform within one step,
    step / sqrt(12) per edge), added in quadrature."""
    if not 2 <= points <= 200:
        raise ValueError(f"points = {points} is outside the allowed range [2, 200]")
    if not 1 <= loops <= 20:
        raise ValueError(f"loops = {loops} is outside the allowed range [1, 20]")
    s = rwr.settings
    path = loop_currents(max_current, points, loops)
    for current in (max_current, -max_current):  # both polarities, before any pulse
        rwr.lab.limits.pulse_current(current)
    rwr.pulse(s.reset_current, s.reset_width)  # start from -1 (each pulse counted: wear)
    resistance = []
    for i, current in enumerate(path):
        rwr.pulse(float(current), s.write_width)
        r = rwr.read_resistance()
        resistance.append(r)
        yield reading(step=i, current=float(current), r_ahe=r)
    return {"currents": path.tolist(), "r_ahe": resistance, "threshold": rwr.threshold,
            "max_current": max_current, "points": points, "loops": loops,
            **loop_edges(path, np.asarray(resistance) > rwr.threshold, max_current / points,
                         loops)}


def loop_edges(currents: np.ndarray, high: np.ndarray, step: float, loops: int) -> dict:
    """Each loop's up edge (first pulse after which the state reads +1 on the way up) and
    down edge (first pulse after which it reads -1 on the way down), their means, the loop
    width and their errors (``hysteresis``); an edge not seen leaves the loop without a
    width, the result unusable and ``reason`` saying which."""
    per_loop = (currents.size - 1) // loops  # readings per loop after the first point
    up, down = [], []
    for k in range(loops):
        start = 0 if k == 0 else 1 + k * per_loop
        stop = 1 + (k + 1) * per_loop
        turn = int(np.argmax(currents[start:stop])) + start  # the loop's +max
        up.append(_edge(currents, high, start, turn + 1, rising=True))
        down.append(_edge(currents, high, turn + 1, stop, rising=False))
    resolution = step / np.sqrt(12.0)
    out: dict = {"step": step, "edges_up": up, "edges_down": down}
    missing = [f"loop {k + 1} {name}" for k in range(loops)
               for name, edges in (("up", up), ("down", down)) if edges[k] is None]
    if missing:
        out.update({"usable": False, "reason": "no switching edge seen on " +
                    ", ".join(missing) + " (raise --max-current?)"})
        return out
    widths = np.array(up) - np.array(down)
    for name, values, floor in (("edge_up", np.array(up), resolution),
                                ("edge_down", np.array(down), resolution),
                                ("loop_width", widths, np.sqrt(2.0) * resolution)):
        spread = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else 0.0
        out[name] = float(values.mean())
        out[f"{name}_err"] = float(np.hypot(spread, floor))
    out["usable"] = True
    return out


def _edge(currents: np.ndarray, high: np.ndarray, start: int, stop: int,
          rising: bool) -> float | None:
    """The current of the first pulse in [start, stop) that flips the state the way named."""
    for i in range(max(start, 1), stop):
        if high[i] == rising and high[i - 1] != rising:
            return float(currents[i])
    return None


def endurance(rwr: ResetWriteRead, current: float, cycles: int,
              windows: tuple[int, ...] = (100, 1000)) -> Plan[dict]:
    """``cycles`` reset-write-read cycles at one current, with moving averages (SI S5)."""
    if cycles < 1:
        raise ValueError(f"cycles = {cycles} is outside the allowed range [1, inf)")
    switched = np.zeros(cycles, dtype=bool)
    n = 0
    for batch in rwr.batches([current] * cycles):  # on the protocol's timing
        rows = []
        for reading in batch:
            switched[n] = reading.switched
            rows.append({"cycle": n, "current": current, "r_after_write": reading.r_after_write,
                         "switched": bool(reading.switched), "t": time.time()})
            n += 1
        yield Readings(rows)
    averages = {w: np.convolve(switched, np.ones(w) / w, mode="valid").tolist()
                for w in windows if w <= cycles}
    return {"current": current, "switches": int(switched.sum()), "cycles": cycles,
            "p_switch": float(switched.mean()), "moving_averages": averages}


def anisotropy_model(h_x: np.ndarray, r0: float, h_an: float) -> np.ndarray:
    """Paper 002 Eq. S2: R_AHE / R0 = 1 - (H_x / H_an)^2 / 2."""
    return r0 * (1.0 - 0.5 * (np.asarray(h_x) / h_an) ** 2)


@dataclass
class AnisotropyFit:
    """The anisotropy field fitted from R_AHE against the in-plane field (paper 002 SI S1, Eq.
    S2), with its error and the points it was fitted to."""
    h_an: float  # T
    h_an_err: float
    r0: float
    fields: list[float]
    r_ahe: list[float]


def anisotropy_field(rwr: ResetWriteRead, fields: np.ndarray) -> Plan[AnisotropyFit]:
    """R_AHE against the coil's in-plane field; fit Eq. S2 -> H_an (SI S1). At each field both
    states are read and R_AHE = (R(+1) - R(-1)) / 2, which removes the Hall cross's offset
    resistance (it would otherwise scale the fitted H_an). Eq. S2 expands
    m_z = sqrt(1 - (H_x / H_an)^2) to second order: keep |H_x| below about H_an / 3."""
    supply, s = rwr.lab["field"], rwr.settings
    resistance = []
    try:
        for i, field in enumerate(np.asarray(fields, float)):
            supply.set_field(float(field))
            rwr.pulse(-s.reset_current, s.write_width)  # each pulse counted (wear)
            r_up = rwr.read_resistance()
            rwr.pulse(s.reset_current, s.reset_width)
            r_down = rwr.read_resistance()
            resistance.append(abs(r_up - r_down) / 2)  # H_x's sign sets which pulse writes +1
            yield reading(step=i, field=float(field), r_up=r_up, r_down=r_down)
    finally:
        supply.shutdown()
    fields = np.asarray(fields, float)
    r = np.asarray(resistance)
    guess = (float(r[np.argmin(np.abs(fields))]), 2.0 * float(np.abs(fields).max()))
    (r0, h_an), cov = curve_fit(anisotropy_model, fields, r, p0=guess)
    return AnisotropyFit(float(abs(h_an)), float(np.sqrt(cov[1, 1])), float(r0),
                         fields.tolist(), r.tolist())


def lab_identity(config: dict) -> dict:
    """What makes two recorded sweeps the same device: the lab (lab file and the chip it
    names, or the virtual chip's devices, width and seed), the instruments' identities and
    the device number."""
    return {"lab": config.get("lab"), "instruments": config.get("instruments"),
            "device": config.get("device", 0)}


def identity_mismatch(first: dict, second: dict) -> str | None:
    """Why two run configs are not sweeps of one device (None when they are)."""
    a, b = lab_identity(first), lab_identity(second)
    if a["lab"] != b["lab"]:
        return f"they were taken on different labs or chips ({a['lab']} vs {b['lab']})"
    if a["instruments"] != b["instruments"]:
        return "they were taken with different instruments (*IDN? differs)"
    if a["device"] != b["device"]:
        return f"they are of different devices ({a['device']} vs {b['device']})"
    return None


def persistence(first: dict, second: dict) -> dict:
    """Compare two sweeps of the same device taken apart in time (SI S4); the caller
    checks with ``identity_mismatch`` that they are of one device."""
    shift = second["i_bias"] - first["i_bias"]
    error = float(np.hypot(first["i_bias_err"], second["i_bias_err"]))
    return {"i_bias_first": first["i_bias"], "i_bias_second": second["i_bias"],
            "shift": shift, "relative_shift": shift / first["i_bias"],
            "sigma": abs(shift) / error if error > 0 else float("inf")}


def survey_table(fits: list[dict]) -> dict:
    """Device-to-device statistics of a chip (Fig. 3a-b): mean, spread and range of I_bias
    and the window, as paper 002's percentage variation, over the devices whose fit is
    usable (the others are listed in ``unusable``; with none usable the statistics are NaN)."""
    usable = [f for f in fits if f.get("usable", True)]
    bias = np.array([f["i_bias"] for f in usable] or [np.nan])
    window = np.array([f["window"] for f in usable] or [np.nan])
    return {"devices": len(fits), "usable_devices": len(usable),
            "unusable": {str(f["device"]): f.get("reason", "") for f in fits
                         if not f.get("usable", True)},
            "i_bias_mean": float(bias.mean()),
            "i_bias_variation": float((bias.max() - bias.min()) / 2 / bias.mean()),
            "window_mean": float(window.mean()),
            "window_variation": float((window.max() - window.min()) / 2 / window.mean()),
            "fits": fits}

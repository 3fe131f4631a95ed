"""Switching-probability sweep (paper 002 SI S3, S6): currents x N reset-write-read cycles,
P with Wilson 95 % intervals, sigmoid fit -> I_bias, I0, window, k, c with uncertainties,
and beside it the thermally activated fit at the write pulse's width; the model the counts
prefer by likelihood gives the sweep's 50 % current ``i_50`` (``protocols.fitting``), which
is what "the device's 50 % current" means wherever it is used (``fifty_percent_current``).

Without a current range the sweep finds the switching region itself: a coarse pass of few
cycles per current over the safe range brackets it, a quick pass fits a first sigmoid, and
the fine sweep covers I_bias +- 5 I0 (0.7 %-99.3 %), the region a fit of the whole curve
weighs, so the result does not depend on how far the grid reaches into the saturated tails.
The sweep is a plan (``protocols.plan``): it yields each cycle's raw readings as soon as the
cycle ends, and the run store records them then, so a killed sweep keeps them and ``resume``
only runs the cycles still missing.

Every fit is graded (``protocols.fitting.grade_fit``); a sweep whose fit fails is stored
with the status ``unusable`` and its reason, and nothing takes a calibration from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from protocols.cycle import ResetWriteRead
from protocols.fitting import (
    FitGrade,
    ModelComparison,
    SigmoidFit,
    ThermalFit,
    compare_models,
    fit_sigmoid,
    fit_thermal,
    grade_fit,
    wilson_interval,
)
from protocols.plan import Advance, Found, Plan, Readings


@dataclass
class SweepResult:
    """A device's P_sw sweep: currents, counts, the sigmoid fit and its grade (an ungraded fit is
    never used as a calibration), with the lab time it took."""
    device: int
    currents: np.ndarray
    counts: np.ndarray
    trials: np.ndarray
    fit: SigmoidFit
    lab_seconds: float | None
    grade: FitGrade = FitGrade(True)
    pulse_width: float | None = None  # s, the write pulse the counts were taken with
    thermal: ThermalFit | None = None
    fifty: ModelComparison | None = None  # the preferred model and its 50 % current

    @property
    def status(self) -> str:
        """The run store's status for this sweep: finished, or unusable (see ``grade``)."""
        return "finished" if self.grade.usable else "unusable"

    @property
    def p_switch(self) -> np.ndarray:
        """The switching fraction at each current: counts / trials."""
        return self.counts / self.trials

    def wilson(self) -> tuple[np.ndarray, np.ndarray]:
        """Each point's 95 % Wilson interval (low, high) of P_sw."""
        return wilson_interval(self.counts, self.trials)

    def summary(self) -> dict:
        """The sweep as one JSON-ready dict: the points with their Wilson intervals, both fits, the
        preferred model's 50 % current and the grade: the sweep run's result in the store and a
        survey's row."""
        low, high = self.wilson()
        models: dict = {"pulse_width": self.pulse_width,
                        "neel_brown": None if self.thermal is None else self.thermal.as_dict()}
        if self.fifty is not None:
            models.update(self.fifty.as_dict())
        return {"device": self.device, "currents": self.currents.tolist(),
                "counts": self.counts.tolist(), "trials": self.trials.tolist(),
                "p_switch": self.p_switch.tolist(), "ci_low": low.tolist(),
                "ci_high": high.tolist(), "lab_seconds": self.lab_seconds, **self.fit.as_dict(),
                **models, **self.grade.as_dict()}


def _counts(rwr: ResetWriteRead, currents: np.ndarray, cycles: int) -> np.ndarray:
    """Switches in ``cycles`` cycles at each current (one list of cycles, either timing)."""
    plan = np.repeat(np.asarray(currents, float), cycles)
    switched = [r.switched for batch in rwr.batches(plan) for r in batch]
    return np.asarray(switched).reshape(len(currents), cycles).sum(axis=1)


def find_switching_region(rwr: ResetWriteRead, low: float, high: float, points: int = 16,
                          cycles: int = 8) -> tuple[float, float]:
    """Coarse pass: the currents where P leaves 0 and reaches 1 (a margin either side)."""
    currents = np.linspace(low, high, points)
    p = _counts(rwr, currents, cycles) / cycles
    if p[-1] < 0.5:
        raise RuntimeError(f"the device switches below 50 % even at {high * 1e3:.4g} mA, the "
                           "top of its safe range")
    first = int(np.argmax(p > 0))
    last = int(np.argmax(p >= 1.0)) if (p >= 1.0).any() else points - 1
    step = currents[1] - currents[0]
    return max(low, currents[first] - step), min(high, currents[last] + step)


def auto_range(rwr: ResetWriteRead, points: int, quick: int = 20) -> np.ndarray:
    """Currents that span the device's switching region: found by a coarse search, then centred
    on a quick fit (kept on the bracket when that fit is unreliable)."""
    limit = rwr.lab.limits.max_pulse_current
    low, high = find_switching_region(rwr, 0.0, limit)
    grid = np.linspace(low, high, points)
    first = fit_sigmoid(grid, _counts(rwr, grid, quick) / quick, quick)
    centre, half = first.i_bias, 5 * first.i0
    if not (low <= centre <= high) or not 0 < half < high - low:
        return grid  # the quick fit is unreliable: keep the bracket
    return np.linspace(max(0.0, centre - half), min(limit, centre + half), points)


def sweep_device(rwr: ResetWriteRead, device: int, currents: np.ndarray | None,
                 iterations: int, done: dict[tuple[int, int], bool] | None = None,
                 points: int = 15) -> Plan[SweepResult]:
    """The plan (``protocols.plan``) that sweeps one (already routed and calibrated) device
    on ``rwr``'s timing. ``done`` maps (current index, iteration) -> switched for cycles a
    killed run already recorded; the readings of each completed batch (one cycle, or one
    instrument batch) are yielded at once; the currents a coarse search finds (``currents``
    None) are yielded as ``Found(currents=...)``, for a resumed run to go on with."""
    if iterations < 1:
        raise ValueError(f"iterations = {iterations} is outside the allowed range [1, inf)")
    clock = rwr.lab.clock
    start = clock.now() if clock is not None else None
    if currents is None:
        yield Advance("sweep", len(done or {}), points * iterations)  # the search starts
        currents = auto_range(rwr, points)
        yield Found({"currents": currents.tolist()})
    currents = np.asarray(currents, float)
    done = dict(done or {})
    total = currents.size * iterations
    yield Advance("sweep", len(done), total)  # the sweep starts now
    for k, current in enumerate(currents):
        missing = [n for n in range(iterations) if (k, n) not in done]
        pending = iter(missing)
        for batch in rwr.batches([float(current)] * len(missing)):
            rows = []
            for reading in batch:
                n = next(pending)
                done[(k, n)] = reading.switched
                rows.append({"device": device, "index": k, "iteration": n,
                             "current": float(current), "r_after_reset": reading.r_after_reset,
                             "r_after_write": reading.r_after_write,
                             "switched": bool(reading.switched), "t": time.time(),
                             "lab_t": None if clock is None else clock.now()})
            yield Readings(rows)
            yield Advance("sweep", len(done), total)
    counts = np.array([sum(done[(k, n)] for n in range(iterations))
                       for k in range(currents.size)])
    trials = np.full(currents.size, iterations)
    width = rwr.settings.write_width
    fit, grade, thermal, fifty = fit_and_grade(currents, counts, trials, width)
    lab_seconds = None if clock is None else clock.now() - start
    return SweepResult(device, currents, counts, trials, fit, lab_seconds, grade, width,
                       thermal, fifty)


def fit_and_grade(currents: np.ndarray, counts: np.ndarray, trials: np.ndarray,
                  pulse_width: float | None = None
                  ) -> tuple[SigmoidFit, FitGrade, ThermalFit | None, ModelComparison | None]:
    """The sigmoid fit, its grade, and with the write ``pulse_width`` the thermally
    activated fit and the comparison that picks the 50 % current; a fit that cannot be
    made is graded unusable."""
    try:
        fit = fit_sigmoid(currents, counts / trials, trials)
    except (RuntimeError, ValueError):
        nan = float("nan")
        return (SigmoidFit(nan, nan, nan, nan), grade_fit(currents, counts, trials, None),
                None, None)
    thermal = fifty = None
    if pulse_width is not None and np.all(np.isfinite((fit.i_bias, fit.i0))):
        thermal = fit_thermal(currents, counts, trials, pulse_width)
        fifty = compare_models(currents, counts, trials, fit, thermal)
    return fit, grade_fit(currents, counts, trials, fit, fifty), thermal, fifty


def fifty_percent_current(result: dict) -> float:
    """A stored sweep's 50 % current: its preferred model's own (``i_50``), or I_bias for a
    sweep recorded before the models were compared."""
    return float(result.get("i_50", result["i_bias"]))


def _stored_fifty(result: dict) -> ModelComparison | None:
    """The model comparison a stored sweep recorded (enough of it to grade), or None."""
    if "i_50" not in result:
        return None
    likelihood = result.get("log_likelihood") or {}
    return ModelComparison(
        str(result.get("model", "logistic")), float(likelihood.get("logistic", float("nan"))),
        likelihood.get("neel-brown"), result.get("vuong_z"), result.get("vuong_p"),
        float(result["i_50"]), float(result.get("i_50_err", float("nan"))),
        float(result.get("slope_at_50", float("nan"))))


def grade_summary(result: dict | None) -> FitGrade:
    """Grade a stored sweep result again from its own counts (a sweep recorded before
    fits were graded, or one edited by hand, is held to the same rules)."""
    if not result or "counts" not in result or "i_bias" not in result:
        return FitGrade(False, "no fit recorded")
    fit = SigmoidFit(*(float(result.get(k, float("nan")))
                       for k in ("i_bias", "i0", "i_bias_err", "i0_err")))
    stored = FitGrade(bool(result.get("usable", True)), result.get("reason", ""))
    if not stored.usable:
        return stored
    return grade_fit(np.asarray(result["currents"]), np.asarray(result["counts"]),
                     np.asarray(result["trials"]), fit, _stored_fifty(result))

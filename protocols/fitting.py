"""Switching-probability statistics: Wilson intervals and the sigmoid fit.

Paper 002 (Eq. 2, SI S3, S6) describes a device by P_sw = sigmoid((I - I_bias) / I0) and
its programming window, the current span from 0.01 % to 99.9 %; paper 000 writes the same
curve as 1 / (1 + exp(-k (I + c))), so k = 1 / I0 and c = -I_bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit
from scipy.special import expit, logit
from scipy.stats import norm

WINDOW_LOGIT_SPAN = float(logit(0.999) - logit(1e-4))  # window = 16.1 * I0


def sigmoid(current: np.ndarray, i_bias: float, i0: float) -> np.ndarray:
    return expit((np.asarray(current, float) - i_bias) / i0)


def wilson_interval(
    counts: np.ndarray, trials: np.ndarray | int, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of each switching probability, vectorised (the closed form
    scipy's ``binomtest(...).proportion_ci(method="wilson")`` computes one at a time; the
    tests check the two agree). Fast enough to redraw error bars on every reading."""
    counts = np.atleast_1d(np.asarray(counts, float))
    n = np.broadcast_to(np.asarray(trials, float), counts.shape)
    z = norm.ppf(0.5 + confidence / 2)
    p = counts / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


@dataclass(frozen=True)
class SigmoidFit:
    """Fitted sigmoid with one-sigma uncertainties (A)."""

    i_bias: float
    i0: float
    i_bias_err: float
    i0_err: float

    @property
    def window(self) -> float:
        return WINDOW_LOGIT_SPAN * self.i0

    @property
    def window_err(self) -> float:
        return WINDOW_LOGIT_SPAN * self.i0_err

    @property
    def k(self) -> float:
        return 1.0 / self.i0

    @property
    def k_err(self) -> float:
        return self.i0_err / self.i0**2

    @property
    def c(self) -> float:
        return -self.i_bias

    @property
    def c_err(self) -> float:
        return self.i_bias_err

    def p_switch(self, current: np.ndarray) -> np.ndarray:
        return sigmoid(current, self.i_bias, self.i0)

    def as_dict(self) -> dict[str, float]:
        names = ("i_bias", "i0", "window", "k", "c")
        out = {name: float(getattr(self, name)) for name in names}
        out.update({f"{name}_err": float(getattr(self, f"{name}_err")) for name in names})
        return out


def fit_sigmoid(
    currents: np.ndarray, p_switch: np.ndarray, trials: np.ndarray | int | None = None
) -> SigmoidFit:
    """Least-squares sigmoid fit. With ``trials`` the points are weighted by their binomial
    standard error (with the (k+1)/(n+2) estimate so 0 and 1 keep a finite weight) and the
    uncertainties are absolute; without, the curve is taken as exact (a model's curve)."""
    currents = np.asarray(currents, float)
    p_switch = np.asarray(p_switch, float)
    if currents.shape != p_switch.shape or currents.size < 3:
        raise ValueError("fit_sigmoid needs at least 3 (current, probability) points")
    order = np.argsort(currents)
    currents, p_switch = currents[order], p_switch[order]
    i_guess = float(np.interp(0.5, np.maximum.accumulate(p_switch), currents))
    span = float(currents[-1] - currents[0])
    sigma = None
    if trials is not None:
        n = np.broadcast_to(np.asarray(trials, float), p_switch.shape)[order]
        p_tilde = (p_switch * n + 1.0) / (n + 2.0)
        sigma = np.sqrt(p_tilde * (1.0 - p_tilde) / n)
    params, cov = curve_fit(
        sigmoid, currents, p_switch, p0=(i_guess, span / 10.0), sigma=sigma,
        absolute_sigma=trials is not None, bounds=([-np.inf, 1e-15], [np.inf, np.inf]),
        maxfev=10000,
    )
    errors = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return SigmoidFit(float(params[0]), float(params[1]), float(errors[0]), float(errors[1]))

"""Switching-probability statistics: Wilson intervals and the sigmoid fit.

Paper 002 (Eq. 2, SI S3, S6) describes a device by P_sw = sigmoid((I - I_bias) / I0) and
its programming window, the current span from 0.01 % to 99.9 %; paper 000 writes the same
curve as 1 / (1 + exp(-k (I + c))), so k = 1 / I0 and c = -I_bias.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit, minimize
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
    """The sigmoid through measured switching probabilities. With ``trials`` the counts
    are binomial and the fit is their maximum likelihood (logistic regression), with
    uncertainties from the Fisher information; where the likelihood has no maximum (a
    curve that jumps from 0 to 1 between two currents) it falls back to least squares
    weighted by binomial errors. Without ``trials`` the curve is taken as exact (a model's
    curve) and fitted by least squares."""
    currents = np.asarray(currents, float)
    p_switch = np.asarray(p_switch, float)
    if currents.shape != p_switch.shape or currents.size < 3:
        raise ValueError("fit_sigmoid needs at least 3 (current, probability) points")
    order = np.argsort(currents)
    currents, p_switch = currents[order], p_switch[order]
    n = None if trials is None else np.broadcast_to(np.asarray(trials, float),
                                                    p_switch.shape)[order]
    i_guess = float(np.interp(0.5, np.maximum.accumulate(p_switch), currents))
    i0_guess = float(currents[-1] - currents[0]) / 10.0
    if n is not None:
        fit = _maximum_likelihood(currents, p_switch * n, n, i_guess, i0_guess)
        if fit is not None:
            return fit
    return _least_squares(currents, p_switch, n, i_guess, i0_guess)


def _least_squares(currents: np.ndarray, p_switch: np.ndarray, n: np.ndarray | None,
                   i_guess: float, i0_guess: float) -> SigmoidFit:
    sigma = None
    if n is not None:  # (k+1)/(n+2) so that 0 and 1 keep a finite weight
        p_tilde = (p_switch * n + 1.0) / (n + 2.0)
        sigma = np.sqrt(p_tilde * (1.0 - p_tilde) / n)
    params, cov = curve_fit(
        sigmoid, currents, p_switch, p0=(i_guess, i0_guess), sigma=sigma,
        absolute_sigma=n is not None, bounds=([-np.inf, 1e-15], [np.inf, np.inf]),
        maxfev=10000,
    )
    errors = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return SigmoidFit(float(params[0]), float(params[1]), float(errors[0]), float(errors[1]))


def _maximum_likelihood(currents: np.ndarray, counts: np.ndarray, n: np.ndarray,
                        i_guess: float, i0_guess: float) -> SigmoidFit | None:
    """Binomial logistic regression logit P = a + b x on standardised currents x."""
    centre, scale = float(currents.mean()), float(np.ptp(currents)) or 1.0
    x = (currents - centre) / scale
    design = np.column_stack([np.ones_like(x), x])

    def negative_log_likelihood(beta):
        eta = design @ beta
        return float(np.sum(n * np.logaddexp(0.0, eta) - counts * eta))

    def gradient(beta):
        return design.T @ (n * expit(design @ beta) - counts)

    def hessian(beta):
        mu = expit(design @ beta)
        return design.T @ ((n * mu * (1.0 - mu))[:, None] * design)

    b0 = scale / i0_guess
    guess = np.array([(centre - i_guess) / i0_guess, b0])
    result = minimize(negative_log_likelihood, guess, jac=gradient, hess=hessian,
                      method="trust-exact")
    a, b = result.x
    if not result.success or not 0 < b < 1e4 * max(b0, 1.0):
        return None  # no finite maximum (separated data)
    try:
        cov_ab = np.linalg.inv(hessian(result.x))
    except np.linalg.LinAlgError:
        return None
    i0, i_bias = scale / b, centre - a * scale / b
    jacobian = np.array([[-scale / b, a * scale / b**2], [0.0, -scale / b**2]])
    cov = jacobian @ cov_ab @ jacobian.T
    errors = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return SigmoidFit(float(i_bias), float(i0), float(errors[0]), float(errors[1]))

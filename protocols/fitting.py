"""Switching-probability statistics: Wilson intervals and the sigmoid fit.

Paper 002 (Eq. 2, SI S3, S6) describes a device by P_sw = sigmoid((I - I_bias) / I0) and
its programming window, the current span from 0.01 % to 99.9 %; paper 000 writes the same
curve as 1 / (1 + exp(-k (I + c))), so k = 1 / I0 and c = -I_bias.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

# scipy is imported only where it is needed (the least-squares fallback): scipy.special and
# scipy.optimize cost about 0.7 s of a command-line curve's start-up


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function, without overflow for any x (1/2 (1 + tanh(x/2)))."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, float)))


def logit(p: float | np.ndarray) -> float | np.ndarray:
    return np.log(p) - np.log1p(-np.asarray(p, float))


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
    z = NormalDist().inv_cdf(0.5 + confidence / 2)  # the normal quantile
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
    curve) and fitted by least squares. Raises RuntimeError where least squares has no
    optimum either (a step with at most one point on it: I0 is not determined)."""
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
    from scipy.optimize import curve_fit

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


NEWTON_STEPS = 100  # a logistic fit with a maximum converges in 5-10
NEWTON_TOLERANCE = 1e-10  # on the Newton decrement (the likelihood's own scale)


def _maximum_likelihood(currents: np.ndarray, counts: np.ndarray, n: np.ndarray,
                        i_guess: float, i0_guess: float) -> SigmoidFit | None:
    """Binomial logistic regression logit P = a + b x on standardised currents x, by Newton's
    method with step halving (iteratively reweighted least squares, the method of R's glm and
    statsmodels' GLM: the negative log-likelihood is convex, so each halved Newton step
    lowers it and the iteration converges to the maximum when one exists). The maximum
    exists unless the counts are separated: every failure at or below some current and every
    success at or above it (A. Albert and J. A. Anderson, "On the existence of maximum
    likelihood estimates in logistic regression models", Biometrika 71, 1-10, 1984)."""
    failures, successes = currents[counts < n], currents[counts > 0]
    if (failures.size == 0 or successes.size == 0 or failures.max() <= successes.min()
            or successes.max() <= failures.min()):
        return None  # separated data: no finite maximum (Albert and Anderson, Biometrika 1984)
    centre, scale = float(currents.mean()), float(np.ptp(currents)) or 1.0
    x = (currents - centre) / scale
    design = np.column_stack([np.ones_like(x), x])

    def negative_log_likelihood(beta):
        eta = design @ beta
        return float(np.sum(n * np.logaddexp(0.0, eta) - counts * eta))

    def hessian(beta):
        mu = expit(design @ beta)
        return design.T @ ((n * mu * (1.0 - mu))[:, None] * design)

    b0 = scale / i0_guess
    beta = np.array([(centre - i_guess) / i0_guess, b0])
    value = negative_log_likelihood(beta)
    for _ in range(NEWTON_STEPS):
        gradient = design.T @ (n * expit(design @ beta) - counts)
        try:
            step = np.linalg.solve(hessian(beta), gradient)
        except np.linalg.LinAlgError:
            return None
        decrement = float(gradient @ step)
        if not np.isfinite(decrement):
            return None
        if decrement < NEWTON_TOLERANCE:
            break
        for _ in range(60):  # halve until the likelihood rises
            trial = beta - step
            trial_value = negative_log_likelihood(trial)
            if trial_value <= value:
                break
            step = step / 2
        beta, value = trial, trial_value
    else:
        return None  # did not converge
    a, b = beta
    if not 0 < b < 1e4 * max(b0, 1.0):
        return None
    try:
        cov_ab = np.linalg.inv(hessian(beta))
    except np.linalg.LinAlgError:
        return None
    i0, i_bias = scale / b, centre - a * scale / b
    jacobian = np.array([[-scale / b, a * scale / b**2], [0.0, -scale / b**2]])
    cov = jacobian @ cov_ab @ jacobian.T
    errors = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    return SigmoidFit(float(i_bias), float(i0), float(errors[0]), float(errors[1]))


# A fit is a calibration only if the data pin it down. The thresholds, and why:
GRADE_COVER_LOW = 0.2  # the lowest point at P <= 0.2 and the highest at P >= 0.8: the
GRADE_COVER_HIGH = 0.8  # sweep saw both tails, so I0 is measured, not extrapolated
GRADE_MAX_I_BIAS_REL_ERR = 0.05  # I_bias known to 5 % (paper 002 Eq. 3 variation is 25 %)
GRADE_MAX_I0_REL_ERR = 0.5  # I0 (the slope) known to within a factor of about 1.5


@dataclass(frozen=True)
class FitGrade:
    """Whether a switching-probability fit may serve as a calibration, and if not why."""

    usable: bool
    reason: str = ""

    def as_dict(self) -> dict:
        return {"usable": self.usable, "reason": self.reason}


def grade_fit(currents: np.ndarray, counts: np.ndarray, trials: np.ndarray | int,
              fit: SigmoidFit | None) -> FitGrade:
    """Grade a sweep's fit, first failed rule wins: the measured curve crosses 50 %; it
    covers enough of 0-1 (``GRADE_COVER_LOW`` / ``GRADE_COVER_HIGH``); I_bias lies inside
    the swept range; I_bias and I0 have bounded relative errors
    (``GRADE_MAX_I_BIAS_REL_ERR``, ``GRADE_MAX_I0_REL_ERR``)."""
    currents = np.asarray(currents, float)
    counts = np.atleast_1d(np.asarray(counts, float))
    p = counts / np.broadcast_to(np.asarray(trials, float), counts.shape)
    if p.size == 0 or not (p.min() < 0.5 < p.max() or (p == 0.5).any()):
        return FitGrade(False, f"never crossed 50 % (P from {p.min():.2f} to {p.max():.2f})")
    if p.min() > GRADE_COVER_LOW or p.max() < GRADE_COVER_HIGH:
        return FitGrade(False, f"covers only P = {p.min():.2f}-{p.max():.2f} (needs "
                        f"<= {GRADE_COVER_LOW} and >= {GRADE_COVER_HIGH})")
    if fit is None:
        return FitGrade(False, "the sigmoid fit failed")
    if not currents.min() <= fit.i_bias <= currents.max():
        return FitGrade(False, "I_bias lies outside the swept currents")
    values = (fit.i_bias, fit.i0, fit.i_bias_err, fit.i0_err)
    if not (np.all(np.isfinite(values)) and fit.i0 > 0 and fit.i_bias != 0):
        return FitGrade(False, "the fit's uncertainties are not finite")
    if fit.i_bias_err / abs(fit.i_bias) > GRADE_MAX_I_BIAS_REL_ERR:
        return FitGrade(False, f"I_bias uncertain by {100 * fit.i_bias_err / abs(fit.i_bias):.0f}"
                        f" % (> {100 * GRADE_MAX_I_BIAS_REL_ERR:.0f} %)")
    if fit.i0_err / fit.i0 > GRADE_MAX_I0_REL_ERR:
        return FitGrade(False, f"I0 uncertain by {100 * fit.i0_err / fit.i0:.0f} % "
                        f"(> {100 * GRADE_MAX_I0_REL_ERR:.0f} %)")
    return FitGrade(True)

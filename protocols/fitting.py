"""Switching-probability statistics: Wilson intervals, the sigmoid fit, the thermally
activated fit beside it, and which of the two the counts prefer.

Paper 002 (Eq. 2, SI S3, S6) describes a device by P_sw = sigmoid((I - I_bias) / I0) and
its programming window, the current span from 0.01 % to 99.9 %; paper 000 writes the same
curve as 1 / (1 + exp(-k (I + c))), so k = 1 / I0 and c = -I_bias. The papers' description
stays the logistic; but a pulse of width t switches a thermally activated magnet with

    P_sw(I) = 1 - exp(-(t / tau0) exp(-Delta (1 - I / I_c)^n))

(Neel-Brown escape over a barrier the current lowers: W. F. Brown, Phys. Rev. 130, 1677
(1963), paper 000's ref. 33; with the pulse width, R. H. Koch, J. A. Katine and J. Z. Sun,
Phys. Rev. Lett. 92, 088302 (2004)), which is not a logistic in I: its tail towards P = 0 is
long and its approach to 1 short, so a logistic fitted over a sweep puts its I_bias below the
device's 50 % current (0.25 I0 for paper 002's 0.5 um bars at 100 us). ``fit_thermal`` fits
this form by maximum likelihood with tau0 and n fixed (two free parameters, I_c and Delta,
as the logistic has two), ``compare_models`` says which of the two the counts prefer by
their likelihood with Vuong's statistic for non-nested models, and "the 50 % current" is the
preferred model's own 50 % point.
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
    """The inverse of the sigmoid: the current offset (in units of I0) at probability ``p``."""
    return np.log(p) - np.log1p(-np.asarray(p, float))


WINDOW_LOGIT_SPAN = float(logit(0.999) - logit(1e-4))  # window = 16.1 * I0


def sigmoid(current: np.ndarray, i_bias: float, i0: float) -> np.ndarray:
    """Paper 002 Eq. 2: P_sw = 1 / (1 + exp(-(I - I_bias) / I0))."""
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
        """The programming window (A): the current span from P_sw = 0.01 % to 99.9 %, 16.1 I0 (paper
        002 Eq. 2, SI S3)."""
        return WINDOW_LOGIT_SPAN * self.i0

    @property
    def window_err(self) -> float:
        """One-sigma uncertainty of ``window`` (A)."""
        return WINDOW_LOGIT_SPAN * self.i0_err

    @property
    def k(self) -> float:
        """Paper 000's slope k = 1 / I0 (1/A)."""
        return 1.0 / self.i0

    @property
    def k_err(self) -> float:
        """One-sigma uncertainty of ``k`` (1/A), propagated from I0's."""
        return self.i0_err / self.i0**2

    @property
    def c(self) -> float:
        """Paper 000's shift c = -I_bias (A)."""
        return -self.i_bias

    @property
    def c_err(self) -> float:
        """One-sigma uncertainty of ``c`` (A): I_bias's."""
        return self.i_bias_err

    def p_switch(self, current: np.ndarray) -> np.ndarray:
        """The fitted P_sw at ``current`` (A): sigmoid((I - I_bias) / I0)."""
        return sigmoid(current, self.i_bias, self.i0)

    def as_dict(self) -> dict[str, float]:
        """I_bias, I0, window, k and c with their one-sigma errors, as floats (SI): the fit in a
        sweep's result and in ``hil simulate psw --json``."""
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


def _maximise(start: np.ndarray, negative_log_likelihood,
              newton) -> tuple[np.ndarray, np.ndarray] | None:
    """Newton's method on a likelihood with step halving: ``newton(theta)`` gives the score
    (the log-likelihood's gradient) and the information matrix (its negative Hessian, or
    Fisher's expected one: scoring); each step is halved until the likelihood rises. Returns
    (the maximum, the information there), or None where it does not converge."""
    theta, value = start, negative_log_likelihood(start)
    for _ in range(NEWTON_STEPS):
        try:
            score, information = newton(theta)
            step = np.linalg.solve(information, score)
        except np.linalg.LinAlgError:
            return None
        decrement = float(score @ step)
        if not np.isfinite(decrement):
            return None
        if decrement < NEWTON_TOLERANCE:
            return theta, information
        for _ in range(60):  # halve until the likelihood rises
            trial = theta + step
            trial_value = negative_log_likelihood(trial)
            if trial_value <= value:
                break
            step = step / 2
        theta, value = trial, trial_value
    return None


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
    start = np.array([(centre - i_guess) / i0_guess, b0])
    found = _maximise(start, negative_log_likelihood, lambda beta: (
        design.T @ (counts - n * expit(design @ beta)), hessian(beta)))
    if found is None:
        return None  # did not converge
    beta = found[0]
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


# -- the thermally activated model beside the logistic ---------------------------------------
THERMAL_TAU0 = 1e-9  # s, attempt time: paper 004's assumed tau_0 (its Eqs. 3-4), the usual 1 ns
THERMAL_EXPONENT = 2.0  # n: Brown's barrier K V (1 - h)^2 for a drive along the easy axis
LN_LN_2 = float(np.log(np.log(2.0)))  # cloglog(0.5): P = 1/2 where exp(eta) = ln 2


@dataclass(frozen=True)
class ThermalFit:
    """P_sw = 1 - exp(-(t / tau0) exp(-Delta (1 - I / I_c)^n)) fitted by maximum likelihood
    at the pulse width t, with tau0 and n held (module docstring). ``i_50`` is the model's
    own 50 % current; the errors are one sigma from the Fisher information. I_c and Delta
    depend on the held tau0 and n; I_50 and the curve over the swept currents hardly do."""

    i_c: float  # A
    delta: float  # kT
    i_c_err: float
    delta_err: float
    i_50: float  # A
    i_50_err: float
    pulse_width: float  # s
    tau0: float = THERMAL_TAU0
    exponent: float = THERMAL_EXPONENT

    @property
    def log_ratio(self) -> float:
        """ln(t / tau0): the escape exponent the current has to bring the barrier down to."""
        return float(np.log(self.pulse_width / self.tau0))

    def eta(self, current: np.ndarray) -> np.ndarray:
        """ln(-ln(1 - P)) = ln(t / tau0) - Delta (1 - I / I_c)^n (barrier clipped at zero)."""
        reduced = np.clip(1.0 - np.asarray(current, float) / self.i_c, 0.0, None)
        return self.log_ratio - self.delta * reduced**self.exponent

    def p_switch(self, current: np.ndarray) -> np.ndarray:
        """The fitted P_sw at ``current`` (A): 1 - exp(-exp(eta(I)))."""
        return -np.expm1(-np.exp(self.eta(current)))

    def current_at(self, p: float | np.ndarray) -> np.ndarray:
        """The current that switches with probability p (below I_c)."""
        barrier = np.clip(self.log_ratio - np.log(-np.log1p(-np.asarray(p, float))), 0, None)
        return self.i_c * (1.0 - (barrier / self.delta) ** (1.0 / self.exponent))

    @property
    def slope_at_50(self) -> float:
        """dP/dI at the 50 % current (1/A): (1/2) ln 2 d eta / dI there."""
        reduced = 1.0 - self.i_50 / self.i_c
        d_eta = self.delta * self.exponent * reduced ** (self.exponent - 1.0) / self.i_c
        return float(0.5 * np.log(2.0) * d_eta)

    def as_dict(self) -> dict[str, float]:
        """The fit's parameters, errors and held tau0 and n as floats (SI; Delta in kT), as the run
        store writes them."""
        names = ("i_c", "delta", "i_c_err", "delta_err", "i_50", "i_50_err", "pulse_width",
                 "tau0", "exponent")
        return {name: float(getattr(self, name)) for name in names}


def fit_thermal(currents: np.ndarray, counts: np.ndarray, trials: np.ndarray | int,
                pulse_width: float, tau0: float = THERMAL_TAU0,
                exponent: float = THERMAL_EXPONENT) -> ThermalFit | None:
    """The thermally activated curve through binomial counts by maximum likelihood, or None
    where the likelihood has no maximum (separated counts, as for the logistic) or the pulse
    is too short for thermal activation (t < 10 tau0).

    With s = Delta^(1/n) (1 - I / I_c) = a - b x on standardised currents x, the model is a
    binary regression ln(-ln(1 - P)) = ln(t / tau0) - s^n; it is fitted by Fisher scoring
    with step halving on the likelihood, from the logistic's 50 % point and slope."""
    currents = np.asarray(currents, float)
    counts = np.atleast_1d(np.asarray(counts, float))
    n = np.broadcast_to(np.asarray(trials, float), counts.shape).astype(float)
    if currents.shape != counts.shape or currents.size < 3:
        raise ValueError("fit_thermal needs at least 3 (current, count) points")
    if not (pulse_width > 0 and tau0 > 0 and exponent >= 1):
        raise ValueError(f"pulse_width = {pulse_width:g} s, tau0 = {tau0:g} s, exponent = "
                         f"{exponent:g}: allowed pulse_width > 0, tau0 > 0, exponent >= 1")
    log_ratio = float(np.log(pulse_width / tau0))
    if log_ratio - LN_LN_2 <= np.log(10.0):
        return None  # no room for a barrier: the pulse is within a few attempt times
    failures, successes = currents[counts < n], currents[counts > 0]
    if (failures.size == 0 or successes.size == 0 or failures.max() <= successes.min()
            or successes.max() <= failures.min()):
        return None  # separated data: no finite maximum
    centre, scale = float(currents.mean()), float(np.ptp(currents)) or 1.0
    x = (currents - centre) / scale
    s_50 = (log_ratio - LN_LN_2) ** (1.0 / exponent)  # s at the 50 % point

    def parts(theta):
        s = theta[0] - theta[1] * x
        alive = s > 0  # beyond I_c the barrier is gone: eta stops growing
        s = np.where(alive, s, 0.0)
        eta = log_ratio - s**exponent
        d_s = np.where(alive, exponent * s ** (exponent - 1.0), 0.0)
        jacobian = np.column_stack([-d_s, d_s * x])  # d eta / d(a, b)
        return eta, jacobian

    def negative_log_likelihood(theta):
        eta, _ = parts(theta)
        hazard = np.exp(eta)
        with np.errstate(divide="ignore"):
            log_p = np.log(-np.expm1(-hazard))
        return -(_weighted_sum(counts, log_p) - float(np.sum((n - counts) * hazard)))

    guess = _initial_logistic(currents, counts, n)
    if guess is None:
        return None
    i_guess, i0_guess = guess
    # at the 50 % point dP/dI = (1/2) ln 2 n s^(n-1) b / scale must match 1 / (4 I0)
    b = scale / (4 * i0_guess) / (0.5 * np.log(2.0) * exponent * s_50 ** (exponent - 1.0))
    theta = np.array([s_50 + b * (i_guess - centre) / scale, b])

    def scoring(theta):
        eta, jacobian = parts(theta)
        hazard = np.exp(eta)
        p = -np.expm1(-hazard)
        ratio = hazard / np.where(p > 0, p, 1.0)  # exp(eta) / P: d ln P / d eta = (1-P) ratio
        score = jacobian.T @ ((counts - n * p) * ratio)
        return score, jacobian.T @ ((n * (1.0 - p) * hazard * ratio)[:, None] * jacobian)

    found = _maximise(theta, negative_log_likelihood, scoring)
    if found is None:
        return None
    theta, fisher = found
    value = negative_log_likelihood(theta)
    a, b = theta
    if not (b > 0 and np.isfinite(value)):
        return None
    try:
        cov = np.linalg.inv(fisher)
    except np.linalg.LinAlgError:
        return None
    # physical parameters: s = A - B I with A = a + b centre / scale, B = b / scale
    big_a, big_b = a + b * centre / scale, b / scale
    i_c, delta = big_a / big_b, big_a**exponent
    x_50 = (a - s_50) / b
    to_physical = np.array([
        [scale / b, -scale * a / b**2],  # d I_c / d(a, b) (I_c = centre + scale a / b)
        [exponent * big_a ** (exponent - 1), exponent * big_a ** (exponent - 1) * centre / scale],
        [scale / b, -scale * (a - s_50) / b**2],  # d I_50 / d(a, b)
    ])
    errors = np.sqrt(np.clip(np.diag(to_physical @ cov @ to_physical.T), 0.0, None))
    return ThermalFit(float(i_c), float(delta), float(errors[0]), float(errors[1]),
                      float(centre + scale * x_50), float(errors[2]), float(pulse_width),
                      float(tau0), float(exponent))


def _initial_logistic(currents: np.ndarray, counts: np.ndarray,
                      n: np.ndarray) -> tuple[float, float] | None:
    """(I_bias, I0) of the logistic through the counts: the thermal fit's starting point."""
    try:
        fit = fit_sigmoid(currents, counts / n, n)
    except (RuntimeError, ValueError):
        return None
    if not (np.isfinite(fit.i_bias) and fit.i0 > 0):
        return None
    return fit.i_bias, fit.i0


def fifty_interval(cycles: int, slope: float, current_err: float,
                   confidence: float = 0.95) -> tuple[float, float]:
    """Where the switching fraction of ``cycles`` cycles at a sweep's 50 % current falls
    with probability ``confidence``: binomial spread at P = 1/2 and the sweep's own error
    on that current (``current_err``, one sigma) through the curve's slope there (1/A)."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    half = z * float(np.sqrt(0.25 / cycles + (slope * current_err) ** 2))
    return max(0.0, 0.5 - half), min(1.0, 0.5 + half)


def _weighted_sum(weights: np.ndarray, values: np.ndarray) -> float:
    """sum(w v) where a zero weight drops its term (0 x -inf is 0 here, not NaN)."""
    return float(np.sum(np.where(weights > 0, weights * np.where(weights > 0, values, 0.0),
                                 0.0)))


@dataclass(frozen=True)
class ModelComparison:
    """Which switching model the counts prefer, by likelihood. The two have two free
    parameters each, so their likelihoods compare directly (AIC differs by -2 Delta ln L);
    Vuong's z (Q. H. Vuong, "Likelihood ratio tests for model selection and non-nested
    hypotheses", Econometrica 57, 307-333 (1989)) is Delta ln L over its standard deviation
    across the cycles, and ``vuong_p`` its two-sided p-value: how clearly the preference
    stands above the cycle-to-cycle scatter. ``model`` is the one with the higher
    likelihood; its 50 % current is ``i_50``."""

    model: str  # "neel-brown" or "logistic"
    log_likelihood_logistic: float
    log_likelihood_thermal: float | None
    vuong_z: float | None
    vuong_p: float | None
    i_50: float
    i_50_err: float
    slope_at_50: float  # dP/dI of the chosen model at its 50 % current, 1/A

    @property
    def delta_log_likelihood(self) -> float | None:
        """ln L(Neel-Brown) - ln L(logistic)."""
        if self.log_likelihood_thermal is None:
            return None
        return self.log_likelihood_thermal - self.log_likelihood_logistic

    def as_dict(self) -> dict:
        """The preferred model, its 50 % current and slope, both log-likelihoods and Vuong's z and
        p, as the run store writes them."""
        return {"model": self.model, "i_50": self.i_50, "i_50_err": self.i_50_err,
                "slope_at_50": self.slope_at_50,
                "log_likelihood": {"logistic": self.log_likelihood_logistic,
                                   "neel-brown": self.log_likelihood_thermal},
                "vuong_z": self.vuong_z, "vuong_p": self.vuong_p}


def compare_models(currents: np.ndarray, counts: np.ndarray, trials: np.ndarray | int,
                   logistic: SigmoidFit, thermal: ThermalFit | None) -> ModelComparison:
    """The two fits' binomial log-likelihoods on the same counts and Vuong's statistic; the
    better one by likelihood is chosen (the logistic when the thermal fit has none)."""
    currents = np.asarray(currents, float)
    counts = np.atleast_1d(np.asarray(counts, float))
    n = np.broadcast_to(np.asarray(trials, float), counts.shape)
    z = (currents - logistic.i_bias) / logistic.i0
    logistic_terms = (-np.logaddexp(0.0, -z), -np.logaddexp(0.0, z))
    ll_logistic = float(np.sum(counts * logistic_terms[0] + (n - counts) * logistic_terms[1]))
    logistic_slope = 1.0 / (4.0 * logistic.i0)
    if thermal is None:
        return ModelComparison("logistic", ll_logistic, None, None, None, logistic.i_bias,
                               logistic.i_bias_err, logistic_slope)
    hazard = np.exp(thermal.eta(currents))
    with np.errstate(divide="ignore"):  # ln 0 = -inf only where a point's P underflows
        thermal_terms = (np.log(-np.expm1(-hazard)), -hazard)
    ll_thermal = _weighted_sum(counts, thermal_terms[0]) + _weighted_sum(n - counts,
                                                                         thermal_terms[1])
    # per cycle: a switch contributes ln P1 - ln P2, a miss ln(1-P1) - ln(1-P2)
    d_hit, d_miss = thermal_terms[0] - logistic_terms[0], thermal_terms[1] - logistic_terms[1]
    total = float(n.sum())
    mean = (_weighted_sum(counts, d_hit) + _weighted_sum(n - counts, d_miss)) / total
    square = (_weighted_sum(counts, d_hit**2) + _weighted_sum(n - counts, d_miss**2)) / total
    spread = np.sqrt(max(square - mean**2, 0.0))
    vuong_z = float(np.sqrt(total) * mean / spread) if spread > 0 else 0.0
    vuong_p = float(2.0 * (1.0 - NormalDist().cdf(abs(vuong_z))))
    if ll_thermal >= ll_logistic:
        return ModelComparison("neel-brown", ll_logistic, ll_thermal, vuong_z, vuong_p,
                               thermal.i_50, thermal.i_50_err, thermal.slope_at_50)
    return ModelComparison("logistic", ll_logistic, ll_thermal, vuong_z, vuong_p,
                           logistic.i_bias, logistic.i_bias_err, logistic_slope)


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
        """``usable`` and ``reason``, as the run store writes them."""
        return {"usable": self.usable, "reason": self.reason}


def grade_fit(currents: np.ndarray, counts: np.ndarray, trials: np.ndarray | int,
              fit: SigmoidFit | None, fifty: ModelComparison | None = None) -> FitGrade:
    """Grade a sweep's fit, first failed rule wins: the measured curve crosses 50 %; it
    covers enough of 0-1 (``GRADE_COVER_LOW`` / ``GRADE_COVER_HIGH``); I_bias lies inside
    the swept range; I_bias and I0 have bounded relative errors
    (``GRADE_MAX_I_BIAS_REL_ERR``, ``GRADE_MAX_I0_REL_ERR``); and, with ``fifty`` (the
    model comparison), the chosen model's 50 % current lies inside the swept range and is
    known as well as I_bias must be."""
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
    if fifty is not None:
        i_50, err = fifty.i_50, fifty.i_50_err
        if not (np.isfinite(i_50) and np.isfinite(err) and i_50 != 0):
            return FitGrade(False, f"the {fifty.model} 50 % current is not finite")
        if not currents.min() <= i_50 <= currents.max():
            return FitGrade(False, f"the {fifty.model} 50 % current lies outside the swept "
                            "currents")
        if err / abs(i_50) > GRADE_MAX_I_BIAS_REL_ERR:
            return FitGrade(False, f"the {fifty.model} 50 % current is uncertain by "
                            f"{100 * err / abs(i_50):.0f} % (> "
                            f"{100 * GRADE_MAX_I_BIAS_REL_ERR:.0f} %)")
    return FitGrade(True)

"""Neel-Brown dwell times of a telegraphic (low-barrier) MTJ and its time-averaged activation
(paper 004, Cai et al., Voltage-Controlled Spintronic Stochastic Neuron Based on a Magnetic
Tunnel Junction, Eqs. 2-6).

Under a perpendicular field H and a bias V the free layer dwells in the high state for
tau_high = tau_0 exp[(E_b/kT)(1 + (H - H_s)/H_k)^2] and in the low state for
tau_low = tau_0 exp[(E_b/kT)(1 - (H - H_s)/H_k)^2] (Eqs. 3-4), so the fraction of time high is
P(high | H) = 1 / (1 + exp(-4 (E_b/kT)(H - H_s)/H_k)) (Eq. 5). VCMA lowers K_eff by
xi V / (t_ox t) (Eq. 6), which lowers E_b and H_k together and so flattens the sigmoid.

Paper 004 assumes tau_0 = 1 ns. For a macrospin the prefactor follows from Brown's
Fokker-Planck equation: ``brown_dwell_time`` is the exact mean time from entering one state
(m_z crossing +z_t) to entering the other (m_z crossing -z_t) for an axially symmetric layer,
and ``NeelBrown.for_device`` takes tau_0 from it at H = 0, so the model and the LLGS of the
same device can be compared without a free parameter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import cumulative_trapezoid, trapezoid
from scipy.optimize import curve_fit

from simulators.analytic import neel_time
from simulators.bounds import check_count, check_range
from simulators.macrospin import Macrospin

STATE_THRESHOLD = 0.5  # m_z beyond +-z_t enters the high / low state (hysteretic read)
PAPER_TAU0 = 1e-9  # s, paper 004's assumed inverse attempt frequency


@dataclass(frozen=True)
class NeelBrown:
    """Dwell times of the two states (Eqs. 3-4). Fields in tesla, e_b in kT."""

    e_b: float  # E_b / kT at this bias
    h_k: float  # T
    h_s: float = 0.0  # T, the field where both states are equally likely
    tau0: float = PAPER_TAU0  # s

    def __post_init__(self) -> None:
        check_range("e_b", self.e_b, 0.0, 1e4, "kT", "a barrier", low_open=True)
        check_range("h_k", self.h_k, 0.0, 100.0, "T", "an anisotropy field", low_open=True)
        check_range("h_s", self.h_s, -100.0, 100.0, "T")
        check_range("tau0", self.tau0, 0.0, 1.0, "s", "an attempt time", low_open=True)

    @classmethod
    def for_device(cls, device: Macrospin, gate_voltage: float = 0.0) -> NeelBrown:
        """The macrospin's barrier and anisotropy field at this bias; tau_0 from Brown's exact
        dwell time at zero field."""
        e_b = device.barrier(gate_voltage)
        tau0 = brown_dwell_time(device, 0.0, gate_voltage) / np.exp(e_b)
        return cls(e_b, device.h_k(gate_voltage), 0.0, tau0)

    def reduced(self, h_perp: np.ndarray | float) -> np.ndarray:
        """(H - H_s) / H_k: the field in units of the anisotropy field, from the equal-dwell
        point."""
        return (np.asarray(h_perp, float) - self.h_s) / self.h_k

    def tau_high(self, h_perp: np.ndarray | float) -> np.ndarray:
        """Mean dwell time (s) in the high state at field ``h_perp`` (T): tau_0 exp[E_b (1 + h)^2]
        (paper 004 Eq. 3)."""
        return self.tau0 * np.exp(self.e_b * (1 + self.reduced(h_perp)) ** 2)

    def tau_low(self, h_perp: np.ndarray | float) -> np.ndarray:
        """Mean dwell time (s) in the low state at field ``h_perp`` (T): tau_0 exp[E_b (1 - h)^2]
        (paper 004 Eq. 4)."""
        return self.tau0 * np.exp(self.e_b * (1 - self.reduced(h_perp)) ** 2)

    def p_high(self, h_perp: np.ndarray | float) -> np.ndarray:
        """Eq. 5: tau_high / (tau_high + tau_low) = sigmoid(w (H - H_s))."""
        return 1.0 / (1.0 + np.exp(-self.weight * (np.asarray(h_perp, float) - self.h_s)))

    @property
    def weight(self) -> float:
        """w = 4 (E_b/kT) / H_k, 1/T: the sigmoid's slope in field (Eq. 5)."""
        return 4 * self.e_b / self.h_k


def brown_dwell_time(
    device: Macrospin, h_perp: float, gate_voltage: float = 0.0,
    threshold: float = STATE_THRESHOLD, state: int = 1, points: int = 20001,
) -> float:
    """Mean dwell time (s) in the high (``state`` = 1, m_z > 0) or low (-1) state of an axially
    symmetric macrospin under a field ``h_perp`` (T) along +z: the mean first passage of m_z
    from +-z_t to -+z_t with a reflecting wall at +-1 (Brown 1963),
    T = 2 tau_N int_a^b dz e^{U(z)} / (1 - z^2) int_z^1 e^{-U(y)} dy,
    U / kT = -Delta (z^2 + 2 h z), h = H / H_k, written for the high state (the low state is
    the same with h -> -h)."""
    check_range("threshold", threshold, 0.0, 1.0 - 1e-9, "", "a read level in m_z",
                low_open=True)
    check_count("points", points, 3, 10_000_001)
    h_k = device.h_k(gate_voltage)
    if not h_k > 0:
        raise ValueError(f"gate_voltage = {gate_voltage:g} V leaves {device.name} without a "
                         "perpendicular easy axis; allowed range: H_k(V) > 0")
    check_range("h_perp", h_perp, -h_k, h_k, "T", "|H| <= H_k: both states exist")
    delta = device.barrier(gate_voltage)
    h = state * h_perp / h_k
    z = np.linspace(-threshold, 1.0, points)
    u = -delta * (z * z + 2 * h * z)
    shift = u.max()
    inner_from_z = trapezoid(np.exp(-(u - shift)), z) - cumulative_trapezoid(
        np.exp(-(u - shift)), z, initial=0.0)  # int_z^1 e^{-U}
    outer = np.exp(u - shift) * inner_from_z / np.clip(1 - z * z, 1e-300, None)
    keep = z <= threshold
    return float(2 * neel_time(device) * trapezoid(outer[keep], z[keep]))


def brown_weight(device: Macrospin, gate_voltage: float = 0.0,
                 threshold: float = STATE_THRESHOLD) -> float:
    """The slope w (1/T) of logit P(high | H) at H = 0 from Brown's exact dwell times of the
    same macrospin, d ln(tau_high / tau_low) / dH (central difference over +-H_k / 1000).
    Eq. 5's w = 4 (E_b/kT) / H_k is its high-barrier limit: at vcma-004's 10 kT and 0 V it
    is 6.1 % steeper (0.714 against 0.674 /mT), at +0.2 V 7.2 %; the exact slope does not
    depend on the read threshold (0.1-0.9: within 3e-5)."""
    step = 1e-3 * device.h_k(gate_voltage)

    def log_ratio(field: float) -> float:
        return float(np.log(brown_dwell_time(device, field, gate_voltage, threshold, 1))
                     - np.log(brown_dwell_time(device, field, gate_voltage, threshold, -1)))

    return (log_ratio(step) - log_ratio(-step)) / (2 * step)


def fit_p_high(h_perp: np.ndarray, p_high: np.ndarray, samples: int) -> tuple[float, float,
                                                                                float, float]:
    """Eq. 5 fitted to measured fractions: (w, w_err, H_s, H_s_err), binomial weights."""
    h_perp, p_high = np.asarray(h_perp, float), np.asarray(p_high, float)
    sigma = np.sqrt(np.clip(p_high * (1 - p_high), 1.0 / samples, None) / samples)
    # fitted in units of the span, shifted by one: both parameters of order 1, so MINPACK's
    # relative finite-difference steps stay finite (a shift near 0 T gave no covariance)
    span = float(np.ptp(h_perp))
    (a, b), cov = curve_fit(lambda x, a, b: 1 / (1 + np.exp(-a * (x - b))),
                            h_perp / span + 1.0, p_high,
                            p0=(8.0, float(np.mean(h_perp)) / span + 1.0), sigma=sigma,
                            absolute_sigma=True, maxfev=20000)
    err = np.sqrt(np.diag(cov))
    return float(a / span), float(err[0] / span), float((b - 1.0) * span), float(err[1] * span)


def fit_dwell_times(
    h_perp: np.ndarray, tau_high: np.ndarray, tau_low: np.ndarray,
) -> NeelBrown:
    """Eqs. 3-4 fitted to both dwell-time curves at once (least squares in ln tau): the
    quadratic in H separates E_b/kT and H_k, which Eq. 5 alone cannot (it sees only w). The
    sum ln tau_high + ln tau_low = 2 ln tau_0 + 2 (E_b/kT)(1 + h^2) fixes E_b only through
    h^2, so the fields must reach a good part of H_k."""
    h_perp = np.asarray(h_perp, float)
    x = np.concatenate([h_perp, h_perp])
    sign = np.concatenate([np.ones_like(h_perp), -np.ones_like(h_perp)])
    y = np.log(np.concatenate([tau_high, tau_low]))

    def model(_, log_tau0, e_b, h_k, h_s):
        return log_tau0 + e_b * (1 + sign * (x - h_s) / h_k) ** 2

    p0 = (np.log(1e-9), float(np.median(y)) - np.log(1e-9), 4 * np.ptp(h_perp), 0.0)
    (log_tau0, e_b, h_k, h_s), _ = curve_fit(model, x, y, p0=p0, maxfev=20000)
    return NeelBrown(float(e_b), float(abs(h_k)), float(h_s), float(np.exp(log_tau0)))

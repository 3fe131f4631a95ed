"""Paper 003's neuron: activation and gradient read from one free layer by two polarisers
(Rodrigues et al., A design of magnetic tunnel junctions for the deployment of neuromorphic
hardware for edge computing).

A field line drives a field H along x; reference layer 1 (x) reads m_x, the activation, and
reference layer 2 (z) reads m_z, whose square is the gradient. While the layer stays in the
x-z plane, m_z^2 = 1 - m_x^2, so if <m_x> = A tanh(s u) then m_z^2 follows sech^2(s u),
the derivative of tanh (the paper's identity, its Fig. 2). The time averages the reference
layers see are those of the Boltzmann distribution of the layer's energy; this module gives
them two ways: exact quadrature on the sphere (the fast model the bank uses) and the LLGS
(the check of that model), plus the tanh and sech^2 fits. The identity is the fits': what
reference layer 2 reads is the derivative of the tanh <m_x> is fitted with, not <m_x>'s own
slope d<m_x>/dH = (M_s V / k_B T) Var(m_x) (``mx_std``), which at zero field, where the
layer still sits in its +-z wells, is 17 % of its peak below it
(``hil.banks.two_polariser.TwoPolariserBank.own_derivative``).

The reference layers only read: the spin torque of the read current is left out, which holds
for reads well below I_c0 ~ 12 uA (a read at I lifts the layer's effective temperature by
about I / I_c0, so 0.25 uA costs 2 %); the LLGS here applies no current.

The derivative read is the mean of the squared m_z samples (a sample-and-square periphery):
squaring a time-averaged m_z would give <m_z>^2, which misses sech^2 by twice as much
(0.075 against 0.037 at the preset's 8 kT, by quadrature).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

from simulators.bounds import (
    MAX_LLGS_STEPS,
    MAX_TRAJECTORIES,
    check_count,
    check_finite,
    check_llgs_steps,
    check_range,
    si,
    warn_cost,
)
from simulators.macrospin import KB, MU0, Macrospin

FIELD_LINE_DISTANCE = 20e-9  # m, field line under the free layer (a tight MRAM-style line)
FIELD_PER_AMPERE = MU0 / (2 * np.pi * FIELD_LINE_DISTANCE)  # T/A, Oersted field of a line


def in_plane_h_k(device: Macrospin) -> float:
    """c_z - c_x (T): the field along x that pulls m onto x at zero temperature."""
    c = device.field_coefficients()
    return float(c[2] - c[0])


@dataclass(frozen=True)
class Readout:
    """Boltzmann averages at each applied field along x (T): first and second moments of what
    the two reference layers read."""

    fields: np.ndarray
    mx: np.ndarray  # <m_x>: the activation
    mx2: np.ndarray  # <m_x^2>
    mz2: np.ndarray  # <m_z^2>: the derivative
    mz4: np.ndarray  # <m_z^4>
    my2: np.ndarray  # <m_y^2>: how far the layer leaves the x-z plane

    @property
    def mx_std(self) -> np.ndarray:
        """Spread of one m_x sample (sets the sampling error of a read)."""
        return np.sqrt(np.clip(self.mx2 - self.mx**2, 0, None))

    @property
    def mz2_std(self) -> np.ndarray:
        """Spread of one m_z^2 sample, sqrt(<m_z^4> - <m_z^2>^2) (sets the sampling error of a
        derivative read)."""
        return np.sqrt(np.clip(self.mz4 - self.mz2**2, 0, None))


def boltzmann_readout(device: Macrospin, fields: np.ndarray, n_z: int = 1601,
                      n_phi: int = 360) -> Readout:
    """Exact averages over exp(-E / kT), E = -M_s V (c . m^2 / 2 + H m_x), by quadrature on
    a (cos theta, phi) grid (uniform measure; the trapezoid rule is spectral in phi)."""
    fields = check_finite("fields", np.atleast_1d(np.asarray(fields, float)), "T")
    check_count("fields", fields.size, 1, 10_000, "fields of one readout")
    check_count("n_z", n_z, 3, 20_001)
    check_count("n_phi", n_phi, 4, 7_200)
    z = np.linspace(-1.0, 1.0, n_z)
    phi = np.linspace(0.0, 2 * np.pi, n_phi + 1)[:-1]
    zz, pp = np.meshgrid(z, phi, indexing="ij")
    s = np.sqrt(1 - zz**2)
    mx, my, mz = s * np.cos(pp), s * np.sin(pp), zz
    c = device.field_coefficients()
    scale = device.ms * device.volume / (KB * device.temperature)
    anisotropy = scale * (c[0] * mx**2 + c[1] * my**2 + c[2] * mz**2) / 2
    out = {k: np.empty(fields.size) for k in ("mx", "mx2", "mz2", "mz4", "my2")}
    for i, h in enumerate(fields):
        log_w = anisotropy + scale * h * mx
        w = np.exp(log_w - log_w.max())
        norm = np.trapezoid(w.sum(1), z)

        def mean(q, w=w, norm=norm):
            return float(np.trapezoid((q * w).sum(1), z) / norm)

        out["mx"][i], out["mx2"][i] = mean(mx), mean(mx**2)
        out["mz2"][i], out["mz4"][i], out["my2"][i] = mean(mz**2), mean(mz**4), mean(my**2)
    return Readout(fields, **out)


@dataclass(frozen=True)
class LLGSReadout:
    """LLGS time averages per field, each with its standard error over trajectories."""

    fields: np.ndarray
    mx: np.ndarray
    mx_err: np.ndarray
    mz2: np.ndarray
    mz2_err: np.ndarray
    trajectories: int
    average: float  # s, averaging time per trajectory


def simulate_readout(
    device: Macrospin, fields: np.ndarray, trajectories: int = 64, settle: float = 15e-9,
    average: float = 30e-9, sample: float = 0.5e-9, dt: float | None = None, seed: int = 0,
) -> LLGSReadout:
    """Time-averaged m_x and m_z^2 read every ``sample`` over ``average`` after ``settle``,
    for ``trajectories`` independent layers per field. Each starts at its zero-temperature
    state (m_x = H / H_k, either well: both read the same m_x and m_z^2) and settles for
    about two relaxation times 1 / (alpha gamma H) before the averaging starts."""
    import torch

    from simulators.llgs import LLGSIntegrator, Pulse

    fields = check_finite("fields", np.atleast_1d(np.asarray(fields, float)), "T")
    check_count("trajectories", trajectories, 2, MAX_TRAJECTORIES)
    check_count("fields x trajectories", fields.size * int(trajectories), 2, MAX_TRAJECTORIES,
                "trajectories in one batch")
    step = device.default_dt if dt is None else dt
    for name, value in (("settle", settle), ("average", average), ("sample", sample)):
        check_range(name, value, 0.0, MAX_LLGS_STEPS * step, "s",
                    f"at most {MAX_LLGS_STEPS:.0e} LLGS steps of {si(step, 's')}",
                    low_open=True)
    check_range("sample", sample, 0.0, average, "s", "one sample or more per average",
                low_open=True)
    steps = check_llgs_steps("settle + average", settle + average, step)
    warn_cost(steps, fields.size * int(trajectories), f"two-polariser readout of {device.name}")
    gen = torch.Generator().manual_seed(seed)
    # eager torch: compiling costs more than the few thousand steps of a readout
    integrator = LLGSIntegrator(device, dt, dtype=torch.float64, compiled=False)
    h = np.repeat(fields, trajectories)
    n = h.size
    applied = np.stack([h, np.zeros(n), np.zeros(n)])
    mx0 = np.clip(h / in_plane_h_k(device), -1.0, 1.0)
    well = np.where(torch.rand(n, generator=gen, dtype=torch.float64).numpy() < 0.5, -1.0, 1.0)
    m = torch.as_tensor(np.stack([mx0, np.zeros(n), well * np.sqrt(1 - mx0**2)]))
    zero = np.zeros(n)
    m, _ = integrator.run(m, zero, Pulse(settle, relax=0.0), gen, fields=applied)
    samples = max(2, round(average / sample))
    sum_mx, sum_mz2 = np.zeros(n), np.zeros(n)
    for _ in range(samples):
        m, _ = integrator.run(m, zero, Pulse(sample, relax=0.0), gen, fields=applied)
        mm = m.numpy()
        sum_mx += mm[0]
        sum_mz2 += mm[2] ** 2
    per_mx = (sum_mx / samples).reshape(fields.size, trajectories)
    per_mz2 = (sum_mz2 / samples).reshape(fields.size, trajectories)
    root = np.sqrt(trajectories)
    return LLGSReadout(fields, per_mx.mean(1), per_mx.std(1, ddof=1) / root, per_mz2.mean(1),
                       per_mz2.std(1, ddof=1) / root, int(trajectories), samples * sample)


@dataclass(frozen=True)
class CurveFit:
    """scale * f(slope * u) fitted with its standard errors and chi^2 (weighted by the
    points' standard errors; ``dof`` degrees of freedom)."""

    scale: float
    slope: float
    scale_err: float
    slope_err: float
    chi2: float
    dof: int

    def tanh(self, u: np.ndarray) -> np.ndarray:
        """The fitted curve as A tanh(s u): the activation <m_x> of ``fit_tanh`` (paper 003 Fig.
        2b)."""
        return self.scale * np.tanh(self.slope * np.asarray(u, float))

    def sech2(self, u: np.ndarray) -> np.ndarray:
        """The fitted curve as C sech^2(s u): the derivative read <m_z^2> of ``fit_sech2`` (paper
        003 Fig. 2c)."""
        return self.scale / np.cosh(self.slope * np.asarray(u, float)) ** 2


def _fit(f, u, y, err, p0) -> CurveFit:
    u, y = np.asarray(u, float), np.asarray(y, float)
    sigma = None if err is None else np.asarray(err, float)
    p, cov = curve_fit(f, u, y, p0=p0, sigma=sigma, absolute_sigma=sigma is not None)
    resid = (y - f(u, *p)) / (1.0 if sigma is None else sigma)
    e = np.sqrt(np.diag(cov))
    return CurveFit(float(p[0]), float(p[1]), float(e[0]), float(e[1]),
                    float(np.sum(resid**2)), int(u.size - 2))


def fit_tanh(u: np.ndarray, mx: np.ndarray, err: np.ndarray | None = None) -> CurveFit:
    """<m_x>(u) = A tanh(s u): the activation paper 003's RL 1 reads (its Fig. 2b)."""
    return _fit(lambda x, a, s: a * np.tanh(s * x), u, mx, err, (1.0, 1.0))


def fit_sech2(u: np.ndarray, mz2: np.ndarray, err: np.ndarray | None = None) -> CurveFit:
    """<m_z^2>(u) = C sech^2(s u): the gradient paper 003's RL 2 reads (its Fig. 2c)."""
    return _fit(lambda x, c, s: c / np.cosh(s * x) ** 2, u, mz2, err, (1.0, 1.0))

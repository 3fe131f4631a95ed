"""Macrospin devices for the LLGS simulator: geometry, anisotropy, torques, presets.

Numbers of paper 000 (Xin et al.): CoFeB free layer 15 x 15 x 1.3 nm, M_s = 1.58 T,
alpha = 0.0122, K_bulk = 2.245e5 J/m^3, K_i = 1.286e-3 J/m^2, P = 0.4, gamma = 1.76e11,
T = 300 K, dt = 5 ps. With the demagnetising tensor of that prism (N_x = N_y = 0.088,
N_z = 0.823) the barrier is Delta = 34 kT, not the 15 kT paper 000 quotes for a thin film
(N_z = 1); the ``-15kT`` and ``-7.5kT`` variants lower K_bulk to match its Fig. 3 and Fig. 1.
The currents paper 000 reports (about 10-16 uA at 30 ns) are those of the prism's barriers,
not of the quoted ones, and its slope pair (k = 2.2 and 3.4 /uA at 30 and 200 ns) is
reproduced on neither: at 30 ns mtj-000 gives 1.09 /uA, mtj-000-7.5kT 1.72 /uA at 2.6 uA
(bench/papers/paper000_slope.py; docs/papers.md, "Claims as measured").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from simulators.bounds import check_range
from simulators.demag import prism_demag_factors

MU0 = 4e-7 * np.pi
KB = 1.380649e-23  # J/K
HBAR = 1.054571817e-34  # J s
E_CHARGE = 1.602176634e-19  # C
GAMMA = 1.76e11  # rad/(s T), paper 000


# each physical field's allowed range (name, low, high, unit, low end open): wide enough for
# any thin-film nanomagnet, narrow enough that nothing non-physical reaches the integrator
MACROSPIN_RANGES = (
    ("ms", 0.0, 1e7, "A/m", True), ("alpha", 0.0, 1.0, "", True),
    ("thickness", 0.0, 1e-6, "m", True), ("length_x", 0.0, 1e-5, "m", True),
    ("length_y", 0.0, 1e-5, "m", True), ("k_bulk", -1e8, 1e8, "J/m^3", False),
    ("k_interface", -1.0, 1.0, "J/m^2", False), ("polarisation", 0.0, 0.999, "", False),
    ("spin_hall_angle", -1.0, 1.0, "", False), ("hm_width", 0.0, 1e-3, "m", False),
    ("hm_thickness", 0.0, 1e-3, "m", False), ("field_like_ratio", -10.0, 10.0, "", False),
    ("vcma_xi", -1e-12, 1e-12, "J/(V m)", False), ("oxide_thickness", 0.0, 1e-7, "m", True),
    ("temperature", 0.0, 1000.0, "K", True), ("gamma", 0.0, 1e12, "rad/(s T)", True),
    ("default_dt", 0.0, 1e-9, "s", True),
)


@dataclass(frozen=True)
class Macrospin:
    """A single-domain free layer and how current torques it. SI units; fields in tesla."""

    name: str
    description: str
    ms: float  # A/m
    alpha: float
    thickness: float  # m
    length_x: float  # m
    length_y: float  # m
    k_bulk: float  # J/m^3
    k_interface: float  # J/m^2
    torque: str  # "stt": polariser along -z for I > 0 (paper 000); "sot": sigma along +y
    polarisation: float = 0.4  # P (STT)
    stt_efficiency: str = "angular"  # eta = P / (1 + P^2 m.sigma) (paper 000's code) or "constant"
    spin_hall_angle: float = 0.0  # SOT
    hm_width: float = 0.0  # m, heavy-metal strip carrying the SOT current
    hm_thickness: float = 0.0  # m
    field_like_ratio: float = 0.0  # field-like / damping-like torque
    h_ext: tuple[float, float, float] = (0.0, 0.0, 0.0)  # T
    vcma_xi: float = 0.0  # J/(V m), paper 004
    oxide_thickness: float = 1.0e-9  # m, MgO (VCMA: dK_i = -xi V / t_ox)
    temperature: float = 300.0  # K
    gamma: float = GAMMA
    # s, LLGS step that keeps Boltzmann within 2 % (equilibrium.py): the precession angle per
    # step, gamma H_k dt, kept near mtj-000's 0.34 at 2.5 ps (0.7 % cold; 5 ps: 9 %)
    default_dt: float = 2.5e-12
    paper: str = "000"  # the source paper (shared/papers) the preset follows
    pillar: tuple[float, float] | None = None  # m, elliptical footprint when larger than V*
    reference_axis: str = "z"  # readout: the reference layer's magnetisation axis

    def __post_init__(self) -> None:
        if self.torque not in ("stt", "sot"):
            raise ValueError(f"torque = {self.torque!r} is not one of stt, sot")
        if self.stt_efficiency not in ("angular", "constant"):
            raise ValueError(f"stt_efficiency = {self.stt_efficiency!r} is not angular/constant")
        for name, low, high, unit, low_open in MACROSPIN_RANGES:
            check_range(name, getattr(self, name), low, high, unit, "a macrospin preset",
                        low_open=low_open)
        for component in self.h_ext:
            check_range("h_ext", component, -10.0, 10.0, "T")
        if self.torque == "sot":
            for name in ("hm_width", "hm_thickness"):
                check_range(name, getattr(self, name), 0.0, 1e-3, "m", "the SOT strip",
                            low_open=True)
        if self.pillar is not None:
            for side in self.pillar:
                check_range("pillar", side, 0.0, 1e-5, "m", low_open=True)

    # -- geometry and energies ---------------------------------------------------------
    @property
    def volume(self) -> float:
        """Free-layer volume V (m^3)."""
        return self.length_x * self.length_y * self.thickness

    @property
    def area(self) -> float:
        """Free-layer footprint (m^2): what an STT current's density is taken over."""
        return self.length_x * self.length_y

    @property
    def demag(self) -> tuple[float, float, float]:
        """Demagnetising factors (N_x, N_y, N_z) of the free layer as a rectangular prism."""
        return prism_demag_factors(self.length_x, self.length_y, self.thickness)

    @property
    def ms_tesla(self) -> float:
        """Saturation magnetisation as mu0 M_s (T)."""
        return MU0 * self.ms

    def k_uniaxial(self, gate_voltage: float = 0.0) -> float:
        """K_bulk + K_i / t_FL (paper 000), with VCMA lowering K_i (paper 004 Eq. 6)."""
        k_i = self.k_interface - self.vcma_xi * gate_voltage / self.oxide_thickness
        return self.k_bulk + k_i / self.thickness

    def field_coefficients(self, gate_voltage: float = 0.0) -> np.ndarray:
        """H = c * m (componentwise, tesla): anisotropy along z and the demagnetising field."""
        nx, ny, nz = self.demag
        ms_t = self.ms_tesla
        c_z = 2 * self.k_uniaxial(gate_voltage) / self.ms - ms_t * nz
        return np.array([-ms_t * nx, -ms_t * ny, c_z])

    def h_k(self, gate_voltage: float = 0.0) -> float:
        """Effective anisotropy field (T) for m near z: c_z - c_x (mean of x and y)."""
        c = self.field_coefficients(gate_voltage)
        return float(c[2] - (c[0] + c[1]) / 2)

    def k_effective(self, gate_voltage: float = 0.0) -> float:
        """K_eff = H_k M_s / 2 (J/m^3): the anisotropy energy density left after demagnetisation,
        lowered by VCMA at ``gate_voltage`` (paper 004 Eq. 6)."""
        return self.h_k(gate_voltage) * self.ms / 2

    def barrier(self, gate_voltage: float = 0.0) -> float:
        """Delta = K_eff V / k_B T."""
        return self.k_effective(gate_voltage) * self.volume / (KB * self.temperature)

    def thermal_field_std(self, dt: float) -> float:
        """Standard deviation (T) of each thermal-field component held for one step dt:
        u = sqrt(2 k_B T alpha / (V M_s gamma dt)), the fluctuation-dissipation value for the
        Landau-Lifshitz form used here. Paper 000 writes (1 + alpha^2) gamma in the denominator,
        which cools the noise by 1 + alpha^2: 1.5e-4 at its alpha, 1 % at alpha = 0.1, enough
        to lengthen a Delta = 5 escape time by 5 %."""
        return float(np.sqrt(2 * KB * self.temperature * self.alpha / (
            self.volume * self.ms * self.gamma * dt)))

    # -- torques ----------------------------------------------------------------------
    @property
    def spin_direction(self) -> np.ndarray:
        """The spin polarisation sigma the torque acts with: -z for STT (paper 000's polariser), +y
        for SOT."""
        return np.array([0.0, 0.0, -1.0]) if self.torque == "stt" else np.array([0.0, 1.0, 0.0])

    @property
    def reset_direction(self) -> np.ndarray:
        """The state a positive write current switches away from."""
        return np.array([0.0, 0.0, 1.0]) if self.torque == "stt" else np.array(
            [0.0, 0.0, 1.0 if self.h_ext[0] >= 0 else -1.0])

    def torque_per_ampere(self) -> float:
        """a_J / I in T/A, hbar j eta / (2 e M_s t_FL), with eta = P (STT; the angular factor
        1 / (1 + P^2 m.sigma) is applied per step) or theta_SH (SOT)."""
        if self.torque == "stt":
            j_per_a = 1.0 / self.area
            efficiency = self.polarisation
        else:
            j_per_a = 1.0 / (self.hm_width * self.hm_thickness)
            efficiency = self.spin_hall_angle
        return HBAR * j_per_a * efficiency / (2 * E_CHARGE * self.ms * self.thickness)

    def critical_current(self, gate_voltage: float = 0.0) -> float:
        """Zero-temperature instability current. STT: I_c0 = (2 alpha e / (hbar eta0)) M_s V H_k
        with eta0 the efficiency at the reset state (P for constant efficiency; paper 000 App. A
        quotes it with P). SOT (perpendicular, H_x << H_k): I_c = H_k / 2 in damping-like field
        (Lee et al.'s macrospin limit), corrected by - H_x / sqrt(2)."""
        h_k = self.h_k(gate_voltage)
        if self.torque == "stt":
            eta0 = self.stt_efficiency_at(-1.0)
            return 2 * self.alpha * E_CHARGE * self.ms * self.volume * h_k / (HBAR * eta0)
        h_dl = h_k / 2 - abs(self.h_ext[0]) / np.sqrt(2)
        return h_dl / self.torque_per_ampere()

    def stt_efficiency_at(self, m_dot_sigma: float) -> float:
        """STT efficiency eta at m . sigma: P / (1 + P^2 m . sigma) (paper 000's code), or P when
        ``stt_efficiency`` is ``constant``."""
        if self.stt_efficiency == "constant":
            return self.polarisation
        p = self.polarisation
        return p / (1 + p * p * m_dot_sigma)

    def with_barrier(self, delta: float, name: str) -> Macrospin:
        """The same layer with K_bulk adjusted so that Delta = ``delta`` (kT)."""
        target_keff = delta * KB * self.temperature / self.volume
        shift = target_keff - self.k_effective()
        return dataclasses.replace(self, k_bulk=self.k_bulk + shift, name=name,
                                   description=f"{self.description}; K_bulk set for {delta:g} kT")


MTJ_000 = Macrospin(
    name="mtj-000",
    description="paper 000's CoFeB MTJ, 15 x 15 x 1.3 nm, STT with polariser along -z",
    ms=1.58 / MU0, alpha=0.0122, thickness=1.3e-9, length_x=15e-9, length_y=15e-9,
    k_bulk=2.245e5, k_interface=1.286e-3, torque="stt", polarisation=0.4,
)

SOT_000 = dataclasses.replace(
    MTJ_000.with_barrier(40.0, "sot-000"),
    description="three-terminal SOT variant of paper 000 (its Fig. 8): sigma along +y from a "
    "Ta strip (theta_SH = 0.12, 15 nm x 5 nm), H_x = 20 mT (paper 002's 200 Oe), K for 40 kT",
    torque="sot", spin_hall_angle=0.12, hm_width=15e-9, hm_thickness=5e-9,
    h_ext=(0.02, 0.0, 0.0), default_dt=2e-12,
)

# Paper 004 (Cai et al.): CoFeB 1.62 nm / MgO 0.8 nm, a 210 x 60 nm elliptical pillar with an
# in-plane reference layer, mu0 H_K1 = 56 mT at 0 V falling 34 mT/V, xi = 26 fJ/(V m). The two
# VCMA numbers agree only for mu0 M_s = 2 xi mu0 / (t t_ox 34 mT/V) = 1.483 T, used here. The
# pillar switches as an activation volume V* (its Eq. 1), a 27.8 nm square whose barrier with
# H_K1 = 56 mT is 10 kT: telegraphic on the paper's time scale (1000 reads in 2 min).
VCMA_004_MS = 2 * 26e-15 / (1.62e-9 * 0.8e-9 * 0.034)  # A/m
VCMA_004 = Macrospin(
    name="vcma-004",
    description="paper 004's telegraphic VCMA MTJ: CoFeB 1.62 nm / MgO 0.8 nm, 210 x 60 nm "
    "ellipse, in-plane reference; H_K1 = 56 mT, -34 mT/V (xi = 26 fJ/(V m)); activation "
    "volume 27.8 nm square, 10 kT at 0 V",
    ms=VCMA_004_MS, alpha=0.01, thickness=1.62e-9, length_x=27.82e-9, length_y=27.82e-9,
    k_bulk=0.0, k_interface=1.18816e-3, torque="stt", polarisation=0.4,
    vcma_xi=26e-15, oxide_thickness=0.8e-9, paper="004", pillar=(210e-9, 60e-9),
    reference_axis="x", default_dt=5e-12,
)

# Paper 000's trainable neuron: its 15 kT MTJ with a VCMA gate (paper 004's xi = 26 fJ/(V m)
# through 0.8 nm MgO) so that the gate voltage moves the barrier, and with it the shift c.
MTJ_000_VCMA = dataclasses.replace(
    MTJ_000.with_barrier(15.0, "mtj-000-vcma"),
    description="paper 000's 15 kT MTJ with a VCMA gate (xi = 26 fJ/(V m), 0.8 nm MgO): "
    "pulse width sets the slope k, gate voltage the shift c (trainable activation)",
    vcma_xi=26e-15, oxide_thickness=0.8e-9)

def in_plane_k_interface(device: Macrospin, delta: float) -> float:
    """K_i (J/m^2) that makes the barrier between +z and -z through x (the x-z plane's
    saddle) ``delta`` kT: M_s (c_z - c_x) V / 2 = delta k_B T."""
    c = device.field_coefficients()
    target = 2 * delta * KB * device.temperature / (device.volume * device.ms)  # c_z - c_x, T
    return device.k_interface + (target - (c[2] - c[0])) * device.ms * device.thickness / 2


# Paper 003 (Rodrigues et al., A design of magnetic tunnel junctions for the deployment of
# neuromorphic hardware for edge computing): one free layer, RL 1 along x reads the activation
# (tanh from m_x), RL 2 along z its gradient (sech^2 from m_z^2); a field line's field along x
# is the input, and the layer must stay in the x-z plane (its "appropriate anisotropy
# design"). The paper prints no numbers, so: paper 000's CoFeB (M_s, alpha, t_FL; paper
# 003 builds on the same CoFeB-MgO data, its refs. 31-34); a 60 x 20 nm footprint, whose shape
# makes y hard (c_z - c_y = 121 mT against c_z - c_x = 34 mT, <m_y^2> < 0.02); and K_bulk for
# 8 kT between +-z through x, where the tanh fit of <m_x> and the sech^2 fit of <m_z^2> share
# one slope (quadrature: 1.315 against 1.322; at 4 kT 1.30 against 1.03, at 16 kT 1.29
# against 1.45): K_i = 1.146 mJ/m^2 (paper 000's 1.286 less 11 %, K_bulk = 0).
_MTJ_003_SHAPE = Macrospin(
    name="mtj-003", description="", ms=1.58 / MU0, alpha=0.0122, thickness=1.3e-9,
    length_x=60e-9, length_y=20e-9, k_bulk=0.0, k_interface=1.286e-3, torque="stt",
    polarisation=0.4, paper="003", reference_axis="x",
    default_dt=5e-12)  # gamma c_zy dt = 0.11 rad; Boltzmann +0.3 % (2.5 ps: -0.1 %)
MTJ_003 = dataclasses.replace(
    _MTJ_003_SHAPE, k_interface=in_plane_k_interface(_MTJ_003_SHAPE, 8.0),
    description="paper 003's two-polariser MTJ: CoFeB 60 x 20 x 1.3 nm held in the x-z plane, "
    "8 kT between +-z; RL 1 (x) reads tanh, RL 2 (z) reads sech^2; input: a field line along x")

PRESETS: dict[str, Macrospin] = {
    p.name: p
    for p in (
        MTJ_000,
        MTJ_000.with_barrier(15.0, "mtj-000-15kT"),
        MTJ_000.with_barrier(7.5, "mtj-000-7.5kT"),
        SOT_000,
        MTJ_000_VCMA,
        VCMA_004,
        MTJ_003,
    )
}


def macrospin_preset(name: str) -> Macrospin:
    """The named preset, refused with the allowed names when unknown."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"preset = {name!r} is unknown; allowed: {', '.join(PRESETS)}") from None


def macrospin_presets() -> list[dict]:
    """Each preset (``hil simulate presets``, ``hil.macrospin_presets``) with its paper,
    torque, barrier (kT), anisotropy field (T), critical current (A), default step (s) and
    what it models: the names the LLGS simulations and banks take."""
    return [{"name": name, "paper": device.paper, "barrier_kT": device.barrier(),
             "h_k": device.h_k(), "i_c0": device.critical_current(), "torque": device.torque,
             "default_dt": device.default_dt, "description": device.description}
            for name, device in PRESETS.items()]

"""Thermally activated switching of paper 002's SOT Hall bars (Ta/CoFeB/MgO).

A write pulse of width t switches a bar with probability

    P_sw(I) = 1 - exp(-t / tau(I)),   tau(I) = tau0 * exp(Delta * (1 - I / I_c0)^n)

(Neel-Brown escape over a barrier lowered by the current). With n = 2 this is the
escape rate of a uniaxial particle whose effective field (here the damping-like SOT
field, made deterministic in sign by the in-plane field H_x of paper 002 Fig. 2a)
lies along the easy axis.

The in-plane field is what makes the damping-like torque switch a perpendicular magnet
at all (Liu et al., Science 336, 555 (2012)): the torque drives the magnetisation
through the plane and H_x decides on which side it falls. Paper 002 applies 200 Oe
along the current for every measurement (Fig. 2a). Here the current acts through an
effective drive I_eff = I * h, h = clip(H_x / H_SATURATION, -1, 1): with no field
nothing is driven (only the zero-current thermal rate remains), below the saturating
field a larger current is needed (the depinning drive of a chiral wall grows with H_x,
Lee et al., PRB 89, 024418 (2014)), and the sign of H_x sets the polarity: I * H_x > 0
writes -1 -> +1, I * H_x < 0 writes +1 -> -1. The drive saturates at 50 Oe, the order of
the chiral (DMI) field of Ta/CoFeB/MgO; the paper's 200 Oe is well above it, so the
calibrated curves are those at h = 1. The paper's 100 us pulses are eight orders of magnitude
longer than an LLGS time step, so this closed form replaces dynamics (DESIGN.md).

A device is specified the way a lab sees it, by the 50 % current ``I_bias`` and the
programming window (0.01 %-99.9 %, paper 002 SI S6) at the calibration pulse width;
``from_targets`` solves for ``I_c0`` and ``Delta`` exactly. Everything else (the
curve at other pulse widths, read disturb, retention) then follows from physics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

P_WINDOW_LOW = 1e-4  # paper 002 SI S6: window from 0.01 % ...
P_WINDOW_HIGH = 0.999  # ... to 99.9 % switching probability
TAU0 = 1e-9  # s, attempt time, the usual 1 ns for thin-film nanomagnets
EXPONENT = 2.0  # barrier exponent n (field along the easy axis)
OPERATING_FIELD = 0.02  # T, paper 002's 200 Oe in-plane field along the current (Fig. 2a)
H_SATURATION = 0.005  # T (50 Oe), field from which the current's drive is full


def field_drive(field_x: float | np.ndarray) -> np.ndarray:
    """Signed drive fraction h = clip(H_x / H_SATURATION, -1, 1) of the in-plane field."""
    return np.clip(np.asarray(field_x, dtype=float) / H_SATURATION, -1.0, 1.0)


def switch_target(current: float, field_x: float) -> int:
    """The state a current pushes towards under field H_x: sign(I * H_x); 0 when nothing
    is driven (no current or no field)."""
    return int(np.sign(current) * np.sign(field_x))


def _escape_exponent(p: np.ndarray | float, pulse_width: float, tau0: float) -> np.ndarray:
    """Barrier height x (in kT) at which a pulse of this width switches with probability p."""
    return np.log(pulse_width / tau0) - np.log(-np.log1p(-np.asarray(p, dtype=float)))


@dataclass(frozen=True)
class HallBars:
    """A population of Hall bars, one entry per device (arrays of shape (n,)).

    ``i_c0``: zero-temperature critical current (A); ``delta``: zero-current barrier
    (units of kT); ``r_ahe``: half the anomalous-Hall step, R(+1) - R(-1) = 2 r_ahe
    (ohm); ``r_offset``: the Hall cross's geometric offset resistance (ohm).
    """

    i_c0: np.ndarray
    delta: np.ndarray
    r_ahe: np.ndarray
    r_offset: np.ndarray
    tau0: float = TAU0
    exponent: float = EXPONENT

    def __post_init__(self) -> None:
        for name in ("i_c0", "delta", "r_ahe", "r_offset"):
            object.__setattr__(self, name, np.atleast_1d(np.asarray(getattr(self, name), float)))
        if np.any(self.i_c0 <= 0) or np.any(self.delta <= 0):
            raise ValueError("i_c0 and delta must be positive for every device")

    def __len__(self) -> int:
        return self.i_c0.shape[0]

    def switch_rate(
        self, currents: np.ndarray, field_x: float | np.ndarray = OPERATING_FIELD
    ) -> np.ndarray:
        """Escape rate 1/tau(I) (1/s) towards the state sign(I * H_x) (module docstring)."""
        # the formula, its steps in place: the same numbers, in half the time on a
        # (T, batch, neurons) array (a drive that broadcasts wider is copied once)
        drive = np.asarray(np.multiply(np.asarray(currents, dtype=float), field_drive(field_x)))
        np.abs(drive, out=drive)
        whole = drive.shape == np.broadcast_shapes(drive.shape, self.i_c0.shape)
        drive = np.divide(drive, self.i_c0, out=drive if whole else None)
        np.subtract(1.0, drive, out=drive)
        np.clip(drive, 0.0, 1.0, out=drive)
        drive **= self.exponent
        np.multiply(-self.delta, drive, out=drive)
        np.exp(drive, out=drive)
        drive /= self.tau0
        return drive

    def p_switch(
        self, currents: np.ndarray, pulse_width: float,
        field_x: float | np.ndarray = OPERATING_FIELD,
    ) -> np.ndarray:
        """Probability that a pulse of ``currents`` (..., n) moves each device into the
        state sign(I * H_x): at paper 002's +200 Oe, I > 0 writes -1 -> +1 and I < 0
        writes +1 -> -1; with the field reversed, the same pulses write the other way."""
        rate = self.switch_rate(currents, field_x)
        np.multiply(-pulse_width, rate, out=rate)
        np.expm1(rate, out=rate)
        return np.negative(rate, out=rate)

    def current_at(self, p: float, pulse_width: float) -> np.ndarray:
        """The write current that switches each device with probability p."""
        x = _escape_exponent(p, pulse_width, self.tau0)
        return self.i_c0 * (1.0 - (np.clip(x, 0, None) / self.delta) ** (1.0 / self.exponent))

    def i_bias(self, pulse_width: float) -> np.ndarray:
        """50 % current (paper 002 Eq. 2)."""
        return self.current_at(0.5, pulse_width)

    def window(self, pulse_width: float) -> np.ndarray:
        """Programming window: current span from 0.01 % to 99.9 % switching (SI S6)."""
        return self.current_at(P_WINDOW_HIGH, pulse_width) - self.current_at(
            P_WINDOW_LOW, pulse_width
        )

    def resistance(self, states: np.ndarray) -> np.ndarray:
        """Anomalous-Hall resistance R_AHE for states +1 / -1 (paper 002 Eq. 6)."""
        return self.r_offset + self.r_ahe * np.asarray(states, dtype=float)

    def select(self, index: np.ndarray | slice | int) -> HallBars:
        """A sub-population (e.g. the devices behind some neurons)."""
        pick = np.atleast_1d(np.arange(len(self))[index])
        return HallBars(
            self.i_c0[pick], self.delta[pick], self.r_ahe[pick], self.r_offset[pick],
            self.tau0, self.exponent,
        )

    @classmethod
    def from_targets(
        cls,
        i_bias: np.ndarray | float,
        window: np.ndarray | float,
        pulse_width: float,
        r_ahe: np.ndarray | float,
        r_offset: np.ndarray | float = 0.0,
        tau0: float = TAU0,
        exponent: float = EXPONENT,
    ) -> HallBars:
        """Devices whose 50 % current and programming window at ``pulse_width`` are the
        given ones. With a_p = x_p^(1/n) and u = Delta^(-1/n), I_p = I_c0 (1 - u a_p), so
        window / I_bias = u (a_low - a_high) / (1 - u a_mid) is solved for u in closed form."""
        i_bias = np.atleast_1d(np.asarray(i_bias, float))
        window = np.atleast_1d(np.asarray(window, float))
        x_low, x_mid, x_high = _escape_exponent(
            [P_WINDOW_LOW, 0.5, P_WINDOW_HIGH], pulse_width, tau0
        )
        if x_high <= 0:
            raise ValueError(
                f"pulse_width {pulse_width:g} s is too short for a thermally activated "
                f"window with tau0 = {tau0:g} s (need >= {10 * tau0:g} s)"
            )
        a_low, a_mid, a_high = (x ** (1.0 / exponent) for x in (x_low, x_mid, x_high))
        ratio = window / i_bias
        u = ratio / (a_low - a_high + ratio * a_mid)
        delta = u ** (-exponent)
        i_c0 = i_bias / (1.0 - u * a_mid)
        n = i_bias.shape[0]
        return cls(
            i_c0, delta, np.broadcast_to(r_ahe, n).copy(), np.broadcast_to(r_offset, n).copy(),
            tau0, exponent,
        )

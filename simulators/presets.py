"""Hall-bar presets for paper 002's nine bar widths, and device-to-device variation.

Paper 002 gives trends and two numbers, not a table. Each preset number below comes from
one of its constraints (tests/simulators/test_presets.py checks every one):

- Linearity (Fig. 3a-b, SI S7): I_bias(w) = I_BIAS_SLOPE * w + I_BIAS_INTERCEPT and
  window(w) = WINDOW_SLOPE * w + WINDOW_INTERCEPT, both straight lines with positive
  intercepts. The four coefficients are fixed by the four anchors that follow.
- Scale: I_bias = 0.3 mA at 0.5 um (``ANCHOR_BIAS``), a switching density of 1e11 A/m^2
  at 100 us through the conducting Ta(5 nm)/CoFeB(1 nm) of 0.5 um x 6 nm (Methods 4.1),
  the usual order for SOT switching of Ta/CoFeB/MgO with ~200 Oe in-plane field.
- Energy (Fig. 3d: 50x less synaptic read energy at 0.3 um than at 5 um): I0 = G0 V0
  (Eq. 4-5) at a fixed G0 makes the read energy ~ V0^2 ~ I0^2, so I0 (and the window,
  16.1 I0 for a logistic curve, SI S6) is sqrt(50) = 7.07x larger at 5 um than at 0.3 um
  (``ENERGY_RATIO``). That, not a window proportional to width (16.7x, 280x energy), is
  what the paper's number asks for; hence the window's positive intercept.
- Tolerance (Fig. 3c: wider bars tolerate a bias variation eta better): eta shifts a
  device's curve by eta * I_bias / I0 in units of I0, so I_bias / I0 must fall with width.
  ``RELATIVE_WINDOW`` = window / I_bias is 0.30 at 0.3 um and 0.50 at 5 um (I_bias / I0 ~
  54 -> 32). Physically: a wide bar reverses through the first of many nucleation sites
  whose barriers spread, so its curve is relatively broader (a smaller effective barrier
  Delta, 69 kT -> 40 kT) than a narrow bar's. The 5 um end is bounded by retention and read
  disturb (Delta >= 38 kT keeps a state for over a year at zero current), the 0.3 um end
  by the intercept the I_bias line may have (I_BIAS_INTERCEPT < I_bias(0.3 um)).
- Read disturb (Methods 4.3, 50 uA / 500 ms reads that must not switch a device): what
  varies from device to device is the switching current scale I_c0 (the heavy metal's
  cross-section and spin-Hall efficiency), I_c0_i = I_c0 (1 + eta x), x ~ U[-1, 1]
  (paper 002 Eq. 3). I_bias and window then both scale by (1 + eta x) - Fig. 3b shows the
  window varying by up to 25 % like the bias - and the barrier Delta, which sets retention
  and disturb, stays that of the width. A chip drawn with eta = 25 % then has every device
  disturbed with P < 1e-6 per read. Varying the window independently by 25 % (as before)
  would give some devices a window of 0.83 I_bias, Delta ~ 22 kT, and reads that switch them;
  ``eta_window`` (default 0) remains for a separate relative-window spread.
- ``R_AHE`` = 1.5 ohm half-step, ``R_OFFSET`` = 0.2 ohm: typical anomalous-Hall signal of a
  1 nm CoFeB Hall cross; 5 % device spread in R_AHE (lithography).
- ``MAX_PER_BIAS`` = 2.5: the safe limit against electromigration/heating of the thin Ta,
  2.5 x the nominal I_bias; the reset pulse uses ``RESET_PER_BIAS`` = 2 x I_bias, above
  I_c0 for the nominal device and certain (P > 1 - 1e-12) for every eta <= 25 % device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.hallbar import HallBars

BAR_WIDTHS = (0.3e-6, 0.5e-6, 0.7e-6, 0.9e-6, 1.0e-6, 1.5e-6, 2.0e-6, 2.5e-6, 5.0e-6)  # m
WIDTH_RANGE = (BAR_WIDTHS[0], BAR_WIDTHS[-1])
CALIBRATION_PULSE_WIDTH = 100e-6  # s, write pulse of paper 002
ANCHOR_WIDTH, ANCHOR_BIAS = 0.5e-6, 0.3e-3  # m, A: 1e11 A/m^2 through 0.5 um x 6 nm
ENERGY_RATIO = 50.0  # Fig. 3d: read energy at 5 um / at 0.3 um
RELATIVE_WINDOW = (0.30, 0.50)  # window / I_bias at 0.3 um and at 5 um (Fig. 3c, retention)
MAX_PER_BIAS = 2.5
RESET_PER_BIAS = 2.0
R_AHE = 1.5  # ohm
R_OFFSET = 0.2  # ohm
R_AHE_SPREAD = 0.05


def _lines() -> tuple[float, float, float, float]:
    """(I_bias slope, intercept, window slope, intercept) from the anchors above."""
    w_lo, w_hi = WIDTH_RANGE
    window_ratio = np.sqrt(ENERGY_RATIO)  # window(5 um) / window(0.3 um)
    bias_ratio = window_ratio * RELATIVE_WINDOW[0] / RELATIVE_WINDOW[1]
    # I_bias(w) = s (w + a): bias_ratio = (w_hi + a) / (w_lo + a)
    a = (w_hi - bias_ratio * w_lo) / (bias_ratio - 1.0)
    bias_slope = ANCHOR_BIAS / (ANCHOR_WIDTH + a)
    window_lo = RELATIVE_WINDOW[0] * bias_slope * (w_lo + a)
    window_hi = RELATIVE_WINDOW[1] * bias_slope * (w_hi + a)
    window_slope = (window_hi - window_lo) / (w_hi - w_lo)
    return bias_slope, bias_slope * a, window_slope, window_lo - window_slope * w_lo


I_BIAS_SLOPE, I_BIAS_INTERCEPT, WINDOW_SLOPE, WINDOW_INTERCEPT = _lines()  # A/m, A, A/m, A


@dataclass(frozen=True)
class HallBarPreset:
    """Nominal device of one bar width (SI units)."""

    width: float
    i_bias: float
    window: float
    pulse_width: float
    max_current: float
    reset_current: float

    @property
    def name(self) -> str:
        """The preset's name, ``hallbar-<width in um>um``."""
        return f"hallbar-{self.width * 1e6:g}um"

    def nominal(self) -> HallBars:
        """One device whose 50 % current and programming window are exactly the preset's (no
        device-to-device variation), with the typical R_AHE and offset."""
        return HallBars.from_targets(self.i_bias, self.window, self.pulse_width, R_AHE, R_OFFSET)

    def draw(
        self, n: int, eta: float, eta_window: float, rng: np.random.Generator
    ) -> HallBars:
        """``n`` devices with I_c0_i = I_c0 (1 + eta x), x ~ U[-1, 1] (paper 002 Eq. 3): I_bias
        and window both scale by (1 + eta x) at the width's barrier; ``eta_window`` adds an
        independent relative-window spread (1 + eta_window y), which lowers some barriers
        (module docstring: keep it 0 for disturb-free reads)."""
        check_fraction("eta", eta)
        check_fraction("eta_window", eta_window)
        x = rng.uniform(-1.0, 1.0, n)
        y = rng.uniform(-1.0, 1.0, n)
        r = rng.uniform(-1.0, 1.0, n)
        scale = 1.0 + eta * x
        return HallBars.from_targets(
            self.i_bias * scale,
            self.window * scale * (1.0 + eta_window * y),
            self.pulse_width,
            R_AHE * (1.0 + R_AHE_SPREAD * r),
            R_OFFSET,
        )


def check_fraction(field: str, value: float) -> None:
    """Refuse a fraction (a variation such as eta) outside [0, 1), naming the field."""
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{field} = {value:g} is outside the allowed range [0, 1)")


def hall_bar_preset(width: float) -> HallBarPreset:
    """The nominal Hall bar of a given width (m), 0.3-5 um as in paper 002."""
    lo, hi = WIDTH_RANGE
    if not lo * (1 - 1e-9) <= width <= hi * (1 + 1e-9):
        raise ValueError(
            f"width = {width * 1e6:g} um is outside the allowed range "
            f"[{lo * 1e6:g}, {hi * 1e6:g}] um (paper 002's bars)"
        )
    i_bias = I_BIAS_SLOPE * width + I_BIAS_INTERCEPT
    return HallBarPreset(
        width=width,
        i_bias=i_bias,
        window=WINDOW_SLOPE * width + WINDOW_INTERCEPT,
        pulse_width=CALIBRATION_PULSE_WIDTH,
        max_current=MAX_PER_BIAS * i_bias,
        reset_current=RESET_PER_BIAS * i_bias,
    )

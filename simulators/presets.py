"""Hall-bar presets for paper 002's nine bar widths, and device-to-device variation.

Paper 002 gives trends, not a table: I_bias and the programming window both grow
linearly with bar width (Fig. 3a-b, confirmed by its macrospin simulation, SI S7), the
sigmoid of each device is steep compared to its bias (Fig. 2c-k), and I_bias varies
from device to device by up to 25 % with no trend in width (Fig. 3b, Eq. 3). The numbers
chosen here, each with its reason:

- ``SWITCHING_CURRENT_DENSITY`` = 1.0e11 A/m^2 at 100 us through the conducting
  cross-section: the usual order for SOT switching of Ta/CoFeB/MgO with a ~200 Oe
  in-plane field. With a constant density, I_bias is proportional to width.
- ``CONDUCTING_THICKNESS`` = 6 nm: Ta (5 nm) + CoFeB (1 nm) of the stack (Methods 4.1);
  the Ta cap is oxidised/resistive and carries little current.
  Together: I_bias = 0.6 mA per um of width (0.3 mA at 0.5 um, 3 mA at 5 um).
- ``WINDOW_PER_BIAS`` = 0.4: window = 0.4 I_bias, so I_bias / I0 ~ 40 (the window spans
  ln(0.999/0.001) + ln(0.9999/0.0001) = 16.1 I0). This makes the barrier Delta ~ 50 kT: a
  bar keeps its state for years and paper 002's 50 uA read (Methods 4.3) disturbs it with
  probability < 1e-6 per 500 ms read, as the paper requires. A constant ratio keeps the
  window proportional to width too.
- ``R_AHE`` = 1.5 ohm half-step, ``R_OFFSET`` = 0.2 ohm: typical anomalous-Hall signal of a
  1 nm CoFeB Hall cross; 5 % device spread in R_AHE (lithography).
- ``MAX_CURRENT_DENSITY`` = 2.5e11 A/m^2: the safe limit (2.5 x I_bias nominal) against
  electromigration/heating of the thin Ta; the reset pulse uses 2 x I_bias, which switches
  back with certainty (P > 1 - 1e-12).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulators.hallbar import HallBars

BAR_WIDTHS = (0.3e-6, 0.5e-6, 0.7e-6, 0.9e-6, 1.0e-6, 1.5e-6, 2.0e-6, 2.5e-6, 5.0e-6)  # m
WIDTH_RANGE = (BAR_WIDTHS[0], BAR_WIDTHS[-1])
CALIBRATION_PULSE_WIDTH = 100e-6  # s, write pulse of paper 002
SWITCHING_CURRENT_DENSITY = 1.0e11  # A/m^2
CONDUCTING_THICKNESS = 6e-9  # m
WINDOW_PER_BIAS = 0.4
MAX_CURRENT_DENSITY = 2.5e11  # A/m^2
RESET_PER_BIAS = 2.0
R_AHE = 1.5  # ohm
R_OFFSET = 0.2  # ohm
R_AHE_SPREAD = 0.05


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
        return f"hallbar-{self.width * 1e6:g}um"

    def nominal(self) -> HallBars:
        return HallBars.from_targets(self.i_bias, self.window, self.pulse_width, R_AHE, R_OFFSET)

    def draw(
        self, n: int, eta: float, eta_window: float, rng: np.random.Generator
    ) -> HallBars:
        """``n`` devices with I_bias_i = I_bias (1 + eta x), x ~ U[-1, 1] (paper 002 Eq. 3),
        and the window varied the same way with its own ``eta_window``."""
        check_fraction("eta", eta)
        check_fraction("eta_window", eta_window)
        x = rng.uniform(-1.0, 1.0, n)
        y = rng.uniform(-1.0, 1.0, n)
        r = rng.uniform(-1.0, 1.0, n)
        return HallBars.from_targets(
            self.i_bias * (1.0 + eta * x),
            self.window * (1.0 + eta_window * y),
            self.pulse_width,
            R_AHE * (1.0 + R_AHE_SPREAD * r),
            R_OFFSET,
        )


def check_fraction(field: str, value: float) -> None:
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
    area = width * CONDUCTING_THICKNESS
    i_bias = SWITCHING_CURRENT_DENSITY * area
    return HallBarPreset(
        width=width,
        i_bias=i_bias,
        window=WINDOW_PER_BIAS * i_bias,
        pulse_width=CALIBRATION_PULSE_WIDTH,
        max_current=MAX_CURRENT_DENSITY * area,
        reset_current=RESET_PER_BIAS * i_bias,
    )

"""Joule heating of a Hall bar between pulses: how much of the reset pulse's heat is still in
the bar when the write pulse starts, and how much that lowers the switching barrier.

A lumped thermal model of a bar of width w on thermal oxide over silicon (the usual stack of
paper 002, Islam et al., "Hardware in Loop Learning with Spin Stochastic Neurons", Methods
4.1: Ta(5 nm)/CoFeB(1 nm)/MgO on Si/SiO2). The numbers are textbook values, not measured on
paper 002's chips (the paper does not discuss heating):

- the write channel's resistance R = rho t^-1 (L / w), beta-Ta resistivity ``RHO_TA`` =
  190 uOhm cm over ``METAL_THICKNESS`` = 6 nm, ``SQUARES`` = L / w = 3 squares between
  the write contacts of a Hall cross;
- heat leaves through the oxide under the bar: R_th = t_ox / (k_ox A), with
  ``OXIDE`` = 300 nm and k_ox = 1.4 W/(m K) and the silicon below as heat sink; the heat
  spreads at 45 degrees through the oxide, so A = (w + t_ox)(L + t_ox), not w L (which
  matters for bars not much wider than the oxide is thick);
- the oxide's heat capacity c_v = 1.6 MJ/(m^3 K) over half its thickness gives the time
  constant tau = R_th C_th = c_v t_ox^2 / (2 k_ox) = 51 ns, the same for every width.

At paper 002's 0.5 um bar, a reset pulse of 2 I_bias = 0.6 mA (2e11 A/m^2) heats the bar
by P R_th = 51 K while it lasts (79 K at 0.3 um, 12 K at 5 um); the heat decays as
exp(-gap / tau). A cycle that waits a
pulse width (100 us, spinhil's hardware-timed cycle) or longer between reset and write
keeps exp(-2000) of it: nothing. Only a cycle that writes within a few tau of its reset
(tens to hundreds of nanoseconds) writes a warmer bar. The thermal-activation barrier
Delta = E_b / k_B T then falls as T / (T + dT) (the fall of M_s with temperature, which
lowers E_b too, is left out, so this is a lower bound on the effect).
"""

from __future__ import annotations

import numpy as np

from simulators.hallbar import HallBars

ROOM_TEMPERATURE = 300.0  # K
RHO_TA = 190e-8  # ohm m, beta-Ta
METAL_THICKNESS = 6e-9  # m, Ta(5 nm) + CoFeB(1 nm)
SQUARES = 3.0  # channel length / width between the write contacts
OXIDE = 300e-9  # m, thermal SiO2 under the bar
K_OXIDE = 1.4  # W/(m K)
C_OXIDE = 1.6e6  # J/(m^3 K)


def thermal_time_constant() -> float:
    """tau = c_v t_ox^2 / (2 k_ox) (s): independent of the bar's width."""
    return C_OXIDE * OXIDE**2 / (2.0 * K_OXIDE)


def steady_heating(current: float | np.ndarray, width: float) -> np.ndarray:
    """Temperature rise (K) of a bar carrying ``current`` long enough to reach steady state:
    P R_th with P = I^2 rho SQUARES / t and R_th = t_ox / (k_ox (w + t_ox)(SQUARES w + t_ox))."""
    power = np.asarray(current, float) ** 2 * RHO_TA * SQUARES / METAL_THICKNESS
    area = (width + OXIDE) * (SQUARES * width + OXIDE)
    return power * OXIDE / (K_OXIDE * area)


def residual_heating(current: float | np.ndarray, width: float, pulse_width: float,
                     gap: float) -> np.ndarray:
    """Temperature rise (K) left when the next pulse starts ``gap`` after a pulse of
    ``current`` and ``pulse_width`` ends."""
    tau = thermal_time_constant()
    return (steady_heating(current, width) * -np.expm1(-pulse_width / tau)
            * np.exp(-gap / tau))


def heated(devices: HallBars, rise: float | np.ndarray) -> HallBars:
    """The same bars written ``rise`` kelvin above room temperature: Delta T / (T + dT)."""
    factor = ROOM_TEMPERATURE / (ROOM_TEMPERATURE + np.asarray(rise, float))
    return HallBars(devices.i_c0, devices.delta * factor, devices.r_ahe, devices.r_offset,
                    devices.tau0, devices.exponent)

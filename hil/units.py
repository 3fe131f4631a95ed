"""The one place where human units (mA, us, um, Oe) become SI, via pint."""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _registry():
    import pint

    return pint.UnitRegistry()


def parse_quantity(value: Any, si_unit: str, default_unit: str) -> float:
    """``value`` in SI ``si_unit``: a number is taken in ``default_unit``; a string may carry
    its own unit ("0.5um", "30 ns", "5uA"). Refuses a unit of the wrong dimension."""
    ureg = _registry()
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, int | float):
        return float(ureg.Quantity(value, default_unit).to(si_unit).magnitude)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a quantity")
    try:
        quantity = ureg.Quantity(value.strip())
    except Exception:
        raise ValueError(f"{value!r} is not a quantity like '0.5{default_unit}'") from None
    if quantity.dimensionless:
        quantity = ureg.Quantity(float(quantity.magnitude), default_unit)
    try:
        return float(quantity.to(si_unit).magnitude)
    except Exception:
        raise ValueError(f"{value!r} is not in units of {si_unit}") from None


def parse_field(field: str, value: Any, si_unit: str, default_unit: str) -> float:
    """``parse_quantity`` for user input: a bad value names the field (ConfigError)."""
    from hil.errors import ConfigError

    try:
        return parse_quantity(value, si_unit, default_unit)
    except ValueError as err:
        raise ConfigError(field, str(err)) from None

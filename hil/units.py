"""The one place where human units (mA, us, um, Oe) become SI, via pint.

Every current, field and time a user types carries its unit: a bare number is refused
with a message naming the expected unit (``0.3`` might be mA, uA or A: a unit slip must
never become a calibration). Limit errors are given back in the unit the user typed.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

# "30ns", "8 uA", "0V": a number, an SI prefix and the SI unit itself need no unit registry
# (importing pint and building one costs about a second of a command's start)
_PREFIXES = {"p": 1e-12, "n": 1e-9, "u": 1e-6, "\u00b5": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3,
             "M": 1e6, "G": 1e9}
_PLAIN = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
                    r"([pnu\u00b5mkMG]?)([A-Za-z]+)\s*")


def _plain_si(value: str, si_unit: str) -> float | None:
    """The value of a plain prefixed-SI string (as pint converts it, then as the decimal it
    stands for), else None."""
    match = _PLAIN.fullmatch(value)
    if match is None or match.group(3) != si_unit:
        return None
    return _decimal(float(match.group(1)) * _PREFIXES[match.group(2)])


@lru_cache(maxsize=1)
def _registry():
    import pint

    return pint.UnitRegistry()


def parse_quantity(value: Any, si_unit: str, default_unit: str,
                   require_unit: bool = False) -> float:
    """``value`` in SI ``si_unit``: a string may carry its own unit ("0.5um", "30 ns",
    "5uA"); a bare number is taken in ``default_unit`` unless ``require_unit``, when it is
    refused. Refuses a unit of the wrong dimension."""
    if isinstance(value, str) and (plain := _plain_si(value, si_unit)) is not None:
        return plain
    ureg = _registry()
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, int | float):
        if require_unit:
            raise ValueError(f"{value!r} has no unit: write it with one, e.g. "
                             f"'{value}{default_unit}'")
        return _decimal(ureg.Quantity(value, default_unit).to(si_unit).magnitude)
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a quantity")
    try:
        quantity = ureg.Quantity(value.strip())
    except Exception:
        raise ValueError(f"{value!r} is not a quantity like '0.5{default_unit}'") from None
    if quantity.dimensionless:
        if require_unit:
            raise ValueError(f"{value!r} has no unit: write it with one, e.g. "
                             f"'{value.strip()}{default_unit}'")
        quantity = ureg.Quantity(float(quantity.magnitude), default_unit)
    if si_unit == "T" and quantity.check("[current] / [length]"):  # H in A/m -> mu0 H
        quantity = quantity * ureg.mu_0
    if si_unit == "T" and str(quantity.units).endswith("oersted"):  # Gaussian H: 1 Oe ~ 0.1 mT
        quantity = ureg.Quantity(float(quantity.to("oersted").magnitude) * 1e-4, "T")
    try:
        return _decimal(quantity.to(si_unit).magnitude)
    except Exception:
        raise ValueError(f"{value!r} is not in units of {si_unit}") from None


def _decimal(value: float) -> float:
    """A converted value as the decimal it stands for: "100us" is 1e-4 s, not the
    9.999999999999999e-05 a binary scale factor leaves (a width compared with another
    width, or a setting with its default, must be equal when the user wrote them equal).
    Rounded to 15 significant digits, every decimal a double holds exactly."""
    return float(f"{float(value):.15g}")


def parse_field(field: str, value: Any, si_unit: str, default_unit: str) -> float:
    """``parse_quantity`` for user input (a unit required): a bad value names the field
    (ConfigError)."""
    from hil.errors import ConfigError

    try:
        return parse_quantity(value, si_unit, default_unit, require_unit=True)
    except ValueError as err:
        raise ConfigError(field, str(err)) from None


def typed_unit(value: Any, default_unit: str) -> str:
    """The unit a user wrote ("700uA" -> "uA"), or ``default_unit``."""
    if isinstance(value, str):
        try:
            quantity = _registry().Quantity(value.strip())
        except Exception:
            return default_unit
        if not quantity.dimensionless:
            return format(quantity.units, "~").replace("µ", "u")
    return default_unit


def in_unit(value_si: float, si_unit: str, unit: str) -> float:
    """An SI value expressed in ``unit`` (for messages and tables)."""
    ureg = _registry()
    return float(ureg.Quantity(value_si, si_unit).to(unit.replace("u", "µ", 1)
                                                   if unit.startswith("u") else unit).magnitude)


def check_range(field: str, typed: Any, value_si: float, low: float, high: float,
                si_unit: str, default_unit: str) -> float:
    """Refuse ``value_si`` outside [low, high] with the range in the unit the user typed."""
    from instruments.limits import LimitError

    if not low <= value_si <= high:
        unit = typed_unit(typed, default_unit)
        shown = [in_unit(v, si_unit, unit) for v in (value_si, low, high)]
        raise LimitError(f"{field} = {shown[0]:g} {unit} is outside the allowed range "
                         f"[{shown[1]:g}, {shown[2]:g}] {unit} (safety limit)")
    return value_si


def check_value(field: str, value: Any, low: float, high: float, unit: str = "",
                why: str = "", whole: bool = False) -> float:
    """A number (``whole``: a whole number) in [low, high], else ConfigError naming the
    field and the range: the check every count and physical setting of the CLI and the
    session goes through before anything is allocated or sent."""
    from hil.errors import ConfigError

    kinds = (int,) if whole else (int, float)
    shown = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ConfigError(field, f"{value!r} is not a {'whole ' if whole else ''}number")
    if not (value == value and low <= value <= high):  # NaN fails value == value
        raise ConfigError(field, f"{value:g}{shown} is outside the allowed range [{low:g}, "
                          f"{high:g}]{shown}" + (f" ({why})" if why else ""))
    return value


def refused(err: ValueError, rename: dict[str, str] | None = None):
    """A simulator's refusal (``simulators.bounds.OutOfRange``, or any ValueError) as the
    ConfigError of the field it names (``rename`` maps an argument to its flag's name)."""
    from hil.errors import ConfigError

    field = getattr(err, "field", None) or "input"
    message = str(err)
    for prefix in (f"{field} = ", f"{field}: "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return ConfigError((rename or {}).get(field, field), message)


def si_value(field: str, value: Any, si_unit: str, low: float | None = None,
             high: float | None = None, example_unit: str | None = None) -> float:
    """A physical setting given to the Python API, in SI ``si_unit``: a number (SI
    already), a pint quantity (of any registry) or a string with its unit ("0.5um"). A
    value of another kind or dimension, or outside [``low``, ``high``], is refused with a
    ConfigError naming the field and what is allowed."""
    from hil.errors import ConfigError

    example = example_unit or si_unit
    if isinstance(value, bool):
        raise ConfigError(field, f"{value!r} is not a quantity")
    if isinstance(value, int | float):
        si = float(value)
    elif hasattr(value, "to") and hasattr(value, "magnitude"):  # a pint quantity
        try:
            si = float(value.to(si_unit).magnitude)
        except Exception:
            raise ConfigError(field, f"{value} is not in units of {si_unit}") from None
    elif isinstance(value, str):
        si = parse_field(field, value, si_unit, example)
    else:
        raise ConfigError(field, f"{value!r} is not a quantity: give a number in {si_unit}, "
                          f"a pint quantity or a string such as '0.5{example}'")
    if low is None and high is None:  # the caller's own checks judge the value
        return si
    inside = (math.isfinite(si) and (low is None or si >= low)
              and (high is None or si <= high))
    if not inside:
        bounds = f"[{'-inf' if low is None else f'{low:g}'}, " \
                 f"{'inf' if high is None else f'{high:g}'}] {si_unit}"
        raise ConfigError(field, f"{si:g} {si_unit} is outside the allowed range {bounds}")
    return si

"""Units at the Python API: a physical setting is a number in SI, a pint quantity or a
string with its unit, converted by one function (``hil.units.si_value``); anything else,
another dimension, or a value out of range is refused with a ConfigError naming the field
and what is allowed."""

from __future__ import annotations

import pint
import pytest

import hil
from hil.banks.telegraph import TelegraphBank
from hil.errors import ConfigError
from hil.learn.config import TrainConfig
from hil.units import si_value

UREG = pint.UnitRegistry()  # a user's own registry


@pytest.mark.parametrize("given", [0.5e-6, "0.5um", "500 nm", UREG.Quantity(0.5, "um"),
                                   UREG.Quantity(5e-4, "mm")])
def test_every_form_of_a_width_is_the_same_si_value(given):
    config = TrainConfig(width=given).validate()
    assert config.width == pytest.approx(0.5e-6, rel=1e-12)
    assert isinstance(config.width, float)


def test_the_train_call_and_the_banks_take_quantities():
    config = TrainConfig.for_backend("telegraph", gate_voltage="50 mV",
                                     max_current=UREG.Quantity(0.6, "mA")).validate()
    assert config.gate_voltage == pytest.approx(0.05) and config.max_current == 6e-4
    assert config.to_dict()["bank"]["gate_voltage"] == pytest.approx(0.05)  # SI recorded
    bank = hil.model_bank(2, "1um", 0.1, seed=0)
    assert bank.recipe["width"] == pytest.approx(1e-6)
    with TelegraphBank("vcma-004", 2, UREG.Quantity(50, "mV"), seed=0) as telegraph:
        assert telegraph.gate_voltage == pytest.approx(0.05)


@pytest.mark.parametrize("field, given, message", [
    ("width", "0.5 s", "is not in units of m"),
    ("width", UREG.Quantity(1, "V"), "is not in units of m"),
    ("pulse_width", object(), "is not a quantity: give a number in s, a pint quantity"),
    ("max_current", "0.6", "has no unit: write it with one, e.g. '0.6mA'"),
    ("gate_voltage", True, "is not a quantity"),
])
def test_a_setting_of_the_wrong_kind_is_refused_by_name(field, given, message):
    with pytest.raises(ConfigError, match=f"^{field}: .*{message}") as refused:
        TrainConfig(**{field: given})
    assert refused.value.field == field


def test_a_value_outside_its_range_names_the_field_and_the_range():
    with pytest.raises(ConfigError, match=r"^width: 1e-05 m is outside the allowed range "
                       r"\[3e-07, 5e-06\] m"):
        si_value("width", "10um", "m", 0.3e-6, 5e-6)
    with pytest.raises(ConfigError, match=r"^pulse_width: nan s is outside the allowed "
                       r"range \[0, inf\] s"):
        si_value("pulse_width", float("nan"), "s", 0.0)
    with pytest.raises(ConfigError, match="^width: "):
        hil.model_bank(2, "1 V", 0.1)

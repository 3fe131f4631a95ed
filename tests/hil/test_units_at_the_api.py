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


def test_a_session_takes_its_settings_in_any_form(tmp_path):
    """The lab session's currents, fields, widths and cycle settings take the same forms,
    recorded in SI."""
    with hil.open_lab(devices=1, width="0.5um", store=tmp_path / "runs.sqlite") as lab:
        assert lab.description["width"] == pytest.approx(0.5e-6)
        one = lab.single_cycle(0, "0.3mA", cycle={"write_width": UREG.Quantity(10, "us"),
                                                   "read_current": "50uA"})
        stored = lab.store.get_run(one.run_id)
        assert stored.config["current"] == pytest.approx(3e-4)
        assert stored.config["cycle"]["write_width"] == pytest.approx(1e-5)
        assert stored.config["cycle"]["read_current"] == pytest.approx(5e-5)


@pytest.mark.parametrize("call, field", [
    (lambda lab: lab.single_cycle(0, "1 V"), "current"),
    (lambda lab: lab.single_cycle(0, 0.3e-3, cycle={"reset_width": "5 mA"}), "reset_width"),
    (lambda lab: lab.hysteresis(0, max_current="0.6"), "max_current"),
    (lambda lab: lab.anisotropy(0, max_field="1 A"), "max_field"),
])
def test_a_session_setting_of_the_wrong_kind_is_refused_by_name(tmp_path, call, field):
    with hil.open_lab(devices=1, store=tmp_path / "runs.sqlite") as lab:
        with pytest.raises(ConfigError, match=f"^{field}: ") as refused:
            call(lab)
        assert refused.value.field == field
        assert lab.store.list_runs() == []  # refused before anything is recorded


@pytest.mark.parametrize("call, field", [
    (lambda lab: lab.single_cycle(0, "50mA"), "current"),
    (lambda lab: lab.hysteresis(0, max_current="50mA"), "max_current"),
    (lambda lab: lab.endurance(0, current="50mA", cycles=10), "current"),
    (lambda lab: lab.anisotropy(0, max_field="5T"), "max_field"),
])
def test_every_session_method_refuses_a_value_over_the_labs_limit_the_same_way(
        tmp_path, call, field):
    """Over the lab's limits, every procedure says ConfigError naming its field (never a
    LimitError from one and a ConfigError from its sibling), and nothing is recorded."""
    with hil.open_lab(devices=1, store=tmp_path / "runs.sqlite") as lab:
        with pytest.raises(ConfigError, match=f"^{field}: ") as refused:
            call(lab)
        assert refused.value.field == field
        assert lab.store.list_runs() == []


@pytest.mark.parametrize("text", ["100us", "100 us", "0.1ms", "100e-6 s"])
def test_a_width_written_in_units_equals_the_default_it_stands_for(text):
    """'100us' is the default 100e-6 s exactly (a binary scale factor left 9.999...e-05,
    and the hardware-timed route, which needs reset and write widths equal, was refused)."""
    from hil.session.runner import cycle_config
    from protocols.cycle import CycleSettings

    assert si_value("write_width", text, "s") == CycleSettings().reset_width
    settings = CycleSettings(**cycle_config(write_width=text))
    assert settings.write_width == settings.reset_width

"""The reset-write-read cycle's settings refuse bad values when made (paper 002 Fig. 2a,
Methods 4.3), so a script that builds them directly meets the refusal the CLI and the
session meet: the same error, the same field, the same range."""

from __future__ import annotations

import math

import pytest

from hil.cli.main import main
from hil.errors import ConfigError
from hil.session.runner import CYCLE_DEFAULTS, cycle_config
from protocols.cycle import CycleSettings
from protocols.store import RunStore

# (field, a refused value, the range its message must state)
REFUSED = [
    ("reset_current", 0.5e-3, "(-inf, 0) mA"),
    ("reset_current", 0.0, "(-inf, 0) mA"),
    ("reset_width", 1e-6, "[5e-06, 500] s"),
    ("reset_width", 600.0, "[5e-06, 500] s"),
    ("write_width", 4.9e-6, "[5e-06, 500] s"),
    ("read_current", 0.0, "(0, inf) uA"),
    ("read_current", -50e-6, "(0, inf) uA"),
    ("read_nplc", 0.001, "[0.01, 10]"),
    ("read_nplc", 20, "[0.01, 10]"),
    ("interval", -1.0, "[0, 3600] s"),
    ("interval", 3601.0, "[0, 3600] s"),
]


@pytest.mark.parametrize(("field", "value", "allowed"), REFUSED)
def test_a_value_out_of_range_is_refused_when_made_naming_field_and_range(field, value,
                                                                          allowed):
    with pytest.raises(ConfigError) as refused:
        CycleSettings(**{field: value})
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")
    assert f"outside the allowed range {allowed}" in str(refused.value)


@pytest.mark.parametrize(("field", "value"), [("read_nplc", math.nan),
                                              ("write_width", math.inf),
                                              ("read_current", "50uA"),
                                              ("interval", True)])
def test_a_value_that_is_not_a_finite_number_is_refused(field, value):
    with pytest.raises(ConfigError, match=f"^{field}: .* is not a finite number"):
        CycleSettings(**{field: value})


@pytest.mark.parametrize("field", ["autozero", "verify_reset"])
def test_a_switch_is_true_or_false_only(field):
    with pytest.raises(ConfigError, match=f"^{field}: 'yes' is not True or False"):
        CycleSettings(**{field: "yes"})
    assert getattr(CycleSettings(**{field: False}), field) is False


def test_the_edges_of_each_range_are_accepted():
    edges = CycleSettings(reset_current=-1e-9, reset_width=5e-6, write_width=500.0,
                          read_current=1e-9, read_nplc=0.01, interval=3600.0)
    assert (edges.reset_width, edges.write_width, edges.read_nplc) == (5e-6, 500.0, 0.01)
    assert CycleSettings(read_nplc=10, interval=0).read_nplc == 10


def test_the_defaults_are_paper_002s_cycle():
    settings = CycleSettings()  # Methods 4.3: 100 us pulses, 50 uA read
    assert (settings.reset_width, settings.write_width, settings.read_current) == \
        (100e-6, 100e-6, 50e-6)
    assert settings.reset_current < 0
    assert cycle_config() == CYCLE_DEFAULTS


@pytest.mark.parametrize(("field", "value", "allowed"), REFUSED[::2])
def test_cycle_config_refuses_with_the_settings_own_message(field, value, allowed):
    with pytest.raises(ConfigError) as direct:
        CycleSettings(**{field: value})
    with pytest.raises(ConfigError) as through_config:
        cycle_config(**{field: value})
    assert str(through_config.value) == str(direct.value)


def test_cycle_config_refuses_an_unknown_setting():
    with pytest.raises(ConfigError, match="^write_current: not a cycle setting; allowed"):
        cycle_config(write_current=0.3e-3)


def test_the_cli_prints_the_settings_own_refusal_and_records_nothing(capsys):
    with pytest.raises(ConfigError) as direct:
        CycleSettings(reset_width=1.0e3)
    assert main(["characterise", "sweep", "--reset-width", "1000s"]) == 2
    assert f"error: {direct.value}" in capsys.readouterr().err
    assert RunStore().list_runs() == []


def test_a_protocol_cannot_be_given_settings_that_were_never_checked():
    """Frozen: settings checked when made stay checked (no field set afterwards)."""
    settings = CycleSettings()
    with pytest.raises(AttributeError):
        settings.write_width = 1e-9  # type: ignore[misc]
    assert settings.write_width == 100e-6

"""Every physical argument of the CLI refused outside its range, naming the flag's field and
the range, with exit status 2 and nothing recorded; a long legal run says its cost first."""

import pytest

from hil.cli import main
from protocols.store import RunStore


@pytest.mark.parametrize(("command", "expected"), [
    (["simulate", "psw", "--preset", "mtj-000", "--pulse-width", "30s"],
     "pulse_width: 30 s at dt = 2.5 ps is 1.2e+13 LLGS steps; allowed range (0, 50 us]"),
    (["simulate", "psw", "--preset", "mtj-000", "--pulse-width=-1ns"],
     "pulse_width: -1e-09 s is outside the allowed range (0,"),
    (["simulate", "psw", "--preset", "mtj-000", "--trials", "0"],
     "trials: 0 is outside the allowed range [1, 1000000]"),
    (["simulate", "psw", "--preset", "mtj-000", "--dt", "1s"],
     "dt: 1 s is outside the allowed range (0 s, 1 ns]"),
    (["simulate", "psw", "--preset", "mtj-000", "--dt", "100ps"],
     "dt: 100 ps exceeds the RK4 stability limit of 24.3 ps for mtj-000"),
    (["simulate", "psw", "--preset", "mtj-000", "--currents", "1A:2A:3"],
     "currents: 2 A is outside the allowed range [0 A, 15.73 mA]"),
    (["simulate", "psw", "--preset", "mtj-000", "--gate-voltage", "100V"],
     "gate_voltage: 100 V is outside the allowed range [-10 V, 10 V]"),
    (["simulate", "psw", "--preset", "mtj-000-vcma", "--gate-voltage", "9V"],
     "leaves mtj-000-vcma without a perpendicular easy axis"),
    (["simulate", "telegraph", "--llgs", "1s"], "llgs: 1 s at dt = 5 ps"),
    (["simulate", "telegraph", "--llgs", "1ns", "--trajectories", "0"],
     "trajectories: 0 is outside the allowed range [1, 4000000]"),
    (["simulate", "telegraph", "--fields=-1T:1T:3"],
     "fields: 1000 mT is outside the allowed range [-55.97, 55.97] mT"),
    (["simulate", "two-polariser", "--currents=-1A:1A:3"],
     "currents: 1000 mA is outside the allowed range"),
    (["simulate", "two-polariser", "--llgs", "--trajectories", "1"],
     "trajectories: 1 is outside the allowed range [2, 4000000]"),
    (["simulate", "two-polariser", "--llgs", "--average", "1s"], "average: 1 s is outside"),
    (["characterise", "endurance", "--current", "0.3mA", "--cycles", "0"],
     "cycles: 0 is outside the allowed range [1, 1e+06]"),
    (["characterise", "endurance", "--current", "0.3mA", "--cycles", "10000000"],
     "cycles: 1e+07 is outside the allowed range [1, 1e+06]"),
    (["characterise", "sweep", "--iterations", "0"],
     "iterations: 0 is outside the allowed range [1, 100000]"),
    (["characterise", "survey", "--iterations", "1000000"], "iterations: 1e+06 is outside"),
    (["characterise", "hysteresis", "--points", "1"], "points: 1 is outside the allowed range"),
    (["characterise", "hysteresis", "--loops", "0"], "loops: 0 is outside the allowed range"),
    (["characterise", "anisotropy", "--points", "2"], "points: 2 is outside the allowed range"),
    (["characterise", "anisotropy", "--coil-constant", "0"],
     "coil_constant: 0 T/A is outside the allowed range [0.0001, 10] T/A"),
    (["characterise", "anisotropy", "--coil-constant", "nan"], "coil_constant: nan T/A"),
    (["train", "--backend", "llgs", "--pulse-width", "1ms"],
     "pulse_width: 1 ms at dt = 2.5 ps is 4e+08 LLGS steps; allowed range (0, 50 us]"),
])
def test_a_physical_argument_out_of_range_is_refused_by_name(capsys, command, expected):
    assert main(command) == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err
    assert RunStore().list_runs() == []


def test_a_long_legal_llgs_curve_says_its_cost_short(capsys):
    """The short sibling: the cost of three 30 us pulses at 2.5 ps is said as one line by the
    checks the command runs before anything is compiled or allocated."""
    import numpy as np

    from hil.cli.simulate import costs_said
    from simulators.llgs_pulse import Pulse
    from simulators.macrospin import macrospin_preset
    from simulators.psw import check_llgs_arguments

    device = macrospin_preset("mtj-000")
    with costs_said():
        check_llgs_arguments(device, np.linspace(10e-6, 20e-6, 3), Pulse(30e-6), 1,
                             device.default_dt, 0.0)
    assert capsys.readouterr().err.startswith(
        "cost: mtj-000, 30 us pulses at dt = 2.5 ps: 12,000,800 steps x 3 trajectories")


@pytest.mark.slow
def test_a_long_legal_llgs_curve_says_its_cost_before_it_starts(capsys):
    """30 us pulses are legal; three of them at 2.5 ps take seconds, and say so first."""
    assert main(["simulate", "psw", "--preset", "mtj-000", "--pulse-width", "30us",
                 "--currents", "10uA:20uA:3", "--trials", "1"]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("cost: mtj-000, 30 us pulses at dt = 2.5 ps: 12,000,800 steps x 3 "
                          "trajectories"), err
    assert "30000 ns pulses, 1 trials per current" in out

"""The --plot figures draw from the summaries the commands print, edge cases included."""

import numpy as np
import pytest

from hil import plots
from protocols.fitting import fit_sigmoid, wilson_interval


def _is_png(path):
    return path.read_bytes()[:4] == b"\x89PNG"


def test_psw_plot_with_saturated_points(tmp_path):
    currents = np.linspace(5e-6, 25e-6, 6)
    counts = np.array([0, 0, 3, 40, 100, 100])  # P = 0 and 1: Wilson bounds touch them
    low, high = wilson_interval(counts, 100)
    fit = fit_sigmoid(currents, counts / 100, 100)
    path = plots.plot_psw(currents, counts / 100, low, high, fit, tmp_path / "p.png", "t")
    assert _is_png(path)


def test_procedure_plots(tmp_path):
    hysteresis = {"currents": [1e-4, 2e-4, -2e-4, -1e-4], "r_ahe": [-1.0, 1.0, 1.0, -1.0]}
    assert _is_png(plots.plot_hysteresis(hysteresis, tmp_path / "h.png", "t"))
    endurance = {"moving_averages": {"100": [0.5] * 101}, "p_switch": 0.5, "current": 3e-4}
    assert _is_png(plots.plot_endurance(endurance, tmp_path / "e.png", "t"))
    fields = np.linspace(-0.2, 0.2, 7)
    anisotropy = {"fields": fields.tolist(), "r_ahe": (1 - 0.5 * (fields / 0.7) ** 2).tolist(),
                  "r0": 1.0, "h_an": 0.7, "h_an_err": 0.01}
    assert _is_png(plots.plot_anisotropy(anisotropy, tmp_path / "a.png", "t"))
    nan = float("nan")
    survey = {"fits": [{"device": 0, "i_bias": 3e-4, "i_bias_err": 1e-6, "window": 1e-4,
                        "window_err": 1e-5, "usable": True},
                       {"device": 1, "i_bias": nan, "i_bias_err": nan, "window": nan,
                        "window_err": nan, "usable": False, "reason": "never crossed"}],
              "i_bias_mean": 3e-4, "i_bias_variation": 0.0, "window_mean": 1e-4,
              "window_variation": 0.0}
    assert _is_png(plots.plot_survey(survey, tmp_path / "s.png", "t"))


def test_the_psw_command_is_the_api_call_printed(tmp_path, capsys):
    """``hil simulate psw --json`` prints what ``hil.simulate_psw`` returns (same seed), and
    the call takes units in any form."""
    import json

    import hil
    from hil.cli.main import main

    result = hil.simulate_psw("mtj-000", ["20uA", 22.5e-6, "25 uA"], "1ns", trials=20, seed=3)
    assert main(["simulate", "psw", "--preset", "mtj-000", "--currents", "20uA:25uA:3",
                 "--pulse-width", "1ns", "--trials", "20", "--seed", "3", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["p_switch"] == result.summary()["p_switch"]
    assert printed["currents"] == pytest.approx(result.summary()["currents"], rel=1e-12)
    assert hil.plots.plot_psw(result.curve.currents, result.curve.p_switch, result.low,
                              result.high, result.fit, tmp_path / "p.png", "t").is_file()

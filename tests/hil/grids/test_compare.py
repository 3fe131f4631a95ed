"""``hil compare`` (hil/grids/compare.py): both protocols from one point, images drawn per
seed, independent streams per condition, tables in blocks with intervals, and the command
end to end on the real Dask engine."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from hil.banks.model import model_bank
from hil.cli import main
from hil.grids.compare import (
    DRIFT,
    METHODS,
    Experiment,
    Streams,
    compare_point,
    devices_of,
    draw_split,
    drifted,
    grid,
    paired_table,
    parse_nonideality,
    pool,
    pooled,
    verdict,
)
from protocols.store import RunStore
from simulators.presets import hall_bar_preset

TINY = Experiment(classes=(0, 1), train_per_class=4, validation_per_class=5, test_per_class=10,
                  steps=10, epochs=2, lrs=(0.5,), batches=(8, 4), fixed=(0.1, 8))


@pytest.fixture(scope="module")
def images():
    return pool(TINY)


def test_drift_moves_every_device_within_its_bound():
    bank = model_bank(200, 0.5e-6, 0.25, seed=1)
    before = bank.devices.i_bias(bank.pulse_width)
    drifted(bank, DRIFT, np.random.default_rng(0))
    change = bank.devices.i_bias(bank.pulse_width) / before - 1
    assert np.abs(change).max() <= DRIFT + 1e-12 and np.abs(change).max() > 0.9 * DRIFT


def test_each_seed_draws_its_own_disjoint_images(images):
    parts = {}
    for seed in (0, 1):
        rng = np.random.default_rng(Streams({"seed": seed, "eta": 0.0,
                                             "nonideality": "none"}).sequence(1))
        (x, y), (xv, yv), (xt, yt) = draw_split(images, TINY, rng)
        assert [len(y), len(yv), len(yt)] == [8, 10, 20]
        assert np.bincount(yt.numpy()).tolist() == [10, 10]
        rows = [set(map(bytes, v.numpy())) for v in (x, xv, xt)]
        assert not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])
        parts[seed] = rows
    assert parts[0][2] != parts[1][2]  # the held-out images differ between seeds


def test_conditions_have_their_own_streams_and_points_come_in_blocks():
    a = Streams({"seed": 3, "eta": 0.25, "nonideality": "none"})
    b = Streams({"seed": 3, "eta": 0.25, "nonideality": "drift", "amount": DRIFT})
    c = Streams({"seed": 3, "eta": 0.1, "nonideality": "none"})
    assert len({a.code, b.code, c.code}) == 3
    assert a.sequence(1).generate_state(2).tolist() != b.sequence(1).generate_state(2).tolist()
    points = grid([0.0, 0.25], 45, ["none", "drift=0.2"], block=20)
    assert len(points) == 180
    assert [p["seed"] for p in points[:20]] == list(range(20))
    assert {(p["nonideality"], p["eta"]) for p in points[:80]} == {
        ("none", 0.0), ("none", 0.25), ("drift", 0.0), ("drift", 0.25)}
    assert max(p["seed"] for p in points[:80]) == 19  # every condition's first block first
    assert points[80]["seed"] == 20 and points[-1]["seed"] == 44
    assert {p["amount"] for p in points if p["nonideality"] == "drift"} == {0.2}


def test_nonideality_specs_are_checked_by_name():
    assert parse_nonideality("drift") == ("drift", DRIFT)
    assert parse_nonideality("width=0.1") == ("width", 0.1)
    for bad in ("heat", "drift=0.9", "joule=0.1"):
        with pytest.raises(ValueError):
            parse_nonideality(bad)


def test_a_width_error_leaves_the_characterised_calibration_right():
    exp = dataclasses.replace(TINY, classes=(0, 1, 2, 3))
    point = {"seed": 0, "eta": 0.0, "nonideality": "width", "amount": 0.2}
    banks, nominal, fitted = devices_of(exp, point, Streams(point))
    true_bias = banks[0].devices.i_bias(banks[0].pulse_width)
    measured = np.array([c.i_bias for c in fitted[0]])
    # bars 20 % wider than drawn: I_bias follows the 0.6 um bar's line (Fig. 3a, with its
    # intercept), about 6 % (2.8 I0) above the 0.5 um bar the software knows
    np.testing.assert_allclose(true_bias, hall_bar_preset(0.6e-6).i_bias, rtol=1e-9)
    assert np.all(true_bias > nominal[0][0].i_bias + 2 * nominal[0][0].i0)
    np.testing.assert_allclose(measured, true_bias, rtol=0.03)


def test_both_protocols_come_from_one_point_and_a_fixed_only_point_agrees(images):
    point = {"eta": 0.25, "seed": 3, "nonideality": "drift", "amount": DRIFT}
    row = compare_point(point, TINY, images)
    for method in METHODS:
        for protocol in ("fixed", "picked"):
            assert 0.0 <= row[f"{protocol}/{method}"] <= 1.0
            assert 0.0 <= row[f"{protocol}/{method}/software_tie_break"] <= 1.0
        candidates = {c: row[f"val/{method}/{c}"] for c in ("lr0.1-b8", "lr0.5-b8",
                                                            "lr0.5-b4")}
        assert row[f"picked/{method}/choice"] in candidates
        assert row[f"picked/{method}/val"] == max(candidates.values())  # chosen on validation
    assert row == compare_point(point, TINY, images)  # seeded: devices, noise, spikes
    fixed_only = compare_point(point, TINY, images, ("fixed",))
    # each training and evaluation has its own noise stream: skipping the picked
    # protocol's trainings and evaluations changes none of the fixed protocol's numbers
    assert fixed_only == {k: v for k, v in row.items() if k.startswith("fixed/")}


def _rows(differences, seeds=None):
    seeds = seeds or range(len(differences))
    return [{"nonideality": "none", "amount": 0.0, "eta": 0.25, "seed": s,
             **{f"fixed/{m}": 0.8 for m in ("deployed-nominal", "deployed-device")},
             **{f"fixed/{m}/software_tie_break": 0.8 for m in METHODS},
             **{f"fixed/{m}/tied": 0.1 for m in METHODS},
             "fixed/hil": 0.8 + d, "fixed/hil/software_tie_break": 0.8}
            for s, d in zip(seeds, differences, strict=True)]


def test_tables_come_in_blocks_with_t_intervals_and_verdicts_need_100_seeds():
    rng = np.random.default_rng(0)
    diffs = 0.01 + 0.02 * rng.standard_normal(120)
    entries = paired_table(_rows(diffs))
    assert [(e["first"], e["last"], e["all"]) for e in entries] == [
        (0, 19, False), (20, 39, False), (40, 59, False), (60, 79, False), (80, 99, False),
        (100, 119, False), (0, 119, True)]
    mean, low, high = entries[-1]["hil - deployed-device"]
    half = stats.t.ppf(0.975, 119) * diffs.std(ddof=1) / np.sqrt(120)
    assert mean == pytest.approx(diffs.mean()) and high - mean == pytest.approx(half)
    assert entries[-1]["verdict"].startswith("HIL beats the digital twin")
    assert "verdict" not in entries[0]
    few = paired_table(_rows(diffs[:60]))
    assert few[-1]["verdict"].startswith("no verdict (60 < 100")
    assert verdict(-0.02, -0.03, -0.01, 100).startswith("the digital twin beats HIL")
    assert verdict(0.0, -0.01, 0.01, 100).startswith("no difference resolved")


def test_hil_compare_runs_a_2x2_grid_end_to_end_on_dask_resumes_and_reports(
        tmp_path, capsys, images):
    """The command behind the README's tables: 2 etas x 2 non-idealities x 2 seeds on a
    LocalCluster, each point as ``compare_point`` computes it; a resume computes nothing,
    and ``--report`` prints the where-HIL-helps table (issue 26: the grid used to crash)."""
    store = str(tmp_path / "runs.sqlite")
    argv = ["--store", store, "compare", "--seeds", "2", "--etas", "0,0.25",
            "--nonidealities", "none,width=0.2", "--epochs", "2", "--steps", "10",
            "--workers", "1", "--out", str(tmp_path), "--no-progress", "--json"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    summary = json.loads(out.strip().splitlines()[-1])
    assert not summary["failed"]
    run = RunStore(store).get_run(summary["run_id"])
    assert run.status == "finished" and len(run.config["points"]) == 8
    rows = sorted(RunStore(store).readings(summary["run_id"]), key=lambda r: r["index"])
    assert len(rows) == 8
    exp = Experiment(epochs=2, steps=10)
    point = {k: rows[5][k] for k in ("eta", "nonideality", "amount", "seed")}
    direct = compare_point(point, exp, pool(exp))
    assert {k: rows[5][k] for k in direct} == direct
    conditions = {(e["condition"], e["eta"]) for e in summary["table"]["fixed"]}
    assert conditions == {("none", 0.0), ("none", 0.25), ("width 20 %", 0.0),
                          ("width 20 %", 0.25)}
    assert "| width 20 % | 0.25 | all 2 |" in out and "no verdict (2 < 100 seeds)" in out
    assert len(Path(summary["csv"]).read_text().strip().splitlines()) == 9
    assert main(["--store", store, "compare", "--resume", str(summary["run_id"]),
                 "--workers", "1", "--out", str(tmp_path), "--no-progress"]) == 0
    assert "8 points" in capsys.readouterr().out
    assert main(["--store", store, "compare", "--report", str(summary["run_id"]),
                 "--out", str(tmp_path)]) == 0
    report = capsys.readouterr().out
    assert "Where HIL helps" in report
    assert "| paper | width 20 % | 0.25 | straight-through, unbiased | 0.1, 16 | 2 |" in report
    run_id = summary["run_id"]  # a run pooled with itself: every point once
    assert main(["--store", store, "compare", "--report", f"{run_id}+{run_id}",
                 "--out", str(tmp_path)]) == 0
    report = capsys.readouterr().out
    assert f"runs {run_id}+{run_id} pooled: 8 points" in report
    assert "| paper | width 20 % | 0.25 | straight-through, unbiased | 0.1, 16 | 2 |" in report


def test_runs_that_split_a_conditions_seeds_are_pooled_once_and_only_if_they_agree():
    rng = np.random.default_rng(1)
    diffs = 0.02 * rng.standard_normal(100)
    rows = _rows(diffs)
    config = {"experiment": "paper", "protocols": ["fixed"], "exp_steps": 100, "seeds": 60}
    later = {**config, "seeds": 60, "first_seed": 40}
    config_out, pooled_rows = pooled([(3, config, rows[:60]), (5, later, rows[40:])])
    assert [r["seed"] for r in pooled_rows] == list(range(100))  # seeds 40-59 kept once
    assert config_out["pooled"] == [3, 5]
    assert paired_table(pooled_rows)[-1]["seeds"] == 100
    changed = [dict(r) for r in rows[40:]]
    changed[0]["fixed/hil"] += 0.01
    with pytest.raises(ValueError, match="differs from the same point"):
        pooled([(3, config, rows[:60]), (5, later, changed)])
    with pytest.raises(ValueError, match="differ in exp_steps"):
        pooled([(3, config, rows[:60]), (5, {**later, "exp_steps": 50}, rows[60:])])


@pytest.mark.parametrize(("flag", "value", "field"), [
    ("--nonidealities", "none,heat", "nonidealities"),
    ("--nonidealities", "drift=0.9", "nonidealities"),
    ("--protocols", "fixed,best", "protocols"),
    ("--fixed", "0.5", "fixed"),
    ("--seeds", "1", "seeds"),
])
def test_compare_refuses_bad_settings_by_name(tmp_path, capsys, flag, value, field):
    assert main(["--store", str(tmp_path / "r.sqlite"), "compare", flag, value]) == 2
    assert field in capsys.readouterr().err


def test_a_device_whose_curve_is_a_step_in_the_sweep_is_characterised():
    """At eta = 50 % a bar can sit at half the nominal I_bias with a window narrower than the
    sweep's step: the sweep is taken again, narrower, about the step (it used to end the
    point with curve_fit's RuntimeError)."""
    exp = Experiment()
    point = {"seed": 32, "eta": 0.5, "nonideality": "none", "amount": 0.0}
    banks, _, fitted = devices_of(exp, point, Streams(point))
    true_bias = banks[0].devices.i_bias(banks[0].pulse_width)
    assert true_bias.min() < 0.6 * hall_bar_preset(exp.width).i_bias
    np.testing.assert_allclose([c.i_bias for c in fitted[0]], true_bias, rtol=0.02)

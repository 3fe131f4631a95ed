"""Lab-time estimates that come true: the estimate a sweep and a training run print at
their start (after the first batch, or the first epoch: the first time the rig's own cost
per cycle is known) against the virtual clock at their end."""

import json

import pytest

from hil.cli import main


def _last_json(capsys):
    captured = capsys.readouterr()
    return json.loads(captured.out.strip().splitlines()[-1]), captured.err


@pytest.mark.parametrize("timing", ["hardware", "software"])
def test_sweep_estimate_at_the_start_within_10_percent_of_the_clock_at_the_end(capsys,
                                                                               timing):
    iterations = 60 if timing == "hardware" else 10
    assert main(["characterise", "sweep", "--devices", "2", "--seed", "7", "--json",
                 "--currents", "0.25mA:0.35mA:6", "--iterations", str(iterations),
                 "--timing", timing]) == 0
    payload, err = _last_json(capsys)
    assert payload["timing"] == timing
    estimate, actual = payload["lab_seconds_estimate"], payload["lab_seconds"]
    assert f"estimated lab time: {estimate:.1f} s" in err  # printed when it was made
    assert abs(estimate - actual) < 0.1 * actual


def test_training_estimate_after_the_first_of_20_epochs_within_10_percent(capsys):
    # the estimate prices a held-out image at a training image's cycles (evaluation batches
    # are larger, so it runs high when the held-out set outweighs the training epochs)
    assert main(["train", "--backend", "lab", "--classes", "0,2", "--train-per-class", "2",
                 "--test-per-class", "2", "--steps", "10", "--epochs", "20", "--json",
                 "--no-progress", "--seed", "3"]) == 0
    payload, _ = _last_json(capsys)
    estimate, actual = payload["lab_seconds_estimate"], payload["lab_seconds"]
    assert abs(estimate - actual) < 0.1 * actual


def test_gui_time_left_counts_whole_batches_after_the_first():
    """The window's 'lab s to go': readings of a batch arrive together after the clock was
    charged for all of them, and the first batch carries the calibration. Four batches of
    ten cycles, the first ending at 5 s, each later one costing 1 s: the sweep ends at 8 s."""
    from types import SimpleNamespace

    from hil.gui.worker import SweepWorker

    worker = SimpleNamespace(started=0.0, _last=None, _first_batch=None, _end=None)
    left = []
    for batch in range(4):
        now = 5.0 + batch
        for k in range(10):
            done = 10 * batch + k + 1
            left.append(SweepWorker._time_left(worker, done, 40, now) + now)
    predicted_ends = left[21:]  # from the third batch on, the first batch left out
    assert predicted_ends == pytest.approx([8.0] * len(predicted_ends))

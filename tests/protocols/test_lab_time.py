"""Lab-time estimates that come true: the estimate a sweep and a training run print at
their start (a sweep after its first batch; a training run before its first epoch, from
batches dry-priced on the instruments' timing tables) against the virtual clock at their
end."""

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
                 "--timing", timing]) == 3  # recorded; too narrow to calibrate
    payload, err = _last_json(capsys)
    assert payload["timing"] == timing
    estimate, actual = payload["lab_seconds_estimate"], payload["lab_seconds"]
    assert f"estimated lab time: {estimate:.1f} s" in err  # printed when it was made
    assert abs(estimate - actual) < 0.1 * actual


def test_training_estimate_before_the_first_of_20_epochs_within_10_percent(capsys,
                                                                          monkeypatch):
    """The default held-out set (25 images per class with the lab backend: 12.5x the
    training set) is evaluated in batches of 250 cycles per device where an epoch's batch
    has 20; priced per batch and per cycle, the estimate said before the first epoch holds
    within 10 % of the clock after the 20 epochs and the evaluation."""
    import hil.learn.train as training
    from hil.learn.train import Trainer

    events = []
    run_epochs = training.run_epochs

    def counted(batches, *args, **kwargs):  # an event as each epoch draws its batches
        return run_epochs(lambda: events.append("epoch") or batches(), *args, **kwargs)

    monkeypatch.setattr(training, "run_epochs", counted)
    announce = Trainer._estimate_before_the_epochs

    def estimate(self, banks, first):
        announce(self, banks, first)
        events.append(("estimate", self.lab_seconds_estimate))

    monkeypatch.setattr(Trainer, "_estimate_before_the_epochs", estimate)
    assert main(["train", "--backend", "lab", "--classes", "0,2", "--train-per-class", "2",
                 "--steps", "10", "--epochs", "20", "--json", "--no-progress",
                 "--seed", "3"]) == 0
    payload, err = _last_json(capsys)
    estimate, actual = payload["lab_seconds_estimate"], payload["lab_seconds"]
    # then 20 epochs through the devices and the software baseline's 20 (--compare)
    assert events[0] == ("estimate", estimate) and events[1:] == ["epoch"] * 40
    assert f"estimated lab time: {estimate:.1f} s" in err  # printed when it was made
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


def test_batch_cost_fits_a_cost_per_batch_and_per_cycle():
    """seconds = per_batch x batches + per_cycle x cycles, a hardware batch holding at most
    1,024 cycles (the 2000's buffer): two sizes recover both costs exactly; a call of
    3,000 cycles is three batches."""
    from hil.banks.lab_time import BatchCost

    truth = BatchCost(0.05, 1.4e-3, 1024)
    samples = [(20, truth.seconds(20)), (250, truth.seconds(250)), (20, truth.seconds(20))]
    fitted = BatchCost.fit(samples, 1024)
    assert fitted.per_batch == pytest.approx(0.05) and fitted.per_cycle == pytest.approx(1.4e-3)
    assert fitted.seconds(3000) == pytest.approx(3 * 0.05 + 3000 * 1.4e-3)
    assert BatchCost.fit([(20, 1.0), (20, 1.1)], 1024) is None  # one size: no split


def test_the_run_corrects_the_priced_cost_with_what_its_batches_took():
    """Measured calls of one size scale the priced model to what the rig really takes;
    measured sizes 4x apart or more are fitted on their own."""
    from hil.banks.lab_time import BatchCost, current_cost

    priced_truth = BatchCost(0.04, 1.0e-3, 1024)
    priced = [(n, priced_truth.seconds(n)) for n in (20, 250)]
    unmeasured = current_cost(priced, [], 1024)
    assert (unmeasured.per_batch, unmeasured.per_cycle) == pytest.approx((0.04, 1.0e-3))
    slower = current_cost(priced, [(20, 1.1 * priced_truth.seconds(20))], 1024)
    assert slower.seconds(250) == pytest.approx(1.1 * priced_truth.seconds(250))
    rig = BatchCost(0.1, 2e-3, 1024)
    own = current_cost(priced, [(20, rig.seconds(20)), (100, rig.seconds(100))], 1024)
    assert own.seconds(1000) == pytest.approx(rig.seconds(1000))


def test_dry_pricing_leaves_the_banks_devices_alone():
    """Pricing plays its cycles on a separate virtual lab: the bank's lab clock and its
    routed device's state are exactly as before."""
    from hil.banks.calibration import nominal_calibration
    from hil.banks.lab import LabBank
    from hil.session.lab import connect_virtual
    from simulators.presets import hall_bar_preset

    nominal = nominal_calibration(hall_bar_preset(0.5e-6))
    bank = LabBank(connect_virtual(devices=2, seed=5), [0, 1], [nominal] * 2)
    try:
        bank.prepare()
        before = (bank.lab.clock.now(), json.dumps(bank.lab.device_state(), sort_keys=True))
        bank.price_lab_time([40, 500])
        after = (bank.lab.clock.now(), json.dumps(bank.lab.device_state(), sort_keys=True))
        assert after == before
        cost = bank.lab_cost()
        assert cost.per_batch > 0 and cost.per_cycle > 0
        assert bank.lab_seconds_for(500) == pytest.approx(2 * cost.seconds(500))
    finally:
        bank.close()


def test_a_range_searching_sweep_estimates_its_search_too(capsys):
    """Without --currents the sweep first searches its range (coarse pass, quick fit):
    the estimate said after the first batch of the sweep proper counts that search."""
    assert main(["characterise", "sweep", "--devices", "2", "--seed", "7", "--json",
                 "--iterations", "60", "--timing", "hardware"]) == 0
    payload, err = _last_json(capsys)
    estimate, actual = payload["lab_seconds_estimate"], payload["lab_seconds"]
    assert f"estimated lab time: {estimate:.1f} s" in err
    assert abs(estimate - actual) < 0.1 * actual


def test_a_lab_file_training_run_estimates_its_lab_time_on_a_virtual_twin():
    """Instruments named by a lab file (bench/lab/lab_time.py: a virtual lab served in its
    process, reached through the file like a real rig, no clock of its own for the run to
    read): the estimate before the first epoch prices the rig's bus and line frequency on
    a virtual twin, and the lab time it gave for the epochs and the evaluation holds within
    10 % of the served lab's clock. It is printed, and recorded with the run."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[2] / "bench" / "lab" / "lab_time.py"
    done = subprocess.run([sys.executable, str(script), "--json", "--no-sweeps"],
                          capture_output=True, text=True, check=True)
    training = json.loads(done.stdout.strip().splitlines()[-1])["training"]
    assert abs(training["said"] - training["taken"]) < 0.1 * training["taken"]
    assert "estimated lab time" in training["printed"] and "wall clock" in training["printed"]
    record = training["recorded"]
    assert record["lab_seconds_estimate"] == training["estimate"]
    assert set(record["pulses"]) == {"0", "1"} and min(record["pulses"].values()) > 0
    assert record["burst"]["line_frequency"] == 60.0

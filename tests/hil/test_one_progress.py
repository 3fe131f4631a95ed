"""One progress protocol (``protocols.progress.Progress``): a sweep, a survey and a training
run all call the same four-argument callback, so one bar, one GUI slot or one script
function serves every long call."""

from __future__ import annotations

import hil


class Seen:
    """A callback with exactly the protocol's signature (no defaults: a call with fewer
    arguments fails), keeping what each stage reported."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[int, int]]] = {}

    def __call__(self, stage, done, total, metrics) -> None:
        assert isinstance(stage, str) and isinstance(dict(metrics), dict)
        assert 0 <= done <= total
        self.calls.setdefault(stage, []).append((done, total))


def _rises_to_its_total(calls: list[tuple[int, int]]) -> bool:
    done = [d for d, _ in calls]
    return done == sorted(done) and calls[-1][0] == calls[-1][1]


def test_a_sweep_a_survey_and_a_training_run_report_through_one_protocol(tmp_path):
    seen = Seen()
    with hil.open_lab(devices=2, store=tmp_path / "runs.sqlite") as lab:
        lab.sweep(0, currents=[0.2e-3, 0.3e-3], iterations=5, progress=seen)
        lab.survey(iterations=5, progress=seen, devices=[0, 1])
    config = hil.TrainConfig(classes=[0, 1], train_per_class=4, test_per_class=4, epochs=1,
                             steps=5, seed=0)
    hil.Trainer(config, seen).run(hil.RunStore(tmp_path / "runs.sqlite"))
    assert {"sweep", "survey", "train"} <= set(seen.calls)
    assert seen.calls["sweep"][-1] == (10, 10) and _rises_to_its_total(seen.calls["sweep"])
    assert seen.calls["survey"][-1] == (2, 2) and _rises_to_its_total(seen.calls["survey"])
    assert seen.calls["train"][-1] == (1, 1)

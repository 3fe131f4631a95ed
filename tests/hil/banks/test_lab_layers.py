"""Hidden device layers on the lab: every layer's neurons are devices of one chip behind one
switch, shared out layer after layer (given, or chosen and calibrated by a survey), with one
lab clock and one closing (outputs off) for all of them."""

import numpy as np
import pytest

from hil import ConfigError, TrainConfig, Trainer
from hil.learn.train import _with_spares, build_banks, lab_seconds
from hil.session.session import Session
from protocols.store import RunStore
from protocols.survey import choose_network


def _config(**given) -> TrainConfig:
    values = dict(hidden=[3], steps=4, epochs=1, train_per_class=2, test_per_class=2,
                  batch_size=4, compare=False, timing="hardware", rereads=0)
    values.update(given)
    return TrainConfig.for_backend("lab", **values)


def test_the_layers_share_one_lab_and_its_clock(tmp_path):
    config = _config(chip=9, devices=[8, 0, 5, 1, 2, 3, 4])  # hidden 3, then 4 outputs
    config.validate()
    hidden, output = build_banks(config, store=RunStore(tmp_path / "runs.sqlite"))
    lab = hidden.innermost.lab
    assert output.innermost.lab is lab
    assert hidden.innermost.devices == [8, 0, 5] and output.innermost.devices == [1, 2, 3, 4]
    assert len(lab.virtual_lab.chip.states) == 9
    hidden.switch(np.full((5, 3), 0.2e-3))
    output.switch(np.full((5, 4), 0.2e-3))
    # one clock, counted once (two banks on it are not two labs' time)
    assert lab_seconds([hidden, output]) == pytest.approx(lab.clock.now())
    hidden.close()
    assert lab.instruments  # still connected: the output layer uses it
    output.close()
    assert not lab.instruments  # closed once the last layer closed, outputs off
    assert not lab.virtual_lab.instruments["pulse"].output


def test_a_hidden_layer_trains_on_the_chip_and_every_pulse_is_its_devices(tmp_path,
                                                                          monkeypatch):
    import hil.learn.train as train_module

    store = RunStore(tmp_path / "runs.sqlite")
    config = _config(chip=12, devices=[11, 9, 7, 0, 2, 4, 6])
    seen = {}

    def keeping_the_chip(*args, **kwargs):  # the trainer's own banks; their chip kept
        banks = build_banks(*args, **kwargs)
        seen["chip"] = banks[0].innermost.lab.virtual_lab.chip
        seen["clock"] = banks[0].innermost.lab.clock
        # the chip counts levels above the read current: pulses, not reads
        seen["chip"].pulse_floor = banks[0].innermost.settings.read_current
        return banks

    monkeypatch.setattr(train_module, "build_banks", keeping_the_chip)
    result = Trainer(config).run(store)
    run = store.get_run(result.run_id)
    assert run.status == "finished"
    banks = store.provenance(run.id)["banks"]
    assert [b["devices"] for b in banks] == [[11, 9, 7], [0, 2, 4, 6]]
    # the lab's clock once, not once a layer (its closing turns outputs off: a few ms more)
    assert run.result["lab_seconds"] == pytest.approx(seen["clock"].now(), rel=1e-2)
    assert result.lab_seconds == pytest.approx(run.result["lab_seconds"], rel=1e-3)
    recorded = {int(d): n for d, n in run.result["pulses"].items()}
    received = seen["chip"].pulses_received
    # the chip's own count, device by device: the unused ones never pulsed
    assert recorded == {d: int(received[d]) for d in recorded}
    assert all(received[d] == 0 for d in (1, 3, 5, 8, 10))
    assert all(recorded[d] > 0 for d in (11, 9, 7, 0, 2, 4, 6))


def test_a_survey_chooses_and_calibrates_the_devices(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    description = {"virtual": True, "devices": 9, "width": 0.5e-6, "seed": 0}
    with Session(description, store) as session:
        survey = session.survey(iterations=30, timing="hardware", network=7,
                                cycle={"write_width": "100us"})  # 9.999...e-05 s
    config = _config(chip=9, survey=survey.run_id, calibration="device")
    config.validate()
    banks = build_banks(config, store=store)
    try:
        expected, spares = choose_network(survey.summary["fits"], 7)
        assert [d for b in banks for d in b.innermost.devices] == expected
        # the survey's other usable devices, best first, are the run's spares
        assert spares and all(b.spares() == spares for b in banks)
        assert _with_spares(None, banks).spares == spares  # once, though both layers offer them
        runs_before = len(store.list_runs())
        for bank in banks:
            bank.measure_calibration(store)
        assert len(store.list_runs()) == runs_before  # the survey's fits: no new sweep
        fits = {f["device"]: f for f in survey.summary["fits"]}
        for bank in banks:
            assert bank.calibration_sweeps == [survey.run_id] * bank.n_neurons
            for device, calibration in zip(bank.innermost.devices, bank.calibration,
                                           strict=True):
                assert calibration.i0 == pytest.approx(fits[device]["i0"])
    finally:
        for bank in banks:
            bank.close()


def test_bad_device_choices_are_refused_by_name(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with pytest.raises(ConfigError, match="devices") as err:
        build_banks(_config(chip=9, devices=[0, 1, 2]).validate(), store=store)
    assert "need 7" in str(err.value)
    with pytest.raises(ConfigError, match="devices"):
        _config(chip=4, devices=[0, 1, 2, 3, 4, 5, 6]).validate()
    with pytest.raises(ConfigError, match="chip"):
        _config(chip=500).validate()
    with pytest.raises(ConfigError, match="survey"):
        build_banks(_config(survey=99).validate(), store=store)

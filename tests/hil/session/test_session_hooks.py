"""The session's hooks a window (or any caller with its own loop) needs: a lab it borrows,
subscribers for each reading, and a callback between batches that pauses or stops the run.
The GUI runs every procedure through these, as scripts and the CLI do."""

from __future__ import annotations

import numpy as np
import pytest

from hil.errors import ConfigError
from hil.session.lab import connect_virtual
from hil.session.runner import RunAborted
from hil.session.session import Session, lab_description
from protocols.store import RunStore


@pytest.fixture
def lab():
    connection = connect_virtual(devices=2, seed=4)
    connection.connect()
    yield connection
    connection.close()


def _session(lab, tmp_path, **hooks) -> Session:
    return Session(lab_description(None, devices=2, seed=4), tmp_path / "runs.sqlite",
                   lab=lab, **hooks)


def test_subscribers_hear_every_stored_reading_once_in_order(lab, tmp_path):
    heard, batches = [], []
    with _session(lab, tmp_path, subscribers=[heard.append],
                  between_batches=lambda: batches.append(len(heard))) as session:
        result = session.sweep(device=1, currents=[0.2e-3, 0.3e-3, 0.4e-3], iterations=5,
                               timing="software")
    stored = RunStore(tmp_path / "runs.sqlite").readings(result.run_id)
    assert len(heard) == len(stored) == 15
    assert [(r["index"], r["iteration"], r["switched"]) for r in heard] == \
        [(r["index"], r["iteration"], r["switched"]) for r in stored]
    assert batches == list(range(1, 16))  # software timing: a batch is one cycle


def test_a_borrowed_lab_stays_connected_with_its_outputs_off(lab, tmp_path):
    emulator = lab.virtual_lab.instruments["pulse"]
    with _session(lab, tmp_path) as session:
        assert session.lab is lab and not session.owns_lab
        first = session.single_cycle(device=0, current=0.7e-3)
    assert emulator.output is False
    assert lab.instruments["pulse"].ask("OUTP?").strip() == "0"  # still connected
    with _session(lab, tmp_path) as session:  # the next run on the same connection
        second = session.single_cycle(device=0, current=0.7e-3)
    assert (first.kind, first.fit, second.fit) == ("single_cycle", True, True)
    assert first.summary["r_after_write"] > first.summary["r_after_reset"]
    store = RunStore(tmp_path / "runs.sqlite")
    assert [r.status for r in store.list_runs()] == ["finished", "finished"]
    assert len(store.readings(first.run_id)) == 1


def test_a_single_cycle_beyond_the_pulse_limit_is_refused_before_any_record(lab, tmp_path):
    with _session(lab, tmp_path) as session, \
            pytest.raises(ConfigError, match=r"^current: pulse current = 0.002 A is outside"):
        session.single_cycle(current=2e-3)
    assert RunStore(tmp_path / "runs.sqlite").list_runs() == []


def test_an_anisotropy_field_above_the_labs_limit_is_refused_not_raised(lab, tmp_path):
    """The field limit is the lab's, for every procedure: anisotropy may not lift it (refused
    as every other setting over a limit is: a ConfigError naming its field)."""
    assert lab.limits.max_field == pytest.approx(0.25)  # the virtual coil's rating
    with _session(lab, tmp_path) as session, pytest.raises(ConfigError, match="^max_field: "):
        session.anisotropy(max_field=0.3)
    assert lab.limits.max_field == pytest.approx(0.25)
    assert RunStore(tmp_path / "runs.sqlite").list_runs() == []
    assert lab.virtual_lab.instruments["field"].output is False


def test_between_batches_stops_the_run_which_is_kept_as_aborted(lab, tmp_path):
    heard: list[dict] = []

    def stop_after_ten() -> None:
        if len(heard) >= 10:
            raise RunAborted

    emulator = lab.virtual_lab.instruments["pulse"]
    session = _session(lab, tmp_path, subscribers=[heard.append],
                       between_batches=stop_after_ten)
    with pytest.raises(RunAborted) as stopped, session:
        session.endurance(device=0, current=0.5e-3, cycles=200, timing="software")
    run = RunStore(tmp_path / "runs.sqlite").get_run(stopped.value.run_id)
    assert run.kind == "endurance" and run.status == "aborted"
    assert len(RunStore(tmp_path / "runs.sqlite").readings(run.id)) == 10 == len(heard)
    assert emulator.output is False and emulator.wave_armed is False


def test_an_owned_lab_is_closed_with_the_session(tmp_path):
    session = Session(lab_description(None, devices=1, seed=0), tmp_path / "runs.sqlite")
    assert session.owns_lab
    with session:
        session.single_cycle(current=0.7e-3)
    assert session.lab.instruments == {}  # every connection closed


def test_endurance_at_the_latest_sweeps_50_percent_names_that_sweep(lab, tmp_path):
    truth = lab.virtual_lab.chip.devices.select(0).i_bias(100e-6)[0]
    with _session(lab, tmp_path) as session:
        sweep = session.sweep(device=0, currents=truth + np.linspace(-25e-6, 25e-6, 8),
                              iterations=30)
        assert sweep.summary["usable"]
        endurance = session.endurance(device=0, cycles=20)
        given = session.endurance(device=0, current=0.3e-3, cycles=5)
    assert endurance.summary["current_from_sweep"] == sweep.run_id
    assert endurance.summary["current"] == pytest.approx(sweep.summary["i_50"])  # its 50 %
    assert given.summary["current_from_sweep"] is None

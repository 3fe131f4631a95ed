"""One contract every neuron bank keeps (DESIGN.md, "The central interface"), run over every
backend of the registry (hil.banks.registry) as the trainer builds a layer: the model Hall
bars and the telegraphic MTJs, the stochastic LLGS (a short pulse, a small preset), the lab's
devices through the instruments (on the virtual lab), and each of them multiplexed (paper
002 SI S12: two neurons per device, the first three neurons kept by a wrapper).

The contract: ``switch`` keeps the leading axes of its currents and answers booleans; each
neuron's count over trials lies in [0, trials] and rises from a weak to a strong pulse; a
current beyond a neuron's safe limit (or not finite, or for the wrong number of neurons) is
refused before any pulse; ``close`` and the context manager end the bank (outputs off);
``get_state`` / ``set_state`` replay the same draws (the virtual lab's devices included; a
bank on real instruments has no state of its own: ``None``); a
seed fixes the draws and another seed changes them; every neuron has a calibration and a
safe limit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from hil.banks import registry
from hil.banks.base import Calibration, NeuronBank
from hil.learn.config import TrainConfig
from protocols.fitting import WINDOW_LOGIT_SPAN

TRIALS = 16  # rows of one draw: each neuron pulsed TRIALS times


@dataclass(frozen=True)
class Backend:
    """How to build a fresh bank of one backend from a seed."""

    build: Callable[[int], NeuronBank]
    hardware: bool = False  # no random state of its own: get_state() is None


# each registered backend's settings for a small, quick bank (the registry's own build)
SETTINGS = {
    "model": {"eta": 0.1},
    "telegraph": {"eta": 0.2},
    # mtj-000 at 7.5 kT (paper 000's junction, a low barrier) with 1 ns pulses, integrated
    # step by step (no compile: a few calls of 100 steps each)
    "llgs": {"preset": "mtj-000-7.5kT", "pulse_width": 1e-9},
    "lab": {},  # the virtual lab's devices: their state is the bank's
}
SWITCHING = [b.name for b in registry.BACKENDS.values() if b.capabilities.switches]


def _registered(name: str, multiplex: int) -> Callable[[int], NeuronBank]:
    """A bank of three neurons built by the registry as ``hil train`` builds a layer:
    with ``multiplex`` 2, two devices of two neurons each, the first three of them."""
    def build(seed: int) -> NeuronBank:
        config = TrainConfig(backend=name, seed=seed, multiplex=multiplex, **SETTINGS[name])
        config.validate()
        before = os.environ.get("SPINHIL_LLGS_COMPILE")
        os.environ["SPINHIL_LLGS_COMPILE"] = "0"
        try:
            return registry.build_layer(config, 3, 0)
        finally:
            if before is None:
                del os.environ["SPINHIL_LLGS_COMPILE"]
            else:
                os.environ["SPINHIL_LLGS_COMPILE"] = before
    return build


def _llgs(seed: int) -> NeuronBank:
    return _registered("llgs", 1)(seed)


BACKENDS = {f"{name}" if copies == 1 else f"{name} multiplexed": Backend(_registered(name,
                                                                                  copies))
            for name in SWITCHING for copies in (1, 2)}


def test_every_registered_backend_is_in_the_suite():
    """A backend added to the registry is run by this contract, or the suite fails."""
    assert sorted(SETTINGS) == sorted(SWITCHING)
    assert {"model", "llgs", "lab", "telegraph"} <= set(SWITCHING)


# the LLGS integrates step by step (~100 steps a call): its full contract is slow, and a
# short sibling below keeps the contract's core on it in every run
PARAMS = [pytest.param(name, marks=pytest.mark.slow) if name.startswith("llgs") else name
          for name in sorted(BACKENDS)]


@pytest.fixture(params=PARAMS)
def backend(request):
    """A backend, and every bank a test builds from it closed at the end."""
    built: list[NeuronBank] = []
    chosen = BACKENDS[request.param]

    def build(seed: int = 0) -> NeuronBank:
        built.append(chosen.build(seed))
        return built[-1]

    yield Backend(build, chosen.hardware)
    for bank in built:
        bank.close()


def around_the_sigmoid(bank: NeuronBank, trials: int = TRIALS) -> np.ndarray:
    """(trials, n) currents across I_bias +- 2 I0 of each neuron's calibration (where its
    draws are most random), the part of it inside the neuron's safe range."""
    i_bias = np.array([c.i_bias for c in bank.calibration])
    i0 = np.array([c.i0 for c in bank.calibration])
    low = np.clip(i_bias - 2 * i0, 0.0, bank.max_current)
    high = np.clip(i_bias + 2 * i0, 0.0, bank.max_current)
    return low + (high - low) * np.linspace(0.0, 1.0, trials)[:, None]


def test_switch_keeps_the_leading_axes_and_answers_booleans(backend):
    bank = backend.build()
    one = np.clip([c.i_bias for c in bank.calibration], 0.0, bank.max_current)
    assert bank.switch(one).shape == (bank.n_neurons,)
    out = bank.switch(np.broadcast_to(one, (2, 3, bank.n_neurons)))
    assert out.shape == (2, 3, bank.n_neurons) and out.dtype == bool


def test_counts_lie_in_zero_to_trials_and_rise_with_the_current(backend):
    bank = backend.build()
    weak = bank.switch(np.broadcast_to(0.01 * bank.max_current, (TRIALS, bank.n_neurons)))
    strong = bank.switch(np.broadcast_to(bank.max_current, (TRIALS, bank.n_neurons)))
    for out in (weak, strong):
        counts = out.sum(axis=0)
        assert counts.shape == (bank.n_neurons,)
        assert np.all((counts >= 0) & (counts <= TRIALS))
    assert strong.sum() > weak.sum()


def _pulses_spied(bank: NeuronBank, monkeypatch) -> list[int]:
    """Every call that would pulse: the bank's own ``_switch`` and those of the banks it
    wraps."""
    calls: list[int] = []
    layer: NeuronBank | None = bank
    while layer is not None:
        original = layer._switch
        monkeypatch.setattr(layer, "_switch",
                            lambda currents, _o=original: calls.append(1) or _o(currents))
        layer = getattr(layer, "bank", None)
    return calls


def _state_unchanged(before, after) -> bool:
    if isinstance(before, torch.Tensor):
        return torch.equal(before, after)
    return before == after


def test_a_current_beyond_the_safe_limit_is_refused_before_any_pulse(backend, monkeypatch):
    bank = backend.build()
    state = bank.get_state()
    clock = getattr(getattr(bank.innermost, "lab", None), "clock", None)
    seconds = None if clock is None else clock.now()
    pulses = _pulses_spied(bank, monkeypatch)
    last = bank.n_neurons - 1
    safe = 0.5 * bank.max_current
    for sign in (1.0, -1.0):  # either polarity
        over = safe.copy()
        over[last] = sign * 1.01 * bank.max_current[last]
        with pytest.raises(ValueError, match=rf"^currents: .* exceeds the safe limit of "
                           rf"neuron {last}, allowed range \[0, "):
            bank.switch(np.stack([safe, over]))
    with pytest.raises(ValueError, match="^currents: every write current must be finite"):
        bank.switch(np.where(np.arange(bank.n_neurons) == 0, np.nan, safe))
    with pytest.raises(ValueError, match=f"^currents: last axis must hold the "
                       f"{bank.n_neurons} neurons"):
        bank.switch(np.zeros((2, bank.n_neurons + 1)))
    assert pulses == []  # nothing reached a device
    assert _state_unchanged(state, bank.get_state())  # no random draw either
    if clock is not None:
        assert clock.now() == seconds  # the instruments' clock never moved
    bank.switch(safe)
    assert pulses  # the spy sees a pulse when one is allowed


def test_close_and_the_context_manager_end_the_bank(backend):
    bank = backend.build()
    with bank as entered:
        assert entered is bank
    for layer in (bank, getattr(bank, "bank", None)):
        if layer is None:
            continue
        with pytest.raises(RuntimeError, match="the neuron bank is closed"):
            layer.switch(0.5 * layer.max_current)
    bank.close()  # idempotent
    lab = getattr(bank.innermost, "lab", None)
    if lab is not None:  # outputs off and the connections closed
        assert lab.virtual_lab.instruments["pulse"].output is False
        assert lab.instruments == {}


def test_get_state_and_set_state_replay_the_same_draws(backend):
    bank = backend.build()
    currents = around_the_sigmoid(bank)
    state = bank.get_state()
    if backend.hardware:
        assert state is None  # nothing random of its own to restore
        bank.set_state(state)
        return
    first = bank.switch(currents)
    assert not _state_unchanged(state, bank.get_state())  # the draw moved the state
    bank.set_state(state)
    assert np.array_equal(bank.switch(currents), first)
    assert 0 < first.sum() < first.size  # the replayed draws were random ones


def test_a_seed_fixes_the_draws_and_another_seed_changes_them(backend):
    draws = {}
    for name, seed in (("first", 1), ("again", 1), ("other", 2)):
        bank = backend.build(seed)
        draws[name] = bank.switch(around_the_sigmoid(bank))
    assert np.array_equal(draws["first"], draws["again"])
    assert not np.array_equal(draws["first"], draws["other"])


def test_every_neuron_has_a_calibration_and_a_safe_limit(backend):
    bank = backend.build()
    assert bank.n_neurons == len(bank.calibration) >= 2
    for c in bank.calibration:
        assert isinstance(c, Calibration)
        assert np.isfinite(c.i_bias) and c.i0 > 0 and c.pulse_width > 0
        assert c.window == pytest.approx(WINDOW_LOGIT_SPAN * c.i0)
    assert bank.max_current.shape == (bank.n_neurons,)
    assert np.all(np.isfinite(bank.max_current) & (bank.max_current > 0))


def test_llgs_keeps_the_contract_in_short(monkeypatch):
    """The LLGS bank's contract in two calls (its full run above is ``slow``): leading
    axes, booleans, counts in [0, trials], the refusal before any pulse, a replay from
    its state, and close."""
    bank = _llgs(0)
    with bank:
        state = bank.get_state()
        currents = np.broadcast_to(around_the_sigmoid(bank, 8), (2, 8, bank.n_neurons))
        first = bank.switch(currents)
        assert first.shape == (2, 8, bank.n_neurons) and first.dtype == bool
        counts = first.reshape(-1, bank.n_neurons).sum(axis=0)
        assert np.all((counts >= 0) & (counts <= 16)) and 0 < counts.sum() < first.size
        moved = bank.get_state()
        pulses = _pulses_spied(bank, monkeypatch)
        with pytest.raises(ValueError, match="exceeds the safe limit of neuron 2"):
            bank.switch(np.array([0.0, 0.0, 1.01 * bank.max_current[2]]))
        assert pulses == [] and _state_unchanged(moved, bank.get_state())
        monkeypatch.undo()
        bank.set_state(state)
        assert np.array_equal(bank.switch(currents), first)
    with pytest.raises(RuntimeError, match="closed"):
        bank.switch(np.zeros(bank.n_neurons))

"""The device layer's error, readout and backward rules (hil/nn/network.py, paper 002 Methods
4.6): the unbiased error, a readout that reads only the devices, and the clamp-aware and
exact gradients against finite differences of the device model's expected rate."""

import numpy as np
import pytest
import torch

from hil.banks.base import Calibration, NeuronBank
from hil.banks.model import model_bank
from hil.learn.readout import read_out
from hil.nn import DeviceNeurons, SpikingNet, count_rate, device_classes, output_loss, predict
from hil.nn.network import DeviceCurrents, _HiddenSpikes, _OutputLogit, device_hits

WIDTH = 0.5e-6


class LogisticBank(NeuronBank):
    """Neurons that switch with exactly their calibration's P = sigmoid((I - I_bias)/I0)
    (paper 002 Eq. 2): the device model the software holds, realised."""

    def __init__(self, calibration, max_current, seed=0):
        super().__init__(calibration, max_current)
        self.rng = np.random.default_rng(seed)

    def _switch(self, currents):
        i_bias = np.array([c.i_bias for c in self.calibration])
        i0 = np.array([c.i0 for c in self.calibration])
        p = 1.0 / (1.0 + np.exp(-(currents - i_bias) / i0))
        return self.rng.random(p.shape) < p


def _logistic_bank(seed=0) -> LogisticBank:
    cal = [Calibration(0.3e-3 * s, 7e-6 * s, 100e-6) for s in (0.9, 1.0, 1.2)]
    return LogisticBank(cal, 0.75e-3, seed)


def _expected_switch(z: np.ndarray, bank: NeuronBank) -> np.ndarray:
    """The model's expected switch per step, written out independently of the code."""
    i_bias = np.array([c.i_bias for c in bank.calibration])
    i0 = np.array([c.i0 for c in bank.calibration])
    current = np.clip(i_bias + i0 * z, 0.0, bank.max_current)
    return 1.0 / (1.0 + np.exp(-(current - i_bias) / i0))


def _mixed_inputs(bank: NeuronBank, steps=6, images=2, seed=0) -> torch.Tensor:
    """Normalised inputs whose currents are clamped at 0, clamped at max, or inside."""
    rng = np.random.default_rng(seed)
    i_bias = np.array([c.i_bias for c in bank.calibration])
    i0 = np.array([c.i0 for c in bank.calibration])
    low, high = -i_bias / i0, (bank.max_current - i_bias) / i0
    choice = rng.integers(0, 3, (steps, images, len(i0)))
    inside = rng.uniform(-3.0, 3.0, choice.shape)
    z = np.where(choice == 0, low - 5.0, np.where(choice == 1, high + 5.0, inside))
    z[0, 0] = inside[0, 0]  # every neuron of image 0 has an unclamped step
    return torch.tensor(z, dtype=torch.float64)


def _finite_difference(f, z: np.ndarray, h=1e-6) -> np.ndarray:
    """Central differences of f (elementwise in z, or summed over its leading time axis)
    with respect to every element of z."""
    grad = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        up, down = z.copy(), z.copy()
        up[idx] += h
        down[idx] -= h
        diff = f(up) - f(down)
        grad[idx] = diff[idx[z.ndim - diff.ndim:]] / (2 * h)
    return grad


# -- the error ---------------------------------------------------------------------------
def test_an_all_off_output_with_an_all_off_target_gives_zero_error():
    """Outputs that never switch, target all off: the unbiased error count / T - y is 0, so
    no weight moves; the corrected rate's error (count + 1/2)/(T + 1) - y is not."""
    bank = model_bank(4, WIDTH, 0.25, seed=1)
    net = SpikingNet([20, 4], torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.layers[0].weight.fill_(-50.0)  # every current clamped at 0: no switch
        net.layers[0].bias.fill_(-50.0)
    spikes = (torch.rand(30, 5, 20, generator=torch.Generator().manual_seed(1)) < 0.5).float()
    target = torch.zeros(5, 4)
    grads = {}
    for error in ("unbiased", "corrected"):
        net.zero_grad()
        logits, out, _ = net.forward_devices(spikes, [DeviceCurrents(bank, bank.calibration)])
        assert out.sum() == 0
        output_loss(logits, out, target, error).backward()
        grads[error] = net.layers[0].weight.grad.abs().max().item()
    assert grads["unbiased"] == 0.0
    assert grads["corrected"] > 0.0


def test_unbiased_error_is_count_over_t_minus_target_and_loss_is_the_displayed_ones():
    gen = torch.Generator().manual_seed(3)
    spikes = (torch.rand(10, 6, 3, generator=gen) < 0.4).float()
    logits = torch.logit((spikes.sum(0) + 0.5) / 11).requires_grad_(True)
    target = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 0, 1, 2]), 3).float()
    loss = output_loss(logits, spikes, target)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        logits, target, reduction="sum")
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    loss.backward()
    torch.testing.assert_close(logits.grad, count_rate(spikes) - target)
    with pytest.raises(ValueError, match="error"):
        output_loss(logits, spikes, target, "biased")


# -- the readout -------------------------------------------------------------------------
class Poisoned(torch.Tensor):
    """A software value that raises if anything reads it."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        raise AssertionError(f"a software value was read ({getattr(func, '__name__', func)})")


def _poison_software(monkeypatch):
    original = SpikingNet.forward_devices

    def forward(self, spikes, devices):
        logits, out, mean_input = original(self, spikes, devices)
        return logits, out, mean_input.as_subclass(Poisoned)

    monkeypatch.setattr(SpikingNet, "forward_devices", forward)


def _readout_setup():
    bank = model_bank(4, WIDTH, 0.25, seed=2)
    net = SpikingNet([784, 4], torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(60, 784, generator=gen) * 0.3
    labels = torch.randint(0, 4, (60,), generator=gen)
    return net, [DeviceCurrents(bank, bank.calibration)], bank, x, labels


def test_the_device_readout_never_reads_a_software_value(monkeypatch):
    net, devices, bank, x, labels = _readout_setup()
    state = bank.get_state()
    plain = read_out(net, devices, x, labels, steps=5, seed=7)
    assert plain.tied > 0  # 5 steps: many ties, so re-reads were taken
    bank.set_state(state)
    _poison_software(monkeypatch)
    with pytest.raises(AssertionError, match="software value"):  # the poison is live
        read_out(net, devices, x, labels, steps=5, seed=7, software=True)
    bank.set_state(state)
    devices_only = read_out(net, devices, x, labels, steps=5, seed=7, software=False)
    assert set(devices_only.classes) == {"devices"}
    torch.testing.assert_close(devices_only.classes["devices"], plain.classes["devices"])
    assert devices_only.tied == plain.tied and devices_only.rereads == plain.rereads


def test_ties_are_re_read_on_the_devices_then_a_coin_decides():
    counts = torch.tensor([[3, 3, 1], [5, 1, 0], [2, 2, 2], [0, 4, 4]])
    asked = []
    reads = iter([torch.tensor([[1, 0, 0], [0, 1, 1], [0, 2, 0]]),
                  torch.tensor([[0, 1, 1]])])

    def reread(rows):
        asked.append(rows.tolist())
        return next(reads)

    gen = torch.Generator().manual_seed(0)
    classes, ties = device_classes(counts, reread, rereads=2, generator=gen)
    assert asked == [[0, 2, 3], [2]]  # only tied images, and only while tied
    assert classes[0] == 0 and classes[1] == 0 and classes[3] == 1
    assert classes[2] in (1, 2)  # still tied (2, 4, 4) after two re-reads: a coin
    assert ties == {"tied": 3, "unresolved": 1, "rereads": 2}
    # the software tie-break can differ: it reads the normalised inputs
    software = predict(torch.logit((counts + 0.5) / 11), torch.tensor([[0.0, 9.0, 0.0]] * 4))
    assert software[0][0] == 1


def test_device_hits_split_a_tie_evenly():
    counts = torch.tensor([[2, 2, 0], [3, 1, 0], [0, 0, 0]])
    assert device_hits(counts, torch.tensor([0, 1, 2])) == pytest.approx(0.5 + 0 + 1 / 3)


# -- the backward rules ------------------------------------------------------------------
def test_exact_gradient_matches_a_finite_difference_of_the_models_expected_rate():
    bank = _logistic_bank()
    z = _mixed_inputs(bank)
    devices = DeviceCurrents(bank, bank.calibration, "exact")
    g = torch.randn(z.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    hidden = z.clone().requires_grad_(True)
    _HiddenSpikes.apply(hidden, devices).backward(g)
    fd = _finite_difference(lambda v: _expected_switch(v, bank), z.numpy())
    np.testing.assert_allclose(hidden.grad.numpy(), g.numpy() * fd, rtol=1e-5, atol=1e-12)

    def expected_logit(v):
        p = _expected_switch(v, bank).mean(0)
        return np.log(p / (1 - p))

    out = z.clone().requires_grad_(True)
    g_out = g[0]
    _OutputLogit.apply(out, devices)[0].backward(g_out)
    fd_out = _finite_difference(expected_logit, z.numpy())
    np.testing.assert_allclose(out.grad.numpy(), g_out.numpy() * fd_out, rtol=1e-5,
                               atol=1e-12)


def test_the_exact_rule_stays_finite_where_a_device_is_driven_far_above_its_bias():
    """Far above I_bias every step's P rounds to 1 in float64, so P (1 - P) over p (1 - p)
    was 0-ish over 0: the weights overflowed float32 and a training diverged to non-finite
    weights. With 1 - P computed directly the output's weights stay finite and sum to the
    logit's derivative (1 per unit of z at every step when P is the same at every step)."""
    bank = _logistic_bank()
    devices = DeviceCurrents(bank, bank.calibration, "exact")
    i0, i_bias = bank.calibration[0].i0, bank.calibration[0].i_bias
    z = torch.full((100, 2, len(bank.calibration)), 40.0, dtype=torch.float32)  # P = 1 - 4e-18
    z[:, :, 0] = float((bank.max_current[0] * 0.99 - i_bias) / i0)  # just inside the clamp
    out = z.clone().requires_grad_(True)
    _OutputLogit.apply(out, devices)[0].backward(torch.ones(2, len(bank.calibration)))
    assert torch.isfinite(out.grad).all()
    inside = devices.drive(z)[1]
    np.testing.assert_allclose(out.grad.sum(0).numpy()[inside.all(0)], 1.0, rtol=1e-5)


@pytest.mark.parametrize("rule", ["clamp-aware", "exact"])
def test_clamped_steps_carry_no_gradient_as_the_true_devices_expected_rate(rule):
    """Where the write current was clamped, the true device's expected switch (its exact
    P_sw) does not move with z: clamp-aware and exact pass 0 there; straight-through does
    not (the rule the issue measured as too large)."""
    bank = model_bank(3, WIDTH, 0.25, seed=4)
    z = _mixed_inputs(bank, steps=8, images=3, seed=1)
    devices = {r: DeviceCurrents(bank, bank.calibration, r)
               for r in ("straight-through", rule)}
    currents = devices[rule].currents(z).numpy()
    truth = _finite_difference(
        lambda v: bank.p_switch(devices[rule].currents(torch.from_numpy(v)).numpy()),
        z.numpy())
    clamped = (currents <= 0) | (currents >= bank.max_current)
    assert clamped.mean() > 0.4 and (~clamped).any()
    assert np.all(truth[clamped] == 0.0)
    grads = {}
    for name, dev in devices.items():
        for fn in (_HiddenSpikes, _OutputLogit):
            v = z.clone().requires_grad_(True)
            out = fn.apply(v, dev)
            (out if fn is _HiddenSpikes else out[0]).sum().backward()
            grads[name, fn.__name__] = v.grad.numpy()
    for fn in ("_HiddenSpikes", "_OutputLogit"):
        assert np.all(grads[rule, fn][clamped] == 0.0)
        assert np.all(grads["straight-through", fn][clamped] != 0.0)
    # where nothing was clamped, clamp-aware is the straight-through rule itself
    if rule == "clamp-aware":
        for fn in ("_HiddenSpikes", "_OutputLogit"):
            np.testing.assert_array_equal(grads[rule, fn][~clamped],
                                          grads["straight-through", fn][~clamped])


def test_clamp_aware_slope_matches_the_models_expected_rate_within_its_statistics():
    """A constant input written T times: the clamp-aware slope a (1 - a) from the measured
    rate agrees with the finite difference of the logistic model's expected rate within
    the binomial spread of a, and is exactly 0 where the current was clamped."""
    steps = 4000
    bank = _logistic_bank(seed=8)
    i_bias = np.array([c.i_bias for c in bank.calibration])
    i0 = np.array([c.i0 for c in bank.calibration])
    high = (bank.max_current - i_bias) / i0
    z = torch.tensor([[-1.0, 0.5, 2.0], [-200.0, high[1] + 1.0, 0.0]], dtype=torch.float64)
    layer = DeviceNeurons(bank, steps=steps, output="rate", gradient="clamp-aware")
    v = z.clone().requires_grad_(True)
    rate = layer(v)
    rate.sum().backward()
    fd = _finite_difference(lambda u: _expected_switch(u[None], bank)[0], z.numpy())
    grad = v.grad.numpy() * (steps + 1) / steps  # rate = (count + 1/2)/(T + 1): T slopes
    p = _expected_switch(z.numpy()[None], bank)[0]
    spread = np.abs(1 - 2 * p) * np.sqrt(p * (1 - p) / steps) + 1e-12
    assert grad[1, 0] == 0.0 and grad[1, 1] == 0.0  # clamped at 0 and at max
    inside = [(0, 0), (0, 1), (0, 2), (1, 2)]
    for idx in inside:
        assert abs(grad[idx] - fd[idx]) < 4 * spread[idx] + 1e-3 * fd[idx]
    # the straight-through rule at the clamped steps: the measured slope, not 0
    st = DeviceNeurons(bank, steps=steps, output="rate")
    w = z.clone().requires_grad_(True)
    st(w).sum().backward()
    assert w.grad[1, 1] != 0.0


def test_unknown_rules_are_refused_by_name():
    bank = _logistic_bank()
    with pytest.raises(ValueError, match="gradient"):
        DeviceCurrents(bank, bank.calibration, "surrogate")
    with pytest.raises(ValueError, match="gradient"):
        DeviceNeurons(bank, gradient="surrogate")


def test_currents_are_the_same_numbers_as_torchs_formula():
    """The in-place numpy currents equal I_bias + I0 z clipped to [0, max] in torch."""
    bank = model_bank(5, WIDTH, 0.25, seed=3)
    devices = DeviceCurrents(bank, bank.calibration)
    z = torch.randn(7, 4, 5, generator=torch.Generator().manual_seed(0)) * 60
    reference = torch.minimum((devices.i_bias + devices.i0 * z.to(torch.float64))
                              .clamp_min(0.0), devices.max_current)
    assert torch.equal(devices.currents(z), reference)
    currents, inside = devices.drive(z)
    assert np.array_equal(currents, reference.numpy())
    assert np.array_equal(inside, (reference.numpy() > 0) & (reference.numpy() < bank.max_current))

"""Paper 000 (Xin et al., Electrical Tunable Spintronic Neuron with Trainable Activation
Function): trainable k and c, their Appendix D gradients, and the device map behind them."""

import numpy as np
import pytest
import torch

from hil.learn.trainable_activation import KCMap, TrainableNet, measure_kc_map, train_trainable


def _random_net(seed):
    gen = torch.Generator().manual_seed(seed)
    net = TrainableNet.initial((20, 6, 4), gen)
    net.k2 = 0.5 + torch.rand(6, generator=gen, dtype=torch.float64)
    net.k3 = 0.5 + torch.rand(4, generator=gen, dtype=torch.float64)
    net.c2 = torch.randn(6, generator=gen, dtype=torch.float64) * 0.3
    net.c3 = torch.randn(4, generator=gen, dtype=torch.float64) * 0.3
    return net, gen


def test_appendix_d_gradients_equal_autograd():
    net, gen = _random_net(0)
    x = torch.rand(16, 20, generator=gen, dtype=torch.float64)
    y = torch.nn.functional.one_hot(torch.arange(16) % 4, 4).double()
    manual = net.gradients(net.forward(x), y)
    leaves = {n: getattr(net, n).clone().requires_grad_(True)
              for n in ("w1", "w2", "k2", "c2", "k3", "c3")}
    twin = TrainableNet(**leaves)
    twin.loss(twin.forward(x)["a3"], y).backward()
    for name, leaf in leaves.items():
        assert torch.allclose(manual[name], leaf.grad, rtol=1e-10, atol=1e-14), name
        assert leaf.grad.abs().max() > 1e-6  # a real gradient, not an empty one


def test_fixed_mode_trains_weights_only_and_k_stays_in_the_device_range():
    rng = np.random.default_rng(0)
    x = rng.random((200, 784)).astype(np.float32)
    y = rng.integers(0, 10, 200)
    fixed, _, history = train_trainable(x, y, x, y, "fixed", seed=1, epochs=3)
    assert history[-1] < history[0]
    assert torch.all(fixed.k2 == 1) and torch.all(fixed.c2 == 0)
    trained, _, _ = train_trainable(x, y, x, y, "kc", seed=1, epochs=3, lr=5.0,
                                    k_range=(0.8, 1.2), c_range=(-0.1, 0.1))
    assert not torch.all(trained.k2 == 1) and not torch.all(trained.c2 == 0)
    assert trained.k2.min() >= 0.8 and trained.k2.max() <= 1.2
    assert trained.c2.abs().max() <= 0.1
    with pytest.raises(ValueError, match="mode = 'slope' is not one of fixed, k, kc"):
        train_trainable(x, y, x, y, "slope", seed=1)


def _synthetic_map():
    widths, volts = [10e-9, 30e-9, 100e-9], [-0.5, 0.0, 0.5]
    w, v = np.meshgrid(np.log(widths), volts, indexing="ij")
    k = np.exp(np.log(2.2e6) + 0.2 * (w - np.log(30e-9)) + 0.05 * v)
    c = -15e-6 + 1e-6 * (w - np.log(30e-9)) + 1.5e-6 * v
    return KCMap("synthetic", widths, volts, k.tolist(), (0.02 * k).tolist(), c.tolist(),
                 np.full_like(c, 0.1e-6).tolist(), 100)


def test_map_turns_learned_k_and_c_into_widths_and_voltages():
    kc_map = _synthetic_map()
    w0, v0, k0, c0 = kc_map.nominal
    assert w0 == pytest.approx(np.exp(np.mean(np.log(kc_map.widths))))
    width, volt = kc_map.to_pulse(np.array([1.0]), np.array([0.0]))
    assert width[0] == pytest.approx(w0, rel=1e-9) and volt[0] == pytest.approx(v0, abs=1e-9)
    targets_w, targets_v = np.array([12e-9, 80e-9]), np.array([0.3, -0.2])
    k, c = kc_map.predict(targets_w, targets_v)
    width, volt = kc_map.to_pulse(k / k0, (c - c0) * k0)
    assert np.allclose(width, targets_w, rtol=1e-9) and np.allclose(volt, targets_v, atol=1e-9)
    width, volt = kc_map.to_pulse(np.array([50.0]), np.array([0.0]))  # beyond the device
    assert width[0] == max(kc_map.widths)
    (k_lo, k_hi), _ = kc_map.network_ranges()
    assert k_lo < 1 < k_hi


def test_llgs_map_slope_grows_with_width_and_gate_moves_the_shift(tmp_path):
    """Paper 000 Fig. 1b (k up with the pulse width) and Fig. 3a (the barrier moves c)."""
    cache = tmp_path / "map.json"
    kc_map = measure_kc_map("mtj-000-vcma", [10e-9, 40e-9], [-0.6, 0.6], trials=60, points=11,
                            cache=cache)
    k, k_err, c, c_err = kc_map.arrays()
    for j in range(2):
        assert k[1, j] - k[0, j] > 3 * np.hypot(k_err[1, j], k_err[0, j])
    for i in range(2):  # a positive gate lowers the barrier: less current needed, c rises
        assert c[i, 1] - c[i, 0] > 3 * np.hypot(c_err[i, 1], c_err[i, 0])
    assert measure_kc_map("mtj-000-vcma", [10e-9, 40e-9], [-0.6, 0.6], trials=60,
                          cache=cache) == kc_map  # read back, not re-measured

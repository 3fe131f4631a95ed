import numpy as np
import pytest
import torch
from scipy.stats import binom

from hil.learn.encoding import poisson_spikes


def test_spike_rates_within_binomial_bounds():
    intensities = torch.tensor([0.0, 0.05, 0.3, 0.5, 0.9, 1.0])
    steps, repeats = 100, 200
    gen = torch.Generator().manual_seed(7)
    spikes = poisson_spikes(intensities.repeat(repeats, 1), steps, gen)  # (T, repeats, 6)
    counts = spikes.sum(dim=(0, 1)).numpy()
    n = steps * repeats
    for p, k in zip(intensities.numpy(), counts, strict=True):
        lo, hi = binom.ppf([0.0005, 0.9995], n, p)
        assert lo <= k <= hi, (p, k, lo, hi)


def test_rate_scales_with_f_max_and_dt():
    gen = torch.Generator().manual_seed(1)
    spikes = poisson_spikes(torch.full((1000,), 0.8), 50, gen, f_max=500.0, dt=1e-3)
    n = spikes.numel()
    lo, hi = binom.ppf([0.0005, 0.9995], n, 0.4)
    assert lo <= spikes.sum().item() <= hi


def test_spikes_are_binary_and_seeded():
    x = torch.rand(4, 784, generator=torch.Generator().manual_seed(0))
    a = poisson_spikes(x, 10, torch.Generator().manual_seed(3))
    b = poisson_spikes(x, 10, torch.Generator().manual_seed(3))
    assert a.shape == (10, 4, 784)
    assert set(np.unique(a.numpy())) <= {0.0, 1.0}
    assert torch.equal(a, b)


@pytest.mark.parametrize("steps", [0, -3])
def test_nonpositive_steps_refused(steps):
    with pytest.raises(ValueError, match="steps"):
        poisson_spikes(torch.zeros(3), steps)

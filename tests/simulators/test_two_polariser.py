"""Paper 003's neuron (Rodrigues et al., A design of magnetic tunnel junctions for the
deployment of neuromorphic hardware for edge computing): the two-polariser preset, its
Boltzmann readout against analytic limits and against the LLGS, the bank that reads
activation and derivative, and training with the device's derivative."""

import dataclasses

import numpy as np
import pytest
import torch
from scipy import stats

from hil.banks.two_polariser import TwoPolariserBank, in_plane_barrier
from hil.learn.data import load_digits
from hil.learn.two_polariser import train_two_polariser
from hil.nn.two_polariser import TwoPolariserNeurons
from simulators.macrospin import KB, MTJ_003, macrospin_preset
from simulators.two_polariser import (
    FIELD_PER_AMPERE,
    boltzmann_readout,
    fit_sech2,
    fit_tanh,
    in_plane_h_k,
    simulate_readout,
)

H_K = in_plane_h_k(MTJ_003)


def test_preset_holds_the_layer_in_the_xz_plane_with_8kT_between_the_wells():
    assert macrospin_preset("mtj-003") is MTJ_003 and MTJ_003.paper == "003"
    assert in_plane_barrier(MTJ_003) == pytest.approx(8.0)
    c = MTJ_003.field_coefficients()
    assert c[2] > c[0] > c[1]  # easy z, then x, hard y
    assert (c[2] - c[1]) > 3 * (c[2] - c[0])
    assert boltzmann_readout(MTJ_003, [0.0, H_K, 2 * H_K]).my2.max() < 0.02


def test_quadrature_gives_langevin_for_an_isotropic_layer():
    cube = dataclasses.replace(MTJ_003, length_x=10e-9, length_y=10e-9, thickness=10e-9,
                               k_interface=0.0)
    c = cube.field_coefficients()
    assert np.ptp(c) < 1e-9
    a = np.array([0.5, 2.0, 6.0])  # M_s V H / kT
    fields = a * KB * cube.temperature / (cube.ms * cube.volume)
    r = boltzmann_readout(cube, fields)
    assert r.mx == pytest.approx(1 / np.tanh(a) - 1 / a, rel=1e-4)
    assert r.mx2 + r.mz2 + r.my2 == pytest.approx(np.ones(3), rel=1e-6)


def test_quadrature_obeys_fluctuation_dissipation():
    """d<m_x>/dH = (M_s V / kT) Var(m_x): the exact slope of the time-averaged activation."""
    h, step = np.array([-1.2, 0.0, 0.4, 1.5]) * H_K, 1e-5 * H_K
    r = boltzmann_readout(MTJ_003, h)
    slope = (boltzmann_readout(MTJ_003, h + step).mx
             - boltzmann_readout(MTJ_003, h - step).mx) / (2 * step)
    beta = MTJ_003.ms * MTJ_003.volume / (KB * MTJ_003.temperature)
    assert slope == pytest.approx(beta * r.mx_std**2, rel=1e-3)


def test_activation_is_tanh_and_derivative_sech2_with_one_slope():
    """Paper 003 Fig. 2b-c: the tanh fit of <m_x> and the sech^2 fit of <m_z^2> share the
    slope within 1 %; each curve stays within 0.04 of its fit (the thermal floor of m_z^2 at
    large fields, kT / (M_s V H), is most of that)."""
    u = np.linspace(-2.5, 2.5, 41)
    r = boltzmann_readout(MTJ_003, u * H_K, n_z=801, n_phi=180)
    act, der = fit_tanh(u, r.mx), fit_sech2(u, r.mz2)
    assert der.slope == pytest.approx(act.slope, rel=0.01)
    assert np.abs(r.mx - act.tanh(u)).max() < 0.04
    assert np.abs(r.mz2 - der.sech2(u)).max() < 0.04
    # not trivially: a derivative read as <m_z>^2 of one well, or a cooler layer, misses more
    assert np.abs(r.mz2 - act.scale / np.cosh(act.slope * u) ** 2).max() > 0.04


def _llgs_against_boltzmann(u, trajectories, settle, average, seed):
    fields = np.asarray(u) * H_K
    llgs = simulate_readout(MTJ_003, fields, trajectories, settle=settle, average=average,
                            seed=seed)
    exact = boltzmann_readout(MTJ_003, fields)
    z = np.concatenate([(llgs.mx - exact.mx) / llgs.mx_err,
                        (llgs.mz2 - exact.mz2) / llgs.mz2_err])
    # the test resolves the curves: errors well below the curves' own spread
    assert llgs.mx_err.max() < 0.03 and llgs.mz2_err.max() < 0.03
    assert stats.chi2.sf(np.sum(z**2), z.size) > 1e-3, z
    return llgs


def test_llgs_reads_the_boltzmann_activation_and_derivative_short():
    _llgs_against_boltzmann([-2.0, -0.5, 0.0, 1.0, 2.0], 16, 8e-9, 10e-9, seed=3)


@pytest.mark.slow
def test_llgs_reads_the_boltzmann_activation_and_derivative():
    llgs = _llgs_against_boltzmann(np.linspace(-2.5, 2.5, 11), 48, 15e-9, 30e-9, seed=4)
    u = llgs.fields / H_K
    # unweighted, as the quadrature test: a fit weighted by the errors leans on the tails'
    # small errors, where the thermal floor of m_z^2 sits (slope 1.18 against 1.31)
    assert fit_sech2(u, llgs.mz2).slope == pytest.approx(fit_tanh(u, llgs.mx).slope, rel=0.05)


def test_llgs_field_per_trajectory_refuses_bad_settings():
    with pytest.raises(ValueError, match=r"trajectories = 1 is outside the allowed range"):
        simulate_readout(MTJ_003, [0.0], 1)
    with pytest.raises(ValueError, match=r"average = 0 s is outside the allowed range"):
        simulate_readout(MTJ_003, [0.0], 4, average=0.0)


# -- the bank ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def nominal():
    return TwoPolariserBank(3, samples=100, seed=1)


def test_bank_reads_the_boltzmann_means_with_the_sampling_error_of_its_samples(nominal):
    u = np.array([-1.0, 0.0, 0.7])
    currents = np.tile(u * H_K / FIELD_PER_AMPERE, (4000, 1))
    activation, derivative = nominal.read(currents)
    exact = boltzmann_readout(MTJ_003, u * H_K)
    for read, mean, sd in ((activation, exact.mx, exact.mx_std),
                           (derivative, exact.mz2, exact.mz2_std)):
        expected_sd = sd / np.sqrt(100)
        assert read.mean(0) == pytest.approx(mean, abs=4 * expected_sd.max() / np.sqrt(4000)
                                             + 2e-3)
        ratio = read.var(0, ddof=1) / expected_sd**2  # chi^2 / dof with 3999 dof
        assert np.all(np.abs(ratio - 1) < 4 * np.sqrt(2 / 3999)), ratio


def test_bank_activation_and_device_derivative_in_nominal_units(nominal):
    z = np.linspace(-2.0, 2.0, 9)
    act, der = nominal.activate(np.tile(z[:, None], (1, 3)))
    a = nominal.nominal.activation_scale
    assert act[:, 0] == pytest.approx(a * np.tanh(z), abs=0.12)
    assert der[:, 0] == pytest.approx(nominal.software_derivative(z), abs=0.15)
    assert nominal.unit_current == pytest.approx(
        H_K / (nominal.nominal.activation_slope * FIELD_PER_AMPERE))


def test_read_noise_adds_its_variance():
    quiet = TwoPolariserBank(1, samples=10**8, seed=2)
    noisy = TwoPolariserBank(1, samples=10**8, read_noise=0.1, seed=2)
    currents = np.full((5000, 1), 0.3 * H_K / FIELD_PER_AMPERE)
    assert quiet.read(currents)[0].std() < 1e-3
    for read in noisy.read(currents):
        assert read.std(ddof=1) == pytest.approx(0.1, rel=4 * np.sqrt(1 / 5000))


def test_variation_is_seeded_within_eta_and_moves_each_devices_slope():
    bank = TwoPolariserBank(200, samples=10**8, eta=0.25, seed=5)
    again = TwoPolariserBank(200, samples=10**8, eta=0.25, seed=5)
    assert np.array_equal(bank.h_k_scale, again.h_k_scale)
    assert bank.h_k_scale.min() >= 0.75 and bank.h_k_scale.max() <= 1.25
    assert np.std(bank.h_k_scale) == pytest.approx(0.25 / np.sqrt(3), rel=0.2)
    act, _ = bank.read(np.full(200, 0.5 * H_K / FIELD_PER_AMPERE))
    softer = bank.h_k_scale < 1  # a lower H_k turns further at the same field
    assert act[softer].mean() > act[~softer].mean() + 0.05
    assert np.corrcoef(bank.h_k_scale, act)[0, 1] < -0.9


def test_bank_refuses_unsafe_or_malformed_currents_and_bad_settings(nominal):
    limit = nominal.max_current
    with pytest.raises(ValueError, match=r"currents: \d+\.?\d* mA exceeds the safe limit, "
                       r"allowed range \[-\d+\.?\d*, \d+\.?\d*\] mA \(\|H\| <= 3 H_k\)"):
        nominal.read(np.array([0.0, 1.01 * limit, 0.0]))
    with pytest.raises(ValueError, match="last axis must hold the 3 neurons"):
        nominal.read(np.zeros(2))
    with pytest.raises(ValueError, match="must be finite"):
        nominal.read(np.array([0.0, np.nan, 0.0]))
    for kwargs, field in (({"eta": 1.0}, "eta"), ({"read_noise": -0.1}, "read_noise"),
                          ({"samples": 0}, "samples"), ({"n_neurons": 0}, "n_neurons")):
        args = {"n_neurons": 2, **kwargs}
        with pytest.raises(ValueError, match=rf"{field} = .* outside the allowed range"):
            TwoPolariserBank(**args)
    with pytest.raises(ValueError, match="preset = 'mtj-000' does not hold its layer in the"):
        TwoPolariserBank(2, preset="mtj-000")
    bank = TwoPolariserBank(1)
    with bank:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        bank.read(np.zeros(1))


# -- training ------------------------------------------------------------------------------

def test_backward_uses_the_derivative_the_mode_names():
    bank = TwoPolariserBank(4, samples=100, seed=7)
    z = torch.linspace(-1.5, 1.5, 4).repeat(50, 1).requires_grad_()
    grads = {}
    for mode in ("device", "software"):
        layer = TwoPolariserNeurons(bank, mode)
        layer(z).sum().backward()
        grads[mode] = z.grad.clone()
        z.grad = None
    software = bank.software_derivative(z.detach().numpy())
    assert grads["software"].numpy() == pytest.approx(software, rel=1e-6)
    device = grads["device"].numpy()
    assert not np.allclose(device, software)  # a measured derivative: it scatters
    assert device.mean(0) == pytest.approx(software[0], abs=0.06)
    with pytest.raises(ValueError, match="derivative = 'exact' is not one of device, software"):
        TwoPolariserNeurons(bank, "exact")


@pytest.fixture(scope="module")
def digits():
    return load_digits().select([0, 1, 2, 3], 60, 40)


def test_device_derivative_training_learns_short(digits):
    runs = {m: train_two_polariser(digits, m, hidden=16, epochs=3, lr=3e-3, seed=0)
            for m in ("device", "software")}
    for run in runs.values():
        assert run.test_accuracy > 0.6  # chance is 0.25 on four classes
    with pytest.raises(ValueError, match="mode = 'exact' is not one of"):
        train_two_polariser(digits, "exact")


@pytest.mark.slow
def test_device_and_software_derivatives_train_alike_over_five_seeds(digits):
    diff = [train_two_polariser(digits, "device", hidden=16, epochs=3, lr=3e-3, seed=s,
                                eta=0.1).test_accuracy
            - train_two_polariser(digits, "software", hidden=16, epochs=3, lr=3e-3, seed=s,
                                  eta=0.1).test_accuracy for s in range(5)]
    assert abs(np.mean(diff)) < 0.05


# -- command line ----------------------------------------------------------------------------

def _json_line(capsys):
    import json

    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1]), out


def test_simulate_two_polariser_prints_both_curves_and_their_fits(capsys):
    from hil.cli import main

    assert main(["simulate", "presets", "--json"]) == 0
    rows = {r["name"]: r for r in _json_line(capsys)[0]["presets"]}
    assert rows["mtj-003"]["paper"] == "003"
    assert main(["simulate", "two-polariser", "--currents=-6mA:6mA:13", "--json"]) == 0
    payload, lines = _json_line(capsys)
    assert payload["currents"] == pytest.approx(np.linspace(-6e-3, 6e-3, 13))
    mx, mz2 = np.array(payload["mx"]), np.array(payload["mz2"])
    assert np.all(np.diff(mx) > 0) and mz2[6] == pytest.approx(mz2.max())
    assert payload["sech2_slope"] == pytest.approx(payload["tanh_slope"], rel=0.05)
    assert any(line.startswith("activation: ") for line in lines)
    assert main(["simulate", "two-polariser", "--preset", "mtj-000"]) == 2
    assert "does not hold its layer in the x-z plane" in capsys.readouterr().err


def test_train_backend_two_polariser_runs_both_derivatives_and_refuses_bad_options(capsys):
    from hil.cli import main

    base = ["train", "--backend", "two-polariser", "--classes", "0,1,2,3",
            "--train-per-class", "40", "--test-per-class", "25", "--validation-per-class", "10",
            "--hidden", "8", "--epochs", "2", "--read-noise", "0.05", "--seed", "3"]
    assert main([*base, "--json"]) == 0
    payload, lines = _json_line(capsys)
    runs = {r["mode"]: r for r in payload["runs"]}
    assert set(runs) == {"device", "software"}
    for run in runs.values():
        assert run["read_noise"] == 0.05 and run["hidden"] == 8 and run["seed"] == 3
        assert run["test_accuracy"] > 0.4  # chance: 0.25
    for extra, message in ((["--optimizer", "sgd"], "allowed: adam"),
                           (["--preset", "mtj-000"], "has no second polariser"),
                           (["--read-noise", "2"], "read_noise")):
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    assert main(["train", "--backend", "model", "--read-noise", "0.1"]) == 2
    assert "read noise is a setting of the two-polariser backend" in capsys.readouterr().err

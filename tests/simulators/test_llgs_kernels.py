"""The fused LLGS kernels (numba on CPU, Triton on CUDA) against Philox's published vectors,
against each other and against the torch reference's physics (papers 000 and 002 SI Eq. S3).
"""

import dataclasses
import inspect
import json
import os
import platform
import subprocess
import sys
import textwrap
import types

import numba
import numpy as np
import pytest
from numba import njit

from protocols.fitting import fit_sigmoid, wilson_interval
from simulators.analytic import boltzmann_transverse, brown_mean_first_passage, neel_time
from simulators.llgs_kernels import (
    FusedLLGS,
    choose_backend,
    cuda_present,
    pulse_fractions,
    resolve_device,
    triton_present,
)
from simulators.llgs_kernels import cpu as cpu_kernel
from simulators.llgs_kernels.junctions import junction_arrays, kernel_supports
from simulators.llgs_kernels.philox import philox4x32_10, seed_key, uniform_open, words
from simulators.llgs_pulse import Pulse
from simulators.macrospin import Macrospin, macrospin_preset
from simulators.psw import simulate_psw

MTJ = macrospin_preset("mtj-000")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _along_z(n, tilt_deg=0.0):
    t = np.deg2rad(tilt_deg)
    return np.ascontiguousarray(np.tile([[np.sin(t)], [0.0], [np.cos(t)]], (1, n)), np.float32)


# -- the generator ------------------------------------------------------------------------
# Random123's known-answer vectors for Philox4x32-10 (kat_vectors: counter, key -> output)
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF, 0xFFFFFFFF), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KAT)
def test_philox_matches_published_vectors(counter, key, expected):
    out = philox4x32_10(*(np.uint64(c) for c in counter), *(np.uint64(k) for k in key))
    assert tuple(int(w) for w in out) == expected


@njit
def _numba_words(c0, c1, k0, k1):
    out = np.empty((4, c0.size), np.uint32)
    for i in range(c0.size):
        w = cpu_kernel._philox(np.uint32(c0[i]), np.uint32(c1), cpu_kernel.STREAM,
                               cpu_kernel.U32_ZERO, np.uint32(k0), np.uint32(k1))
        out[0, i], out[1, i], out[2, i], out[3, i] = w
    return out


def test_kernel_philox_is_the_reference_philox():
    trajectories = np.arange(0, 2**32, 2**32 // 1000 + 7, dtype=np.uint64)
    expected = np.array(words(0xDEADBEEF12345, trajectories, 123456, 0))
    got = _numba_words(trajectories, 123456, *seed_key(0xDEADBEEF12345))
    assert np.array_equal(got, expected.astype(np.uint32))


def test_uniforms_are_open_and_uniform():
    w = words(3, np.arange(200_000), 0, 0)
    u = uniform_open(w[0])
    assert u.min() > 0 and u.max() < 1
    counts, _ = np.histogram(u, bins=20, range=(0, 1))
    chi2 = ((counts - u.size / 20) ** 2 / (u.size / 20)).sum()
    assert chi2 < 43.8  # chi^2 with 19 dof, p = 0.001


# -- keying: a trajectory's noise is its own ------------------------------------------------
def test_results_do_not_depend_on_batch_or_chunking():
    n = 600
    currents = np.linspace(0.0, 25e-6, n)
    whole = FusedLLGS(MTJ, 5e-12, seed=11)
    m_whole, _ = whole.run(whole.initial_states(n), currents, Pulse(1e-9, relax=0.0))
    part = FusedLLGS(MTJ, 5e-12, seed=11)  # trajectories 200..399 alone
    m_part, _ = part.run(part.initial_states(200, trajectory0=200), currents[200:400],
                         Pulse(1e-9, relax=0.0), trajectory0=200)
    assert np.array_equal(m_part, m_whole[:, 200:400])
    relax = FusedLLGS(MTJ, 5e-12, seed=4)  # zero current: one 2 ns run == two 1 ns runs
    once, _ = relax.run(_along_z(300), np.zeros(300), Pulse(2e-9, relax=0.0))
    twice = FusedLLGS(MTJ, 5e-12, seed=4)
    m = twice.run(_along_z(300), np.zeros(300), Pulse(1e-9, relax=0.0))[0]
    m = twice.run(m, np.zeros(300), Pulse(1e-9, relax=0.0))[0]
    assert np.array_equal(once, m)
    # runs of 199, 1 and 200 steps: a run may end inside a Philox call's pair of steps and
    # the next start inside it (normals.py); the odd step draws what it drew in one run
    thrice = FusedLLGS(MTJ, 5e-12, seed=4)
    m = thrice.run(_along_z(300), np.zeros(300), Pulse(995e-12, relax=0.0))[0]
    m = thrice.run(m, np.zeros(300), Pulse(5e-12, relax=0.0))[0]
    m = thrice.run(m, np.zeros(300), Pulse(1e-9, relax=0.0))[0]
    assert thrice.step == 400
    assert np.array_equal(m, once)
    other = FusedLLGS(MTJ, 5e-12, seed=5).run(_along_z(300), np.zeros(300),
                                               Pulse(2e-9, relax=0.0))[0]
    assert not np.allclose(other, once, atol=1e-3)  # the seed matters


# every residue of the widest vector body (AVX-512's 16 float lanes, cpu.INTERLEAVE = 2
# vectors per iteration) and, with the lengths, the scalar remainder: alone (1, 5, 31), after
# a vector body (37) and across a block boundary (300)
LANE_OFFSETS = range(33)
LANE_LENGTHS = (1, 5, 31, 37, 300)


def _lane_sweep(integrate, n=612, seed=13):
    """Trajectories 0..n-1 (three blocks) in one batch, then again in batches starting at
    each of LANE_OFFSETS, so each trajectory sits in every lane of a vector and in the scalar
    remainder of the lane loop; 12 steps from an odd step (the lone first and last steps and
    the pairs of one Philox call each), the currents of both signs through a trapezoid.
    Returns the batch's (state, worst) and the (offset, length) of every batch whose bits
    differ from the batch's."""
    runner = FusedLLGS(MTJ, 5e-12, seed)
    params, shared, shapes = runner._prepare(
        np.linspace(-40e-6, 40e-6, n), Pulse(40e-12, rise=10e-12, fall=10e-12, relax=0.0),
        None)
    start = runner.initial_states(n)

    def run(first, count):
        m, worst = start[:, first:first + count].copy(), np.zeros(count, np.float32)
        integrate(m, np.ascontiguousarray(params[:, first:first + count]), shared, shapes,
                  *runner.key, first, 3, 5e-12, worst)
        return m, worst

    m, worst = run(0, n)
    differing = []
    for first in LANE_OFFSETS:
        for count in LANE_LENGTHS:
            part_m, part_worst = run(first, count)
            if not (np.array_equal(part_m, m[:, first:first + count])
                    and np.array_equal(part_worst, worst[first:first + count])):
                differing.append((first, count))
    assert (m != start).any(0).all() and worst.min() > 0  # every state moved
    return m, worst, differing


def test_results_do_not_depend_on_lane_position():
    """A trajectory gets the same bits in every SIMD lane and in the scalar remainder: each
    lane does the same IEEE operations in the same order (cpu.FASTMATH; with full fastmath's
    reciprocal estimates 19 of these 165 batches differed in the last bits on AVX2, all 165
    on AVX-512 with 16 lanes)."""
    from simulators.llgs_kernels import cpu_native

    _, _, differing = _lane_sweep(cpu_native.integrate)
    assert differing == []


# builds of the kernel for other SIMD widths than the host's: numba's NUMBA_CPU_FEATURES (the
# host's features with some removed), each build's arrays saved by a new process
SIMD_BUILDS = {  # name: (host features it needs, changes to the host's, has FMA)
    "avx512-zmm": (("avx512f", "fma"), ",-prefer-256-bit", True),  # 16 float lanes
    "avx512-ymm": (("avx512f", "fma"), ",+prefer-256-bit", True),  # AVX-512 code, 8 lanes
    "avx2": (("avx2", "fma"), ",-avx512f", True),  # 8 lanes
    "sse": (("sse4.2",), ",-avx", False),  # 4 lanes, no FMA (SSE4.2 at most)
}
SIMD_BUILD_SCRIPT = textwrap.dedent("""
    import runpy, sys, numpy as np
    from simulators.llgs_kernels import cpu_native
    sweep = runpy.run_path(sys.argv[1])["_lane_sweep"]
    assert cpu_native.kernel() is not None, "the machine code did not build or load"
    m, worst, differing = sweep(cpu_native.integrate)
    np.savez(sys.argv[2], m=m, worst=worst, differing=np.array(differing).reshape(-1, 2))
""")


def _host_features() -> dict:
    import llvmlite.binding as llvm

    return llvm.get_host_cpu_features()


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                    reason="the builds are x86 SIMD widths")
@pytest.mark.parametrize("build", list(SIMD_BUILDS))
def test_every_simd_width_gives_the_same_bits(build, tmp_path):
    """The kernel built for AVX-512 (16 lanes; and 8, the width LLVM prefers on Intel), AVX2
    and SSE, each run on this CPU: each build's lanes and remainder agree bit for bit
    (_lane_sweep), and every build with FMA gives the host build's bits. SSE has no FMA:
    each product is rounded before its sum, so 12 steps agree to float32 rounding (a few
    units of 6e-8 per step), not to the bit. A build this CPU cannot run is skipped by name
    (an AVX-512 build needs an AVX-512 CPU or an emulator)."""
    from simulators.llgs_kernels import cpu_native

    needs, change, fma = SIMD_BUILDS[build]
    host = _host_features()
    missing = [feature for feature in needs if not host.get(feature)]
    if missing:
        pytest.skip(f"this CPU lacks {', '.join(missing)}: the {build} build cannot run here")
    out = tmp_path / "build.npz"
    env = {**os.environ, "PYTHONPATH": ROOT, "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
           "NUMBA_CPU_FEATURES": host.flatten() + change}
    env.pop("NUMBA_CPU_NAME", None)
    subprocess.run([sys.executable, "-c", SIMD_BUILD_SCRIPT, __file__, str(out)], env=env,
                   check=True, capture_output=True, text=True)
    built = np.load(out)
    assert built["differing"].size == 0, built["differing"]
    m, worst, _ = _lane_sweep(cpu_native.integrate)
    if fma == bool(host.get("fma")):
        np.testing.assert_array_equal(built["m"], m)
        np.testing.assert_array_equal(built["worst"], worst)
    else:
        np.testing.assert_allclose(built["m"], m, rtol=0, atol=1e-6)
        assert not np.array_equal(built["m"], m)  # rounded apart: not the FMA build's bits


def test_thermal_field_has_the_fluctuation_dissipation_variance():
    """One step from +z at zero current moves m by gamma' u dt times a unit normal (to first
    order), independently in x and y: the kernel's Box-Muller draws are N(0, 1)."""
    device = dataclasses.replace(MTJ, k_bulk=0.0, k_interface=0.0)  # no anisotropy
    n, dt = 100_000, 1e-13
    runner = FusedLLGS(device, dt, seed=9)
    m, _ = runner.run(_along_z(n), np.zeros(n), Pulse(dt / 2, relax=0.0))
    gamma_ll = device.gamma / (1 + device.alpha**2)
    scale = gamma_ll * device.thermal_field_std(dt) * dt
    for component in (m[0] / scale, m[1] / scale):
        assert abs(component.mean()) < 4 / np.sqrt(n)
        assert abs(component.std() - 1) < 0.015
        kurtosis = np.mean(component**4) / np.mean(component**2) ** 2
        assert abs(kurtosis - 3) < 0.1  # Gaussian, not a few-point distribution


def _numpy_gaussians(seed, trajectories, step):
    """normals.py's layout in float64 numpy: one Philox call per two steps, three Box-Muller
    pairs A, B, C; the even step takes (A cos, A sin, C cos), the odd (B cos, B sin, C sin)."""
    w0, w1, w2, w3 = words(seed, trajectories, step // 2, 0)
    low8, low16, two = np.uint64(0xFF), np.uint64(0xFFFF), np.uint64(2)
    pairs = {  # radius word, 16-bit angle, quadrant bits
        "A": (w0, w3 >> np.uint64(16), w2),
        "B": (w1, w3 & low16, w2 >> two),
        "C": (w2, ((w0 & low8) << np.uint64(8)) | (w1 & low8), w2 >> (two + two)),
    }
    odd = step % 2 == 1
    out = []
    for pair, use_sin in (("B" if odd else "A", False), ("B" if odd else "A", True), ("C", odd)):
        radius_word, angle16, quadrant = pairs[pair]
        r = np.sqrt(-2 * np.log(uniform_open(radius_word)))
        angle = (angle16.astype(np.float64) + 0.5) * 2.0**-16 * np.pi / 2
        bit = (quadrant >> np.uint64(1 if use_sin else 0)) & np.uint64(1)
        out.append(r * (np.sin(angle) if use_sin else np.cos(angle)) * (1 - 2.0 * bit))
    return np.array(out)


def test_two_steps_draw_six_independent_standard_normals():
    """One Philox call gives two steps' thermal fields (normals.py): across 2e5 trajectories
    the six normals have mean 0, variance 1 and a Gaussian kurtosis, and neither they nor
    their squares are correlated (the squares catch normals sharing a radius or angle bits,
    e.g. pair C's cos on the even step and sin on the odd). The kernel draws these normals:
    the lab-frame test below holds it to this layout over 20 steps of both parities."""
    n = 200_000
    normals = np.concatenate([_numpy_gaussians(5, np.arange(n), 6),
                              _numpy_gaussians(5, np.arange(n), 7)])
    assert np.abs(normals.mean(1)).max() < 5 / np.sqrt(n)
    assert np.abs(normals.std(1) - 1).max() < 0.01
    kurtosis = (normals**4).mean(1) / (normals**2).mean(1) ** 2
    assert np.abs(kurtosis - 3).max() < 0.06
    bound = 5 / np.sqrt(n)
    for values in (normals, normals**2):
        correlation = np.corrcoef(values) - np.eye(6)
        assert np.abs(correlation).max() < bound


def _numpy_rk4(m, params, shared, shapes, seed, dt):
    """The Landau-Lifshitz form of simulators/llgs.py written out in the lab frame, float64:
    dm/dt = -gamma' [m x A + m (m.B) - B (m.m)], A = H - alpha a sigma, B = alpha H + a sigma."""
    g, alpha, cx, cy, cz, aj, u, p2s, fl = params.astype(float)
    sigma, h_ext = shared[:3].astype(float)[:, None], shared[3:].astype(float)[:, None]
    c = np.array([cx, cy, cz])
    m = m.astype(float)

    def rate(m, h, a):
        h = h + c * m
        a = a / (1 + p2s * (sigma * m).sum(0))
        big_a, big_b = h - alpha * a * sigma, alpha * h + a * sigma
        return -g * (np.cross(m, big_a, axis=0) + m * (m * big_b).sum(0)
                     - big_b * (m * m).sum(0))

    for step, (f0, fh, f1) in enumerate(shapes.astype(float)):
        h = u * _numpy_gaussians(seed, np.arange(m.shape[1]), step) + h_ext \
            + fl * aj * fh * sigma
        k1 = rate(m, h, aj * f0)
        k2 = rate(m + dt / 2 * k1, h, aj * fh)
        k3 = rate(m + dt / 2 * k2, h, aj * fh)
        k4 = rate(m + dt * k3, h, aj * f1)
        m = m + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        m = m / np.linalg.norm(m, axis=0)
    return m


@pytest.mark.parametrize("sigma", [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1),
                                   (0, 0, -1)])
def test_kernel_integrates_the_lab_frame_equation_for_sigma_along_any_axis(sigma):
    """The kernel turns its frame so that sigma is its z axis (cpu._rate); with sigma along
    each axis and either sign, an anisotropy different on every axis, a tilted external field,
    the angular STT factor and a field-like torque, 20 steps agree with the lab-frame equation
    written out in float64 numpy with the same Philox normals on their physical axes."""
    n, dt = 512, 5e-12
    params, shared = junction_arrays(MTJ, np.linspace(-40e-6, 40e-6, n), dt)
    params[2] *= 0.3  # anisotropy distinct on every axis
    params[8] = 0.4  # field-like fraction
    shared[:] = [*sigma, 0.011, -0.007, 0.005]
    shapes = pulse_fractions(Pulse(60e-12, rise=20e-12, fall=20e-12, relax=0.0), dt)
    rng = np.random.default_rng(4)
    start = rng.normal(size=(3, n))
    start = np.ascontiguousarray(start / np.linalg.norm(start, axis=0), np.float32)
    expected = _numpy_rk4(start, params, shared, shapes, 77, dt)
    got = start.copy()
    cpu_kernel.integrate(got, params, shared, shapes, *seed_key(77), 0, 0, dt,
                         np.zeros(n, np.float32))
    np.testing.assert_allclose(got, expected, atol=1e-5)  # float32 rounding: 3e-6 seen
    assert np.abs(expected - start).max() > 1e-2  # the steps moved the states


def _counted_block_steps(m, params, shared, frame, k0, k1, trajectory0, step, both, lo, hi,
                         shapes, s, h, worst):
    """A stand-in for cpu._block_steps that counts its calls in worst[lo]."""
    worst[lo] += np.float32(1.0)


def test_the_step_loop_is_compiled_once():
    """cpu._one_block calls the step loop for a step alone and for two steps per Philox call:
    numba compiles the loop, the bulk of the first run's compile time on a new machine, for
    one signature only (a literal step index typed a second copy and doubled that time).
    _one_block is compiled afresh here with a fresh stand-in for the loop that counts its
    calls, so the signatures counted are _one_block's calls alone, whatever this process
    compiled before (the kernel's C entry, for one, types the loop for its uint32 indices)."""
    assert inspect.signature(_counted_block_steps) == \
        inspect.signature(cpu_kernel._block_steps.py_func)
    counted = njit(_counted_block_steps)
    source = cpu_kernel._one_block.py_func
    one_block = njit(fastmath=cpu_kernel.FASTMATH, error_model="numpy")(types.FunctionType(
        source.__code__, {**source.__globals__, "_block_steps": counted}, source.__name__))
    n, dt = 300, 5e-12
    params, shared = junction_arrays(MTJ, np.full(n, 20e-6), dt)
    shapes = pulse_fractions(Pulse(25e-12, relax=0.0), dt)  # five steps
    calls = np.zeros(n, np.float32)
    one_block(_along_z(n), params, shared, shapes, *(np.uint32(k) for k in seed_key(1)), 0, 3,
              np.float32(dt), calls, 0)
    assert calls[0] == 3  # step 3 alone, then steps 4-5 and 6-7 in pairs
    assert len(counted.signatures) == 1


def test_per_trajectory_junctions_are_each_their_own():
    """Device-to-device variation: a batch mixing two junctions gives each trajectory the
    result it gets in a batch of its own junction (the noise is keyed by trajectory)."""
    soft = dataclasses.replace(MTJ, k_bulk=MTJ.k_bulk * 0.9, name="soft")
    devices = [MTJ, soft] * 100
    currents = np.full(200, 18e-6)
    mixed = FusedLLGS(devices, 5e-12, seed=2)
    m_mixed, _ = mixed.run(mixed.initial_states(200), currents, Pulse(2e-9, relax=0.0))
    for device, offset in ((MTJ, 0), (soft, 1)):
        alone = FusedLLGS(device, 5e-12, seed=2)
        m0 = alone.initial_states(200)
        m_alone, _ = alone.run(m0, currents, Pulse(2e-9, relax=0.0))
        assert np.array_equal(m_mixed[:, offset::2], m_alone[:, offset::2])


def _vector_lines(dispatcher) -> list[str]:
    return [line for line in dispatcher.inspect_asm(dispatcher.signatures[0]).splitlines()
            if "ymm" in line or "xmm" in line]


def _scaled_add(a, b):
    for i in range(a.size):
        a[i] = a[i] * b[i] + 1.0


def test_kernel_leaves_the_vectoriser_options_as_it_found_them():
    """The CPU kernel compiles with LLVM interleaving two SIMD vectors per iteration, a
    process-wide option: it is put back after each call, so numba code compiled afterwards
    comes out as it did before (and the comparison would see a leftover option: checked by
    setting one on purpose)."""
    import llvmlite.binding as llvm

    args = (np.zeros(256, np.float32), np.ones(256, np.float32))
    before = njit(fastmath=True)(_scaled_add)
    before(*args)
    runner = FusedLLGS(MTJ, 5e-12, seed=0)
    runner.run(_along_z(40), np.zeros(40), Pulse(10e-12, relax=0.0))
    after = njit(fastmath=True)(_scaled_add)
    after(*args)
    assert _vector_lines(after) == _vector_lines(before)
    llvm.set_option("", "-force-vector-interleave=1")  # LLVM interleaves this small loop
    try:
        forced = njit(fastmath=True)(_scaled_add)
        forced(*args)
    finally:
        llvm.set_option("", "-force-vector-interleave=0")
    assert _vector_lines(forced) != _vector_lines(before)


@pytest.mark.parametrize("pulse", [Pulse(30e-9), Pulse(0.1e-9, rise=12.5e-12, fall=40e-12),
                                   Pulse(1e-9, rise=0.3e-9, fall=0.0, relax=0.0)])
def test_pulse_fractions_are_the_pulse_shape_at_every_step(pulse):
    """The array form of the pulse is Pulse.shape step by step, to the last bit, edges and
    zero-length ramps included."""
    dt = 2.5e-12
    times = np.arange(len(pulse_fractions(pulse, dt))) * dt
    expected = np.array([[pulse.shape(t), pulse.shape(t + dt / 2), pulse.shape(t + dt)]
                         for t in times], np.float32)
    got = pulse_fractions(pulse, dt)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.array_equal(got, expected)
    assert got.max() == 1.0  # the plateau is reached


# -- physics: the reference's analytic limits, now through the kernel ----------------------
def test_norm_stays_one():
    runner = FusedLLGS(MTJ, 5e-12, seed=0)
    m, worst = runner.run(_along_z(500), np.full(500, 20e-6), Pulse(10e-9, relax=0.0))
    assert np.abs(np.linalg.norm(m, axis=0) - 1).max() < 1e-5
    assert 0 < worst < 1e-3


@pytest.mark.parametrize("efficiency", ["constant", "angular"])
def test_zero_temperature_threshold_matches_analytic_critical_current(efficiency):
    device = dataclasses.replace(MTJ, temperature=1e-9, stt_efficiency=efficiency)
    analytic = device.critical_current()
    currents = analytic * np.linspace(0.8, 1.2, 41)
    m, _ = FusedLLGS(device, 5e-12).run(_along_z(currents.size, 2.0), currents, Pulse(200e-9))
    switched = m[2] < 0
    assert not switched[0] and switched[-1]
    assert np.all(np.diff(switched.astype(int)) >= 0)  # one threshold, no re-entry
    threshold = currents[np.argmax(switched)]
    assert abs(threshold / analytic - 1) < 0.10, (threshold, analytic)


@pytest.mark.parametrize(("dt", "tolerance"), [(5e-12, 0.12), (2.5e-12, 0.03)])
def test_thermal_equilibrium_obeys_boltzmann(dt, tolerance):
    """Held-noise RK4 runs cold at 5 ps (the reference: 0.91 x Boltzmann, bench/RESULTS.md)
    and converges as dt shrinks; the kernel shares the scheme and its bias."""
    n = 2000
    runner = FusedLLGS(MTJ, dt, seed=1)
    m, _ = runner.run(_along_z(n), np.zeros(n), Pulse(5e-9, relax=0.0))
    samples = []
    for _ in range(20):
        m, _ = runner.run(m, np.zeros(n), Pulse(1e-9, relax=0.0))
        samples.append(float((m[0] ** 2 + m[1] ** 2).mean()))
    expected = boltzmann_transverse(MTJ.barrier())
    assert abs(np.mean(samples) / expected - 1) < tolerance, (np.mean(samples), expected)


def test_initial_states_are_boltzmann():
    runner = FusedLLGS(MTJ, 5e-12, seed=3)
    m = runner.initial_states(100_000)
    transverse = m[0] ** 2 + m[1] ** 2
    expected = boltzmann_transverse(MTJ.barrier())
    assert abs(transverse.mean() / expected - 1) < 4 * transverse.std() / expected / 316
    assert (m[2] > 0).all()


def test_low_barrier_mean_first_passage_matches_brown():
    """Delta = 5, axially symmetric: mean time from m_z = 1 to the equator, looking every 4
    steps with the Brownian-bridge correction of tests/simulators/test_llgs.py. Thousands of 4-step
    calls: one thread, so that no call waits for a second one on a busy machine."""
    numba.set_num_threads(1)
    try:
        _brown_first_passage()
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def _brown_first_passage():
    device = dataclasses.replace(MTJ.with_barrier(5.0, "low"), alpha=0.1)
    expected = brown_mean_first_passage(device.barrier(), neel_time(device))
    runner = FusedLLGS(device, 5e-12, seed=2)
    rng = np.random.default_rng(2)
    segment = Pulse(4 * 5e-12, relax=0.0)
    n = 4000
    at_top = _along_z(n, 90.0)
    moved, _ = runner.run(at_top, np.zeros(n), segment)
    s2 = float((moved[2] ** 2).mean())
    m = _along_z(n)
    z_before = m[2].copy()
    passage = np.full(n, np.nan)
    t = 0.0
    while np.isnan(passage).any() and t < 15 * expected:
        m, _ = runner.run(m, np.zeros(n), segment)
        t += segment.duration
        z = m[2]
        bridge = np.exp(-2 * np.clip(z_before, 0, None) * np.clip(z, 0, None) / s2)
        crossed = np.isnan(passage) & ((z < 0) | (rng.random(n) < bridge))
        passage[crossed] = t - segment.duration / 2
        z_before = z.copy()
    assert np.isnan(passage).mean() < 1e-3
    assert abs(np.nanmean(passage) / expected - 1) < 0.05, (np.nanmean(passage), expected)


def test_psw_curve_agrees_with_the_torch_reference(monkeypatch):
    """One P_sw curve (paper 000 Fig. 1b's 15 kT junction, 30 ns) from the kernel and from the
    eager torch reference: the 99 % Wilson intervals overlap at every current and the
    sigmoid centres agree within 3 sigma."""
    monkeypatch.setenv("SPINHIL_LLGS_COMPILE", "0")
    device = macrospin_preset("mtj-000-15kT")
    currents = device.critical_current() * np.linspace(0.3, 1.2, 13)
    trials = 200
    fused = simulate_psw(device, currents, 30e-9, trials, seed=1, backend="numba")
    reference = simulate_psw(device, currents, 30e-9, trials, seed=1, backend="torch")
    assert fused.backend == "numba" and reference.backend == "torch"
    lo_f, hi_f = wilson_interval(fused.counts, trials, 0.99)
    lo_r, hi_r = wilson_interval(reference.counts, trials, 0.99)
    assert np.all((lo_f <= hi_r) & (lo_r <= hi_f)), (fused.counts, reference.counts)
    a = fit_sigmoid(currents, fused.p_switch, trials)
    b = fit_sigmoid(currents, reference.p_switch, trials)
    assert abs(a.i_bias - b.i_bias) < 3 * np.hypot(a.i_bias_err, b.i_bias_err)
    assert 0.05 < fused.p_switch[6] < 0.95  # the window is inside the sweep


def test_a_one_call_torch_run_compiles_only_above_the_measured_cross_over(monkeypatch):
    """The reference's one-call curve compiles only when its junction-steps exceed
    COMPILE_FROM_JUNCTION_STEPS (below, the first eager call is the faster: measured in
    bench/llgs/llgs_compile.py); the integrator is asked for what the size calls for."""
    from simulators import llgs

    asked = []

    class Recorded(llgs.LLGSIntegrator):
        def __init__(self, *args, compiled=True, **kwargs):
            asked.append(compiled)
            super().__init__(*args, compiled=False, **kwargs)

        def run(self, m, *args, **kwargs):  # the size decides, not the integration
            return m, 0.0

    monkeypatch.setattr(llgs, "LLGSIntegrator", Recorded)
    device = macrospin_preset("mtj-000")
    pulse = Pulse(1e-9, relax=0.0)
    steps = llgs.chunked_steps(pulse.duration, device.default_dt)
    at = int(np.ceil(llgs.COMPILE_FROM_JUNCTION_STEPS / steps))
    for trials in (at - 1, at):
        llgs.simulate_switching(device, [10e-6], pulse, trials)
    assert asked == [False, True]


# -- dispatch and devices --------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _TwoPolariserMacrospin(Macrospin):
    """Stands for physics the kernels lack (a subclass may change the torques)."""

    second_polariser: float = 0.0


def test_physics_the_kernels_lack_falls_back_to_the_reference():
    assert kernel_supports(MTJ)
    exotic = _TwoPolariserMacrospin(**{f.name: getattr(MTJ, f.name)
                                       for f in dataclasses.fields(MTJ)})
    assert not kernel_supports(exotic)
    assert choose_backend("cpu", exotic) == "torch"
    assert choose_backend("cpu", MTJ) == "numba"
    with pytest.raises(ValueError, match="backend = 'numba' lacks physics"):
        choose_backend("cpu", exotic, "numba")
    with pytest.raises(ValueError, match="backend = 'fast' is not one of"):
        choose_backend("cpu", MTJ, "fast")
    with pytest.raises(ValueError, match="has physics the fused kernels lack"):
        junction_arrays(exotic, np.zeros(2), 5e-12)


def test_device_selection():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if cuda_present() else "cpu")
    with pytest.raises(ValueError, match="device = 'tpu' is not one of auto, cpu, cuda"):
        resolve_device("tpu")
    if not cuda_present():
        with pytest.raises(ValueError, match="device = 'cuda': no CUDA device is present"):
            resolve_device("cuda")


def test_bad_input_is_refused_with_the_field():
    with pytest.raises(ValueError, match="seed = -1 is outside the allowed range"):
        FusedLLGS(MTJ, 5e-12, seed=-1)
    with pytest.raises(ValueError, match=r"dt = .* exceeds the RK4 stability limit"):
        FusedLLGS(MTJ, 1e-10).run(_along_z(2), np.full(2, 20e-6), Pulse(1e-9))
    with pytest.raises(ValueError, match="trials = 0 is outside"):
        simulate_psw(MTJ, [10e-6], 30e-9, 0)


def test_a_spin_direction_off_the_axes_is_refused(monkeypatch):
    """The kernels turn their frame by permuting axes, which only a sigma along an axis
    allows; a tilted one (no preset has it) is refused by name, never integrated wrongly."""
    monkeypatch.setattr(Macrospin, "spin_direction", property(lambda self: np.array([0.6, 0.0,
                                                                                      0.8])))
    with pytest.raises(ValueError, match=r"spin_direction = .*unit vector along x, y or z"):
        junction_arrays(MTJ, np.full(4, 20e-6), 5e-12)


def test_cli_curve_runs_without_torch():
    """``hil simulate psw`` imports neither torch nor the lab's modules, nor numba (the kernel's
    machine code comes from its own cache) nor scipy (the fit is numpy): a fast start."""
    code = textwrap.dedent("""
        import sys
        from hil.cli import main
        code = main(["simulate", "psw", "--preset", "mtj-000", "--pulse-width", "5ns",
                     "--currents", "14uA:26uA:7", "--trials", "40", "--json"])
        heavy = [m for m in ("torch", "pymeasure", "pyvisa", "scipy.stats", "scipy.optimize",
                             "scipy.special", "numba") if m in sys.modules]
        print(heavy)
        sys.exit(code)
    """)
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True).stdout.splitlines()
    assert out[-1] == "[]"
    payload = json.loads(out[-2])
    assert payload["backend"] == "numba" and payload["device"] in ("cpu", "cuda")
    assert payload["p_switch"][0] < payload["p_switch"][-1]


def _pulse_inputs(n, seed=7, width=1e-9):
    runner = FusedLLGS(MTJ, 5e-12, seed)
    params, shared, shapes = runner._prepare(np.linspace(15e-6, 25e-6, n), Pulse(width), None)
    return runner, runner.initial_states(n), params, shared, shapes


def test_native_machine_code_gives_the_same_numbers_on_any_thread_count():
    """The cached machine code run without numba: bit for bit the same state and |m| error
    with one thread or three (blocks split unevenly: 1,300 trajectories are 6 blocks), and
    numba's own dispatcher's bits over the whole pulse: the fallback gives what the machine
    code gives."""
    from simulators.llgs_kernels import cpu_native

    runner, start, params, shared, shapes = _pulse_inputs(1300)
    args = (*runner.key, 5, 11, 5e-12)
    assert cpu_native.kernel() is not None
    results = []
    for threads in (1, 3):
        cpu_native.set_threads(threads)
        try:
            m, worst = start.copy(), np.zeros(1300, np.float32)
            cpu_native.integrate(m, params, shared, shapes, *args, worst)
        finally:
            cpu_native.set_threads(cpu_native.default_threads())
        results.append((m, worst))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])
    assert not np.array_equal(results[0][0], start)
    reference, worst = start.copy(), np.zeros(1300, np.float32)
    cpu_kernel.integrate(reference, params, shared, shapes, *args, worst)
    np.testing.assert_array_equal(results[0][0], reference)
    np.testing.assert_array_equal(results[0][1], worst)


def test_native_kernel_refuses_arrays_it_would_misread():
    from simulators.llgs_kernels import cpu_native

    _, start, params, shared, shapes = _pulse_inputs(10)
    worst = np.zeros(10, np.float32)
    with pytest.raises(ValueError, match="m: a C-contiguous float32 array of shape"):
        cpu_native.integrate(start.astype(float), params, shared, shapes, 1, 2, 0, 0, 5e-12,
                             worst)
    with pytest.raises(ValueError, match="params"):
        cpu_native.integrate(start, params[:, :5], shared, shapes, 1, 2, 0, 0, 5e-12, worst)
    with pytest.raises(ValueError, match="worst"):
        cpu_native.integrate(start, params, shared, shapes, 1, 2, 0, 0, 5e-12, worst[::2])
    with pytest.raises(ValueError, match="threads"):
        cpu_native.set_threads(0)


def test_native_kernel_builds_into_an_empty_cache_and_loads_it_in_a_new_process(tmp_path):
    """A first run compiles and writes the object file; a second process loads it (without
    numba) and draws the same numbers."""
    code = textwrap.dedent("""
        import sys, numpy as np
        from simulators.llgs_kernels import FusedLLGS, cpu_native
        from simulators.llgs_pulse import Pulse
        from simulators.macrospin import macrospin_preset
        ready = cpu_native.machine_code_ready()
        runner = FusedLLGS(macrospin_preset("mtj-000"), 5e-12, 3)
        m = runner.initial_states(300)
        m, _ = runner.run(m, np.full(300, 20e-6), Pulse(0.2e-9))
        print(ready, "numba" in sys.modules, float(m.sum()))
    """)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "PYTHONPATH": ROOT}
    first, second = (subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                    capture_output=True, text=True).stdout.split()
                     for _ in range(2))
    assert first[:2] == ["False", "True"]  # compiled: numba was needed
    assert second[:2] == ["True", "False"]  # loaded: no numba
    assert first[2] == second[2]
    assert len(list(tmp_path.glob("llgs-cpu-*.o"))) == 1


# -- the Triton kernel -----------------------------------------------------------------------
TRITON_VS_NUMBA = textwrap.dedent("""
    import json, numpy as np
    from simulators.llgs_kernels import FusedLLGS
    from simulators.llgs_pulse import Pulse
    from simulators.macrospin import macrospin_preset
    device = macrospin_preset("{preset}")
    n = 160  # two Triton programs, the second partly masked
    currents = np.linspace(5e-6, 30e-6, n)
    pulse = Pulse({width}, rise=10e-12, fall=10e-12, relax=0.0)
    cpu = FusedLLGS(device, 5e-12, seed=21, backend="numba")
    gpu = FusedLLGS(device, 5e-12, seed=21, device_name="{device}", backend="triton")
    m_cpu, m_gpu = cpu.initial_states(n, 5), gpu.initial_states(n, 5)
    for _ in range(2):  # pulses of an odd number of steps: the second starts on an odd step
        m_cpu, w_cpu = cpu.run(m_cpu, currents, pulse, trajectory0=5)
        m_gpu, w_gpu = gpu.run(m_gpu, currents, pulse, trajectory0=5)
    print(json.dumps({{"diff": float(np.abs(m_gpu.cpu().numpy() - m_cpu).max()),
                       "worst": [w_cpu, w_gpu]}}))
""")


def _triton_against_numba(device: str, preset: str, width: float, interpret: bool) -> dict:
    """Two runs of one pulse through both kernels (``width`` plus 20 ps of edges: an odd
    number of 5 ps steps, so the first run ends on an even step and the second starts on an
    odd one); the largest state difference and both kernels' worst norm errors."""
    env = dict(os.environ, PYTHONPATH=ROOT)
    if interpret:
        env["TRITON_INTERPRET"] = "1"
    script = TRITON_VS_NUMBA.format(preset=preset, width=width, device=device)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, check=True).stdout.splitlines()
    return json.loads(out[-1])


@pytest.mark.skipif(not triton_present(), reason="triton is not installed")
@pytest.mark.parametrize("preset", ["mtj-000", "sot-000"])
def test_triton_kernel_draws_the_numba_kernels_noise_interpreted(preset):
    """Under TRITON_INTERPRET=1 (no GPU needed) the Triton kernel integrates the same Philox
    noise as the CPU kernel: two runs of 13 steps through a trapezoid (the first ends on an
    even step, the second starts on an odd one) agree to float32 rounding."""
    result = _triton_against_numba("cpu", preset, 45e-12, interpret=True)
    assert result["diff"] < 2e-6, result  # 1.3e-7 and 3.1e-7 seen
    assert result["worst"][1] == pytest.approx(result["worst"][0], abs=1e-5)


def _ptxas_present() -> bool:
    if not triton_present():
        return False
    try:
        from triton.backends.nvidia.compiler import get_ptxas

        return os.path.exists(get_ptxas(90).path)
    except Exception:  # noqa: BLE001 - a Triton without its NVIDIA back end
        return False


@pytest.mark.skipif(not _ptxas_present(), reason="triton's NVIDIA back end (ptxas) is absent")
@pytest.mark.parametrize("arch", [80, 90])
def test_triton_kernel_compiles_for_nvidia_gpus_without_one(arch):
    """Triton's compiler, not its interpreter: the kernel lowers to PTX and ptxas makes
    machine code for sm_80 (A100) and sm_90 (H100, H200) on a machine with no GPU. That checks
    what interpretation cannot (types and constants in compiled code) and what costs speed on
    a GPU: no float64 arithmetic and no local memory (register spills or the range-reduction
    slow paths of library sin, cos and log, which the kernel's own series avoid)."""
    from simulators.llgs_kernels.cuda import compile_for

    kernel = compile_for(arch)
    ptx = kernel.asm["ptx"]
    assert len(kernel.asm["cubin"]) > 1000
    assert ".f64" not in ptx
    assert ".local" not in ptx
    assert ptx.count("mul.hi.u32") == 20  # Philox4x32-10: two products per round


@pytest.mark.skipif(not cuda_present(), reason="no CUDA device on this machine")
def test_triton_kernel_on_the_gpu_matches_the_cpu_kernel():
    result = _triton_against_numba("cuda", "mtj-000", 0.245e-9, interpret=False)
    assert result["diff"] < 1e-3, result  # 2 x 53 steps: contraction, div.full, sqrt.approx


@pytest.mark.skipif(not cuda_present(), reason="no CUDA device on this machine")
def test_gpu_psw_and_reference_generator_on_cuda():
    import torch

    from simulators.llgs import thermal_initial_states

    generator = torch.Generator(device="cuda").manual_seed(0)
    m = thermal_initial_states(MTJ, 1000, generator, device_name="cuda")
    assert m.device.type == "cuda"
    device = macrospin_preset("mtj-000-15kT")
    currents = device.critical_current() * np.linspace(0.3, 1.2, 13)
    gpu = simulate_psw(device, currents, 30e-9, 200, seed=1, device_name="cuda")
    cpu = simulate_psw(device, currents, 30e-9, 200, seed=1, device_name="cpu")
    assert gpu.backend == "triton"
    assert np.abs(gpu.counts - cpu.counts).max() <= 6  # same noise: few trajectories differ


@pytest.mark.skipif(cuda_present(), reason="checks the refusal where no GPU is present")
def test_cli_refuses_cuda_without_a_gpu(capsys):
    from hil.cli import main

    code = main(["simulate", "psw", "--preset", "mtj-000", "--device", "cuda", "--trials", "5"])
    assert code == 2
    assert "device = 'cuda': no CUDA device is present; allowed: cpu" in capsys.readouterr().err


def test_a_line_is_printed_before_the_kernel_compiles_and_not_after(tmp_path, monkeypatch):
    """First use on a machine compiles for tens of seconds: the CLI says so first."""
    import os
    import subprocess
    import sys

    from hil.banks.notices import kernel_compile_notice
    from simulators.llgs_kernels import cpu_native as cpu

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}  # an empty disk cache
    fresh = subprocess.run([sys.executable, "-c", "from simulators.llgs_kernels.cpu_native "
                            "import machine_code_ready as r; print(r())"], env=env,
                           capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == "False"
    monkeypatch.setattr(cpu, "machine_code_ready", lambda: False)
    assert "compiling the CPU kernel" in " ".join(kernel_compile_notice("mtj-000"))
    assert kernel_compile_notice("vcma-004") == []  # the torch reference: nothing to compile
    monkeypatch.setattr(cpu, "machine_code_ready", lambda: True)
    assert kernel_compile_notice("mtj-000") == []


def test_a_forked_child_runs_the_kernel_on_its_own_threads():
    """A process forked after the kernel ran on a thread pool (a multiprocessing pool, a
    Dask nanny) gets the pool object without its threads; it must not wait on them."""
    import multiprocessing

    from simulators.llgs_kernels import cpu_native

    runner, start, params, shared, shapes = _pulse_inputs(600)
    cpu_native.set_threads(2)
    try:
        parent = start.copy()
        cpu_native.integrate(parent, params, shared, shapes, *runner.key, 0, 0, 5e-12,
                             np.zeros(600, np.float32))
        with multiprocessing.get_context("fork").Pool(1) as pool:
            child = pool.apply_async(_integrate_in_child, (start, params, shared, shapes,
                                                           runner.key)).get(timeout=120)
    finally:
        cpu_native.set_threads(cpu_native.default_threads())
    np.testing.assert_array_equal(child, parent)


def _integrate_in_child(start, params, shared, shapes, key):
    from simulators.llgs_kernels import cpu_native

    m = start.copy()
    cpu_native.integrate(m, params, shared, shapes, *key, 0, 0, 5e-12,
                         np.zeros(m.shape[1], np.float32))
    return m


def test_a_kernel_that_cannot_load_falls_back_to_numbas_dispatcher(monkeypatch):
    """Machine code that cannot be built or loaded (an llvmlite without MCJIT, say) leaves the
    runs to numba's dispatcher, with one warning that says so."""
    from simulators.llgs_kernels import cpu_native

    def broken(code, meta):
        raise RuntimeError("no MCJIT here")

    monkeypatch.setattr(cpu_native, "_loaded", {})
    monkeypatch.setattr(cpu_native, "_load", broken)
    runner, start, params, shared, shapes = _pulse_inputs(300)
    m, reference = start.copy(), start.copy()
    with pytest.warns(UserWarning, match="no MCJIT here.*numba's dispatcher"):
        cpu_native.integrate(m, params, shared, shapes[:10], *runner.key, 0, 0, 5e-12,
                             np.zeros(300, np.float32))
    assert cpu_native.kernel() is None  # decided once: no second warning, no retry
    cpu_kernel.integrate(reference, params, shared, shapes[:10], *runner.key, 0, 0, 5e-12,
                         np.zeros(300, np.float32))
    np.testing.assert_array_equal(m, reference)


def test_machine_code_cache_goes_where_it_can_be_written(tmp_path, monkeypatch):
    """NUMBA_CACHE_DIR first; else the package's __pycache__; a read-only install (a system
    site-packages) caches under the user's ~/.cache/spinhil instead."""
    from simulators.llgs_kernels import cpu_native

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    assert cpu_native.cache_folder() == tmp_path / "numba"
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    package = tmp_path / "package"
    (package / "__pycache__").mkdir(parents=True)
    monkeypatch.setattr(cpu_native, "HERE", package)
    assert cpu_native.cache_folder() == package / "__pycache__"
    # a folder this user may not write to (root may write anywhere, so the check is told)
    monkeypatch.setattr(cpu_native.os, "access", lambda path, mode: False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user"))
    assert cpu_native.cache_folder() == tmp_path / "user" / "spinhil"


def test_ctrl_c_during_a_threaded_run_returns_once_the_kernel_stops_writing():
    """Ctrl-C while the pool's threads integrate: KeyboardInterrupt reaches the caller only
    after every range already running has finished, so nothing writes into the caller's
    arrays afterwards (they may be freed at once). The machine code is loaded (or built)
    first, whatever ran before in this process, so that the signal meets the threaded run
    and not the build."""
    import signal
    import threading
    import time

    from simulators.llgs_kernels import cpu_native

    assert cpu_native.kernel() is not None
    runner, start, params, shared, shapes = _pulse_inputs(4000, width=40e-9)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    cpu_native.set_threads(2)
    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    m = start.copy()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            cpu_native.integrate(m, params, shared, shapes, *runner.key, 0, 0, 5e-12,
                                 np.zeros(4000, np.float32))
        after = m.copy()
        time.sleep(0.3)
        np.testing.assert_array_equal(m, after)
    finally:
        timer.cancel()
        cpu_native.set_threads(cpu_native.default_threads())
        signal.signal(signal.SIGINT, previous)

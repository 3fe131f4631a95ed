"""The fused LLGS kernel for CUDA, in Triton: one program per BLOCK trajectories, the state in
registers for the whole pulse, the thermal field from Philox inside the kernel. Physics, noise
keying, the Box-Muller layout and the rate in sigma's frame are those of
simulators/llgs_kernels/cpu.py, so the two backends integrate the same noise (tested under
TRITON_INTERPRET=1 where no GPU is present). The step's lines repeat cpu.py's: numba needs
float32 constants and its own helpers where Triton needs its own, so one function cannot
serve both; the tests hold the two to the same numbers.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl
from triton.language.random import philox_impl

from simulators.llgs_kernels import normals

BLOCK = 128  # trajectories per program
LAUNCH_OPTIONS = {"enable_fp_fusion": True}  # contract into FMAs, as the CPU kernel (fastmath)
# _llgs_pulse's argument types, for compiling ahead of time (compile_for)
SIGNATURE = {**dict.fromkeys(("m_ptr", "params_ptr", "shared_ptr", "shapes_ptr", "worst_ptr"),
                             "*fp32"),
             **dict.fromkeys(("n", "n_steps", "key0", "key1", "trajectory0", "step0"), "i32"),
             "dt": "fp32", "BLOCK_SIZE": "constexpr"}


# normals.py's constants as Triton compile-time values (float32 in the arithmetic)
SQRT2, LN2, TWO_M24, ANGLE_UNIT = (tl.constexpr(c) for c in (
    normals.SQRT2, normals.LN2, normals.TWO_M24, normals.ANGLE_UNIT))
L3, L5, L7, L9 = (tl.constexpr(c) for c in (normals.L3, normals.L5, normals.L7, normals.L9))
S3, S5, S7, S9, S11 = (tl.constexpr(c) for c in (
    normals.S3, normals.S5, normals.S7, normals.S9, normals.S11))
C2, C4, C6, C8, C10, C12 = (tl.constexpr(c) for c in (
    normals.C2, normals.C4, normals.C6, normals.C8, normals.C10, normals.C12))


@triton.jit
def _uniform(word):
    """Top 24 bits of a uint32 word as a float32 in (0, 1)."""
    return ((word >> 8).to(tl.int32).to(tl.float32) + 0.5) * TWO_M24


@triton.jit
def _log(u):
    """cpu._log: natural log of a positive float32 from its exponent bits and a 2 atanh
    series on the mantissa folded into [sqrt(1/2), sqrt(2))."""
    bits = u.to(tl.int32, bitcast=True)
    exponent = (((bits >> 23) & 0xFF) - 127).to(tl.float32)
    mantissa = ((bits & 0x007FFFFF) | 0x3F800000).to(tl.float32, bitcast=True)
    big = mantissa > SQRT2
    mantissa = tl.where(big, mantissa * 0.5, mantissa)
    exponent = tl.where(big, exponent + 1.0, exponent)
    f = mantissa - 1.0
    s = f / (2.0 + f)
    s2 = s * s
    return exponent * LN2 + s * (2.0 + s2 * (L3 + s2 * (L5 + s2 * (L7 + s2 * L9))))


@triton.jit
def _gaussian_pair(radius_word, angle16, quadrant):
    """cpu._gaussian_pair: the same polynomials, so both backends draw the same normals."""
    r = tl.sqrt(-2.0 * _log(_uniform(radius_word)))
    x = (angle16.to(tl.int32).to(tl.float32) + 0.5) * ANGLE_UNIT
    x2 = x * x
    s = x * (1.0 + x2 * (S3 + x2 * (S5 + x2 * (S7 + x2 * (S9 + x2 * S11)))))
    c = 1.0 + x2 * (C2 + x2 * (C4 + x2 * (C6 + x2 * (C8 + x2 * (C10 + x2 * C12)))))
    sign_c = 1.0 - 2.0 * (quadrant & 1).to(tl.float32)
    sign_s = 1.0 - 2.0 * ((quadrant >> 1) & 1).to(tl.float32)
    return r * c * sign_c, r * s * sign_s


@triton.jit
def _thermal_normals(w0, w1, w2, w3):
    """cpu._thermal_normals: normals.py's six normals of one Philox call, the even step's
    three, then the odd step's."""
    a0, a1 = _gaussian_pair(w0, w3 >> 16, w2)
    b0, b1 = _gaussian_pair(w1, w3 & 0xFFFF, w2 >> 2)
    c0, c1 = _gaussian_pair(w2, ((w0 & 0xFF) << 8) | (w1 & 0xFF), w2 >> 4)
    return a0, a1, c0, b0, b1, c1


@triton.jit
def _rate(x, y, z, px, py, pz, q, alpha, cx, cy, cz, p):
    """cpu._rate: dm/dt in the frame where sigma is along z."""
    px = px + cx * x
    py = py + cy * y
    pz = pz + cz * z
    ux = y * pz - z * py
    uy = z * px - x * pz
    uz = x * py - y * px
    q = q / (1.0 + p * z)
    return (ux + alpha * (y * uz - z * uy) + q * (x * z - alpha * y),
            uy + alpha * (z * ux - x * uz) + q * (y * z + alpha * x),
            uz + alpha * (x * uy - y * ux) - q * (x * x + y * y))


@triton.jit
def _pick(v0, v1, v2, row):
    return tl.where(row == 0, v0, tl.where(row == 1, v1, v2))


@triton.jit
def _advance(x, y, z, nx, ny, nz, ng, alpha, cx, cy, cz, aj, u, p, fl, hx0, hy0, hz0, f0, fh,
             f1, h):
    """cpu._advance: one RK4 step in sigma's frame; the renormalised state and
    | |m| - 1 | before renormalising."""
    h2 = h * 0.5
    q0 = aj * f0
    qh = aj * fh
    q1 = aj * f1
    px = ng * (u * nx + hx0)
    py = ng * (u * ny + hy0)
    pz = ng * (u * nz + hz0) + fl * qh
    k1x, k1y, k1z = _rate(x, y, z, px, py, pz, q0, alpha, cx, cy, cz, p)
    k2x, k2y, k2z = _rate(x + h2 * k1x, y + h2 * k1y, z + h2 * k1z, px, py, pz, qh, alpha,
                          cx, cy, cz, p)
    k3x, k3y, k3z = _rate(x + h2 * k2x, y + h2 * k2y, z + h2 * k2z, px, py, pz, qh, alpha,
                          cx, cy, cz, p)
    k4x, k4y, k4z = _rate(x + h * k3x, y + h * k3y, z + h * k3z, px, py, pz, q1, alpha,
                          cx, cy, cz, p)
    w6 = h / 6.0
    x = x + w6 * (k1x + 2.0 * k2x + 2.0 * k3x + k4x)
    y = y + w6 * (k1y + 2.0 * k2y + 2.0 * k3y + k4y)
    z = z + w6 * (k1z + 2.0 * k2z + 2.0 * k3z + k4z)
    norm = tl.sqrt(x * x + y * y + z * z)
    return x / norm, y / norm, z / norm, tl.abs(norm - 1.0)


@triton.jit
def _llgs_pulse(m_ptr, params_ptr, shared_ptr, shapes_ptr, worst_ptr, n, n_steps, key0, key1,
                trajectory0, step0, dt, BLOCK_SIZE: tl.constexpr):
    offs = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    live = offs < n
    # cpu._sigma_frame: rows r0, r1, r2 are x, y, z of the frame where sigma = sign * z
    sx = tl.load(shared_ptr)
    sy = tl.load(shared_ptr + 1)
    r2 = tl.where(sx != 0.0, 0, tl.where(sy != 0.0, 1, 2))
    r0 = (r2 + 1) % 3
    r1 = (r2 + 2) % 3
    sign = tl.where(tl.load(shared_ptr + r2) > 0.0, 1.0, -1.0)
    x = tl.load(m_ptr + r0 * n + offs, mask=live, other=0.0)
    y = tl.load(m_ptr + r1 * n + offs, mask=live, other=0.0)
    z = tl.load(m_ptr + r2 * n + offs, mask=live, other=1.0)
    ng = -tl.load(params_ptr + offs, mask=live, other=0.0)
    alpha = tl.load(params_ptr + n + offs, mask=live, other=0.0)
    cx = ng * tl.load(params_ptr + (2 + r0) * n + offs, mask=live, other=0.0)
    cy = ng * tl.load(params_ptr + (2 + r1) * n + offs, mask=live, other=0.0)
    cz = ng * tl.load(params_ptr + (2 + r2) * n + offs, mask=live, other=0.0)
    aj = ng * sign * tl.load(params_ptr + 5 * n + offs, mask=live, other=0.0)
    u = tl.load(params_ptr + 6 * n + offs, mask=live, other=0.0)
    p = sign * tl.load(params_ptr + 7 * n + offs, mask=live, other=0.0)
    fl = tl.load(params_ptr + 8 * n + offs, mask=live, other=0.0)
    hx0 = tl.load(shared_ptr + 3 + r0)
    hy0 = tl.load(shared_ptr + 3 + r1)
    hz0 = tl.load(shared_ptr + 3 + r2)
    trajectory = (offs + trajectory0).to(tl.uint32)
    zero = trajectory * 0
    k0 = (zero + key0).to(tl.uint32)
    k1 = (zero + key1).to(tl.uint32)
    h = dt * 1.0
    worst = tl.zeros((BLOCK_SIZE,), dtype=tl.float32)
    b0 = tl.zeros((BLOCK_SIZE,), dtype=tl.float32)  # the odd step's normals, drawn with the even's
    b1 = b0
    b2 = b0
    for s in range(n_steps):
        step = step0 + s
        odd = step % 2 == 1
        if (s == 0) | (not odd):  # one Philox call per two steps (normals.py)
            w0, w1, w2, w3 = philox_impl(trajectory, zero + (step // 2).to(tl.uint32), zero,
                                         zero, k0, k1)
            a0, a1, a2, b0, b1, b2 = _thermal_normals(w0, w1, w2, w3)
            n0 = tl.where(odd, b0, a0)
            n1 = tl.where(odd, b1, a1)
            n2 = tl.where(odd, b2, a2)
        else:
            n0 = b0
            n1 = b1
            n2 = b2
        x, y, z, deviation = _advance(
            x, y, z, _pick(n0, n1, n2, r0), _pick(n0, n1, n2, r1), _pick(n0, n1, n2, r2), ng,
            alpha, cx, cy, cz, aj, u, p, fl, hx0, hy0, hz0, tl.load(shapes_ptr + 3 * s),
            tl.load(shapes_ptr + 3 * s + 1), tl.load(shapes_ptr + 3 * s + 2), h)
        worst = tl.maximum(worst, deviation)
    tl.store(m_ptr + r0 * n + offs, x, mask=live)
    tl.store(m_ptr + r1 * n + offs, y, mask=live)
    tl.store(m_ptr + r2 * n + offs, z, mask=live)
    tl.store(worst_ptr + offs, worst, mask=live)


def integrate(m: torch.Tensor, params: torch.Tensor, shared: torch.Tensor, shapes: torch.Tensor,
              key0: int, key1: int, trajectory0: int, step0: int, dt: float,
              worst: torch.Tensor) -> None:
    """cpu.integrate's contract on torch tensors (CUDA, or CPU under TRITON_INTERPRET=1):
    m (3, n) advanced in place through the (n_steps, 3) pulse fractions ``shapes``."""
    n = m.shape[1]
    if n == 0:
        return
    grid = (math.ceil(n / BLOCK),)
    _llgs_pulse[grid](m, params, shared, shapes, worst, n, shapes.shape[0], key0, key1,
                      trajectory0, step0, dt, BLOCK_SIZE=BLOCK, **LAUNCH_OPTIONS)


def compile_for(arch: int):
    """The kernel compiled ahead of time for NVIDIA sm_<arch> with the options a launch uses;
    needs Triton's NVIDIA back end (ptxas), not a GPU. ``.asm`` holds its PTX and cubin."""
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    return triton.compile(ASTSource(fn=_llgs_pulse, signature=SIGNATURE,
                                    constexprs={"BLOCK_SIZE": BLOCK}),
                          target=GPUTarget("cuda", arch, 32), options=LAUNCH_OPTIONS)

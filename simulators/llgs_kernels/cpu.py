"""The fused LLGS kernel for CPUs, compiled by numba (cached on disk, so a second process
loads machine code instead of compiling).

One call integrates a whole pulse. Threads take blocks of BLOCK trajectories (prange); inside
a block the steps run in order, two per loop over the block's trajectories (one Philox call
gives both steps' thermal fields: normals.py), which LLVM turns into SIMD lanes: the state,
the Philox rounds and the Box-Muller transform stay in registers and L1, nothing goes to
memory but the block's state, once per two steps. log, sin and cos are short polynomials
(libm calls would keep the loop scalar); error_model="numpy" drops the zero-division branches
and unsigned indices the negative-index ones, both of which would stop LLVM's vectoriser. An
iteration for one 8-lane vector is some 1,000 instructions along one long dependency chain
(ten Philox rounds, three Box-Muller pairs, eight RK4 stages), more than the core's reorder
window holds, so one vector at a time leaves the FMA units waiting on latency: the kernel is
compiled with LLVM's vectoriser interleaving two independent vectors per iteration
(INTERLEAVE), 1.2-1.6x faster on AVX2 (bench/RESULTS.md). Helpers inside the lane loop take
and return scalars: an array argument brings numba's reference counting into the loop, which
then stays scalar. Physics and noise keying are those
of simulators/llgs.py and simulators/llgs_kernels/philox.py; the step is computed in a frame
whose z axis is the spin direction (``_rate``), which takes a quarter of the RK4 arithmetic
away (1.2x the whole kernel, bench/RESULTS.md). SPINHIL_NUMBA_CACHE=0 compiles
afresh (no disk cache, numba's nor cpu_native's).

Every lane computes the same IEEE operations in the same order, so a trajectory's numbers do
not depend on its batch, its place in a block (a vector lane, or the scalar remainder of the
lane loop) or the CPU's SIMD width: numba's fastmath is narrowed to FASTMATH. Full fastmath
also allows estimates (``arcp``, ``afn``) and reassociation: LLVM on x86 then divides in
vector code by a reciprocal estimate and a Newton step (vrcpps; vrcp14ps on AVX-512's 16
lanes) but exactly in scalar code, so a trajectory's last bits differed between the vector
body, the narrower vectorised epilogue and the scalar remainder, and between AVX2 and
AVX-512 builds. Contraction into FMAs
stays (without it the kernel is slower: bench/llgs/llgs_kernel_parts.py): a build for any CPU with
FMA (AVX2, AVX-512 at 256 or 512 bits) gives the same bits; one without FMA (SSE,
first-generation AVX) rounds each product apart, the same in every lane, and agrees to
float32 rounding (tests/simulators/test_llgs_kernels.py builds each width). The cost beside
full fastmath (bench/RESULTS.md): none measurable at 8 lanes, 2-10 % at AVX-512's 16 lanes,
whose vector division is slow.

Runs do not call this module's dispatcher: ``native_object`` compiles the same step as a C
function over a range of blocks and hands its machine code to
simulators/llgs_kernels/cpu_native.py, which keeps it on disk and calls it without importing
numba (numba's import and cache load cost about 0.8 s of a command's start-up). ``integrate``
below is the fallback where that cannot load.
"""

from __future__ import annotations

import math
import os

import llvmlite.binding as llvm
import numpy as np
from llvmlite import ir
from numba import carray, cfunc, njit, prange, types
from numba.extending import intrinsic

from simulators.llgs_kernels import normals
from simulators.llgs_kernels.philox import STREAM_THERMAL_FIELD, philox4x32_10

CACHE = os.environ.get("SPINHIL_NUMBA_CACHE", "1") != "0"
BLOCK = 256  # trajectories per SIMD block: state and parameters fit in L1
INTERLEAVE = 2  # independent SIMD vectors per loop iteration (1: LLVM's cost model decides)
# no NaN or infinity (none arises), no signed zeros, FMA contraction; not arcp, afn or reassoc,
# whose estimates and reorderings differ between vector and scalar code (the module's notes)
FASTMATH = {"nnan", "ninf", "nsz", "contract"}

F32 = np.float32
ZERO, ONE, TWO, HALF = F32(0.0), F32(1.0), F32(2.0), F32(0.5)
SQRT2, LN2, HALF_PI, TWO_M24 = (F32(c) for c in (normals.SQRT2, normals.LN2, normals.HALF_PI,
                                                 normals.TWO_M24))
L3, L5, L7, L9 = (F32(c) for c in (normals.L3, normals.L5, normals.L7, normals.L9))
S3, S5, S7, S9, S11 = (F32(c) for c in (normals.S3, normals.S5, normals.S7, normals.S9,
                                        normals.S11))
C2, C4, C6, C8, C10, C12 = (F32(c) for c in (normals.C2, normals.C4, normals.C6, normals.C8,
                                             normals.C10, normals.C12))
U32, U64 = np.uint32, np.uint64
STREAM = U32(STREAM_THERMAL_FIELD)
U32_ZERO, U32_ONE, U32_TWO, U32_FOUR, U32_EIGHT, U32_SIXTEEN = (
    U32(0), U32(1), U32(2), U32(4), U32(8), U32(16))
LOW8, LOW16 = U32(0xFF), U32(0xFFFF)
ANGLE_UNIT = F32(normals.ANGLE_UNIT)
# numba widens uint32 arithmetic to 64 bits; outside Philox every result is cast back to
# uint32 so that LLVM keeps 32-bit lanes (eight per AVX2 register) and vectorises the loop


@intrinsic
def _float_bits(typingctx, x):
    """The IEEE bits of a float32 as int32 (an LLVM bitcast, free and vectorisable)."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return types.int32(types.float32), codegen


@intrinsic
def _bits_float(typingctx, x):
    if x != types.int32:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return types.float32(types.int32), codegen


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _log(u):
    """Natural log of a positive float32 (relative error ~1e-7): exponent from the bits,
    2 atanh series on the mantissa folded into [sqrt(1/2), sqrt(2))."""
    bits = _float_bits(u)
    exponent = F32(np.int32((bits >> 23) & 0xFF) - np.int32(127))
    mantissa = _bits_float(np.int32((bits & 0x007FFFFF) | 0x3F800000))
    big = mantissa > SQRT2
    mantissa = mantissa * HALF if big else mantissa
    exponent = exponent + ONE if big else exponent
    f = mantissa - ONE
    s = f / (TWO + f)
    s2 = s * s
    return exponent * LN2 + s * (TWO + s2 * (L3 + s2 * (L5 + s2 * (L7 + s2 * L9))))


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _sin_cos(x):
    """sin and cos of x in [0, pi/2]."""
    x2 = x * x
    s = x * (ONE + x2 * (S3 + x2 * (S5 + x2 * (S7 + x2 * (S9 + x2 * S11)))))
    c = ONE + x2 * (C2 + x2 * (C4 + x2 * (C6 + x2 * (C8 + x2 * (C10 + x2 * C12)))))
    return s, c


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _uniform(word):
    """Top 24 bits of a 32-bit word as a float32 in (0, 1)."""
    return (F32(np.int32(word >> U32_EIGHT)) + HALF) * TWO_M24


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _gaussian_pair(radius_word, angle16, quadrant):
    """Box-Muller: radius sqrt(-2 ln u) from the word's top 24 bits, angle in (0, pi/2) from
    16 bits and its quadrant from two more (normals.py's layout)."""
    r = math.sqrt(-TWO * _log(_uniform(radius_word)))
    s, c = _sin_cos((F32(np.int32(angle16)) + HALF) * ANGLE_UNIT)
    sign_c = ONE - TWO * F32(np.int32(quadrant & U32_ONE))
    sign_s = ONE - TWO * F32(np.int32(U32(quadrant >> U32_ONE) & U32_ONE))
    return r * c * sign_c, r * s * sign_s


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _thermal_normals(w0, w1, w2, w3):
    """The six normals of one Philox call (normals.py's layout): the even step's three, then
    the odd step's."""
    a0, a1 = _gaussian_pair(w0, U32(w3 >> U32_SIXTEEN), w2)
    b0, b1 = _gaussian_pair(w1, U32(w3 & LOW16), U32(w2 >> U32_TWO))
    c0, c1 = _gaussian_pair(w2, U32(U32(U32(w0 & LOW8) << U32_EIGHT) | U32(w1 & LOW8)),
                            U32(w2 >> U32_FOUR))
    return a0, a1, c0, b0, b1, c1


# philox.py's rounds, compiled into the lane loop
_philox_words = njit(inline="always", fastmath=FASTMATH, error_model="numpy")(philox4x32_10)


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _philox(c0, c1, c2, c3, k0, k1):
    """philox.philox4x32_10 on uint32 scalars, computed in 64-bit lanes: every word is masked
    to 32 bits, so LLVM knows the high halves are zero and each 32 x 32 -> 64-bit product is
    one vpmuludq on four lanes, its halves one shift and one mask, with no packing of
    results back into 32-bit lanes between rounds (1.16-1.24x the whole kernel against
    32-bit lanes, the same words: bench/RESULTS.md)."""
    a0, a1, a2, a3 = _philox_words(U64(c0), U64(c1), U64(c2), U64(c3), U64(k0), U64(k1))
    return U32(a0), U32(a1), U32(a2), U32(a3)


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _rate(x, y, z, px, py, pz, q, alpha, cx, cy, cz, p):
    """dm/dt of simulators/llgs.py in a frame whose z axis is the spin direction sigma:
    -gamma' [m x A + m x (m x B)], A = H - alpha a sigma, B = alpha H + a sigma, regrouped as
    m x P + alpha m x (m x P) + q T, with P = -gamma' H = (px, py, pz) + c m, the torque
    q = -gamma' a sign(sigma) / (1 + p z) (the angular STT efficiency, p = P^2 sign(I)
    sign(sigma); 0 for a constant efficiency or SOT) and
    T = -alpha m x z + m x (m x z) = (x z - alpha y, y z + alpha x, -(x^2 + y^2)). The same
    field, term for term (m x (m x B) = m (m.B) - B (m.m) for any m, so stage states off the
    unit sphere are treated alike), in about a quarter fewer operations, and the division
    by the angular factor runs beside the field terms instead of before them."""
    px = px + cx * x
    py = py + cy * y
    pz = pz + cz * z
    ux = y * pz - z * py
    uy = z * px - x * pz
    uz = x * py - y * px
    q = q / (ONE + p * z)
    return (ux + alpha * (y * uz - z * uy) + q * (x * z - alpha * y),
            uy + alpha * (z * ux - x * uz) + q * (y * z + alpha * x),
            uz + alpha * (x * uy - y * ux) - q * (x * x + y * y))


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _pick(v0, v1, v2, row):
    """v0, v1 or v2 by a row index the loop does not change (LLVM takes the test out of the
    loop: one vectorised loop per frame, no branch per lane)."""
    return v0 if row == 0 else (v1 if row == 1 else v2)


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _advance(x, y, z, nx, ny, nz, ng, alpha, cx, cy, cz, aj, u, p, fl, hx0, hy0, hz0, f0, fh,
             f1, h):
    """One RK4 step of one trajectory in sigma's frame, from the normals (nx, ny, nz) on the
    frame's axes and the pulse fractions at t, t + h/2, t + h; returns the renormalised
    state and | |m| - 1 | before renormalising."""
    h2 = h * HALF
    q0, qh, q1 = aj * f0, aj * fh, aj * f1
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
    w6 = h / F32(6.0)
    x = x + w6 * (k1x + TWO * k2x + TWO * k3x + k4x)
    y = y + w6 * (k1y + TWO * k2y + TWO * k3y + k4y)
    z = z + w6 * (k1z + TWO * k2z + TWO * k3z + k4z)
    norm = math.sqrt(x * x + y * y + z * z)
    inv = ONE / norm
    return x * inv, y * inv, z * inv, abs(norm - ONE)


@njit(fastmath=FASTMATH, cache=CACHE, nogil=True, error_model="numpy")
def _block_steps(m, params, shared, frame, k0, k1, trajectory0, step, both, lo, hi, shapes, s,
                 h, worst):
    """RK4 steps of trajectories lo..hi-1 from one Philox call each: a loop LLVM vectorises
    across trajectories. ``both``: steps ``step`` (even) and ``step + 1`` with the pulse
    fractions of rows s and s + 1 of ``shapes``; otherwise step ``step`` alone (either
    parity, at the ends of a call). ``frame`` = (r0, r1, r2, sign): the rows of m, of the
    anisotropy and of the external field that are x, y and z of the frame in which
    sigma = sign * z (a cyclic permutation of the axes, so cross products keep their sign);
    the normals stay on their physical axes (normal k of a step on row k)."""
    r0, r1, r2, sign = frame
    hx0, hy0, hz0 = shared[3 + r0], shared[3 + r1], shared[3 + r2]
    odd = (step & U32_ONE) == U32_ONE
    f0, fh, f1 = shapes[s, 0], shapes[s, 1], shapes[s, 2]
    t = s + 1 if both else s
    g0, gh, g1 = shapes[t, 0], shapes[t, 1], shapes[t, 2]
    counter = U32(step >> U32_ONE)
    for j in range(lo, hi):
        i = U64(j)  # unsigned: no negative-index wraparound, which would stop vectorisation
        w0, w1, w2, w3 = _philox(U32(trajectory0 + j), counter, STREAM, U32_ZERO, k0, k1)
        a0, a1, a2, b0, b1, b2 = _thermal_normals(w0, w1, w2, w3)
        if odd:  # loop-invariant: LLVM takes the test out of the loop
            a0, a1, a2 = b0, b1, b2
        ng = -params[0, i]  # -gamma'
        alpha = params[1, i]
        cx = ng * params[2 + r0, i]
        cy = ng * params[2 + r1, i]
        cz = ng * params[2 + r2, i]
        aj = ng * sign * params[5, i]
        u = params[6, i]
        p = sign * params[7, i]
        fl = params[8, i]
        x, y, z, deviation = _advance(
            m[r0, i], m[r1, i], m[r2, i], _pick(a0, a1, a2, r0), _pick(a0, a1, a2, r1),
            _pick(a0, a1, a2, r2), ng, alpha, cx, cy, cz, aj, u, p, fl, hx0, hy0, hz0, f0, fh,
            f1, h)
        if both:
            x, y, z, second = _advance(
                x, y, z, _pick(b0, b1, b2, r0), _pick(b0, b1, b2, r1), _pick(b0, b1, b2, r2),
                ng, alpha, cx, cy, cz, aj, u, p, fl, hx0, hy0, hz0, g0, gh, g1, h)
            deviation = max(deviation, second)
        worst[i] = max(worst[i], deviation)
        m[r0, i] = x
        m[r1, i] = y
        m[r2, i] = z


@njit(inline="always", fastmath=FASTMATH, error_model="numpy")
def _sigma_frame(shared):
    """(r0, r1, r2, sign) of the axis sigma lies along (junctions.py admits only those)."""
    r2 = 0 if shared[0] != ZERO else (1 if shared[1] != ZERO else 2)
    return (r2 + 1) % 3, (r2 + 2) % 3, r2, ONE if shared[r2] > ZERO else -ONE


@njit(fastmath=FASTMATH, cache=CACHE, nogil=True, error_model="numpy")
def _one_block(m, params, shared, shapes, k0, k1, trajectory0, step0, h, worst, b):
    """Every step of block b (trajectories b BLOCK .. (b + 1) BLOCK - 1): two steps per
    Philox call, one alone where the call starts on an odd step or ends on an even one."""
    n = m.shape[1]
    lo = b * BLOCK
    hi = min(n, lo + BLOCK)
    for i in range(lo, hi):
        worst[i] = ZERO
    frame = _sigma_frame(shared)
    n_steps = shapes.shape[0]
    s = n_steps - n_steps  # an int64, not the literal 0 (which would type a second copy)
    while s < n_steps:  # one call site, one signature of _block_steps to compile
        step = U32(step0 + s)
        both = (step & U32_ONE) == U32_ZERO and s + 1 < n_steps
        _block_steps(m, params, shared, frame, k0, k1, trajectory0, step, both, lo, hi, shapes,
                     s, h, worst)
        s += 2 if both else 1


@njit(parallel=True, fastmath=FASTMATH, cache=CACHE, nogil=True, error_model="numpy")
def _integrate(m, params, shared, shapes, key0, key1, trajectory0, step0, dt, worst):
    """The compiled body of integrate()."""
    n = m.shape[1]
    h = F32(dt)
    k0 = U32(key0)
    k1 = U32(key1)
    n_blocks = (n + BLOCK - 1) // BLOCK
    for b in prange(n_blocks):
        _one_block(m, params, shared, shapes, k0, k1, trajectory0, step0, h, worst, b)


def integrate(m, params, shared, shapes, key0, key1, trajectory0, step0, dt, worst) -> None:
    """Advance m (3, n) float32 in place by one RK4 step of dt per row of ``shapes``
    (n_steps, 3): the pulse fraction at t, t + dt/2 and t + dt of each step. params (9, n) and
    shared (6,) as in junctions.py (sigma a unit vector along x, y or z); the thermal field
    of trajectory ``trajectory0 + k`` at step ``step0 + s`` comes from Philox(counter =
    (trajectory, step // 2, 0, 0), key = (key0, key1)), the words laid out as normals.py
    says. worst (n,) receives the largest | |m| - 1 | met before renormalising.

    LLVM's interleave count is a process-wide option, not a per-function one: it is set for
    the duration of the call (where numba compiles, for a new argument type) and put back to
    the cost model's choice after, so other numba code compiles as it would without this
    module. A call that loads cached machine code or runs compiled code pays a string parse."""
    llvm.set_option("", f"-force-vector-interleave={INTERLEAVE}")
    try:
        _integrate(m, params, shared, shapes, key0, key1, trajectory0, step0, dt, worst)
    finally:
        llvm.set_option("", "-force-vector-interleave=0")


_F32_POINTER = types.CPointer(types.float32)
# the C signature of the native kernel (cpu_native.py calls it through ctypes)
NATIVE_SIGNATURE = types.void(
    _F32_POINTER, _F32_POINTER, _F32_POINTER, _F32_POINTER,  # m, params, shared, shapes
    types.int64, types.int64,  # n trajectories, n steps
    types.uint32, types.uint32, types.uint32, types.uint32,  # key0, key1, trajectory0, step0
    types.float32, _F32_POINTER,  # dt, worst
    types.int64, types.int64)  # the blocks first..last-1 this call integrates


def _blocks(m_p, params_p, shared_p, shapes_p, n, n_steps, k0, k1, trajectory0, step0, h,
            worst_p, first_block, last_block):
    """_integrate's body over blocks first..last-1, on raw pointers (the C entry)."""
    m = carray(m_p, (3, n))
    params = carray(params_p, (9, n))
    shared = carray(shared_p, (6,))
    shapes = carray(shapes_p, (n_steps, 3))
    worst = carray(worst_p, (n,))
    for b in range(first_block, last_block):
        _one_block(m, params, shared, shapes, k0, k1, trajectory0, step0, h, worst, b)


def native_object(target_machine) -> tuple[bytes, str, list[str]]:
    """The kernel as a C function in an object file for ``target_machine`` (llvmlite):
    (object code, the function's symbol, the external symbols it declares, LLVM's
    intrinsics left out). Those are numba's runtime and error-path helpers and a few Python
    C-API functions (a cfunc's wrapper reports exceptions through them; this kernel raises
    none)."""
    llvm.set_option("", f"-force-vector-interleave={INTERLEAVE}")
    try:
        entry = cfunc(NATIVE_SIGNATURE, fastmath=FASTMATH, error_model="numpy")(_blocks)
        module = llvm.parse_assembly(entry._library.get_llvm_str())
        code = target_machine.emit_object(module)
    finally:
        llvm.set_option("", "-force-vector-interleave=0")
    external = sorted(f.name for f in module.functions
                      if f.is_declaration and not f.name.startswith("llvm."))
    return code, entry.native_name, external

"""The kernels' thermal normals from Philox words: the layout and the Box-Muller constants,
shared by the CPU and CUDA kernels so that both draw the same normals from the same words.

One Philox4x32-10 call, counter (trajectory, step // 2, 0, 0), gives the normals of two
steps: its 128 bits make three Box-Muller pairs A, B, C, each a 24-bit radius, a 16-bit angle
in the quadrant and two bits for the quadrant (every bit used once, two left over):

    pair  radius      angle                              quadrant
    A     w0 >> 8     w3 >> 16                           w2 bits 0-1
    B     w1 >> 8     w3 & 0xFFFF                        w2 bits 2-3
    C     w2 >> 8     (w0 & 0xFF) << 8 | (w1 & 0xFF)     w2 bits 4-5

A pair is (r cos t, r sin t), r = sqrt(-2 ln u) with u = (radius + 1/2) 2^-24 and
t = (angle + 1/2) 2^-16 pi/2 in the quadrant, cos's sign from the quadrant's low bit, sin's
from its high bit. The even step's thermal field is (A cos, A sin, C cos) on x, y, z, the odd
step's (B cos, B sin, C sin). One call per two steps halves Philox, the kernel's largest cost
(bench/RESULTS.md); the angle's 16 bits put the normals on a lattice of 2.4e-5 rad in angle,
far below the float32 arithmetic of a step, and the 24-bit radius keeps the tails of one
word per normal (|N| up to 5.9).

log, sin and cos are short polynomials instead of library calls: on the CPU a libm call
keeps the lane loop scalar; on the GPU libdevice's logf, sinf and cosf carry range reduction
(with a float64 slow path) for arguments the transform never gives. The angle is in
[0, pi/2) and the mantissa folded into [sqrt(1/2), sqrt(2)), where these series are exact to
float32 rounding. Python floats here; each kernel rounds them to float32.
"""

from __future__ import annotations

import math

SQRT2 = math.sqrt(2.0)
LN2 = math.log(2.0)
HALF_PI = math.pi / 2
TWO_M24 = 2.0**-24  # one unit of a 24-bit uniform
# 2 atanh(s) = log((1 + s) / (1 - s)): 2 s + 2 s^3 / 3 + ..., |s| <= 0.172 on [sqrt(1/2), sqrt(2))
L3, L5, L7, L9 = 2 / 3, 2 / 5, 2 / 7, 2 / 9
# Taylor coefficients of sin and cos on [0, pi/2] (errors below 4e-8)
S3, S5, S7, S9, S11 = ((-1) ** k / math.factorial(2 * k + 1) for k in range(1, 6))
C2, C4, C6, C8, C10, C12 = ((-1) ** k / math.factorial(2 * k) for k in range(1, 7))
ANGLE_UNIT = HALF_PI * 2.0**-16  # one unit of a 16-bit angle in the quadrant [0, pi/2)

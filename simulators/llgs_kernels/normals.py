"""The constants of the kernels' Box-Muller transform, shared by the CPU and CUDA kernels so
that both draw the same normals from the same Philox words.

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

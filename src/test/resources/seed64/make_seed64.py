#!/usr/bin/env python3
"""The seed example in float64: the numpy answer (as_strided patch view + tensordot) that conv4j's
float64 path must match to 1e-12 relative.

The seed's image and filter sizes (64x64x3 images, a 5x5x3x16 filter, stride 1, VALID), batch 2
(the demo runs 8; 2 keeps the committed output under 1 MB). Inputs are exact float64 values from a
formula that Java reproduces bit for bit (SeedFloat64Test), so only the output is stored:
    x[i] = ((i * 7919) % 2001) / 1000 - 1   (i = row-major index of [2, 64, 64, 3])
    w[i] = ((i * 104729) % 2001) / 1000 - 1 (i = row-major index of [5, 5, 3, 16])
Output: seed64.output.f64, raw little-endian float64 [2, 60, 60, 16].

Run from this directory:  python3 make_seed64.py   (numpy 2.x)
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

N, H, W, C, F, COUT = 2, 64, 64, 3, 5, 16


def formula(count, mult):
    i = np.arange(count, dtype=np.int64)
    return ((i * mult) % 2001) / 1000.0 - 1.0


x = formula(N * H * W * C, 7919).reshape(N, H, W, C)
w = formula(F * F * C * COUT, 104729).reshape(F, F, C, COUT)
oh, ow = H - F + 1, W - F + 1
s = x.strides
patches = as_strided(x, shape=(N, oh, ow, F, F, C), strides=(s[0], s[1], s[2], s[1], s[2], s[3]))
y = np.tensordot(patches, w, axes=([3, 4, 5], [0, 1, 2]))
assert y.shape == (N, oh, ow, COUT)
y.astype("<f8").tofile("seed64.output.f64")

#!/usr/bin/env python3
"""Writes the .npy fixtures of NpyTest with a real numpy (run once; the outputs are committed).

python3 make_fixtures.py   (numpy 2.4 was used)

Values follow the bench harness's formulas, so any test can recompute them; every float32 array
also goes to a raw little-endian .f32 file (arr.tofile) for the raw-file comparison.
"""
import numpy as np

def pattern(shape, a, b, m, c, d):
    i = np.arange(int(np.prod(shape)), dtype=np.int64)
    return (((i * a + b) % m - c) / d).astype(np.float32).reshape(shape)

x = pattern((1, 5, 5, 2), 37, 11, 101, 50, 50.0)
w = pattern((3, 3, 2, 4), 53, 7, 97, 48, 480.0)
b = pattern((4,), 29, 3, 89, 44, 44.0)
dy = pattern((1, 3, 3, 4), 31, 5, 83, 41, 41.0)

for name, arr in [("x", x), ("w", w), ("b", b), ("dy", dy)]:
    np.save(name + ".npy", arr)          # version 1.0 header, '<f4', C order
    arr.tofile(name + ".f32")

with open("x_v2.npy", "wb") as f:        # version 2.0: 4-byte header length
    np.lib.format.write_array(f, x, version=(2, 0))
with open("x_v3.npy", "wb") as f:        # version 3.0: utf-8 header
    np.lib.format.write_array(f, x, version=(3, 0))
np.save("x_f8.npy", x.astype("<f8"))     # float64
np.save("empty.npy", np.zeros((0, 5, 5, 2), dtype="<f4"))

# refused: Fortran order, big-endian, int32, object dtype
np.save("fortran.npy", np.asfortranarray(pattern((2, 3), 1, 0, 7, 3, 2.0)))
np.save("bigendian.npy", x.astype(">f4"))
np.save("int32.npy", np.arange(6, dtype="<i4").reshape(2, 3))
np.save("object.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)

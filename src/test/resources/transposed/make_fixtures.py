#!/usr/bin/env python3
"""Transposed-convolution fixtures for conv4j, computed by the definition with numpy (float64).

The transposed convolution of x [N, I1..Ir, Cout] with a forward filter w [K1..Kr, Cin/groups, Cout]
scatters every input element into the output: for each input position i, tap k, group g,
    y[n, i*s + k_eff*d - pad_begin, g*cin_g + ci] += x[n, i, co] * w[k, ci, co]   (co in group g)
with k_eff = K-1-k when flipped, else k. The output size per axis is
    (I - 1) * s + (K - 1) * d + 1 - pad_begin - pad_end + output_padding
(PyTorch's and ONNX's rule). Plain Python loops over positions and taps (no convolution routine of
any library), then bias per output channel. Stored as raw little-endian files in the case's dtype.

Run from this directory:  python3 make_fixtures.py   (numpy 2.x; deterministic: seeded generator)
"""
import itertools
import numpy as np

CASES = [
    # name, dtype, input [N, I.., Cout], kernel, cin, strides, dilations, pads (b,e per axis), output padding, groups, bias, flip
    ("t1_s2_op1", "float32", (2, 7, 4), (3,), 3, (2,), (1,), (1, 0), (1,), 1, True, False),
    ("t1_groups_dil", "float64", (1, 6, 6), (3,), 4, (3,), (2,), (0, 2), (2,), 2, False, True),
    ("t2_s2_op", "float32", (1, 4, 5, 6), (3, 3), 4, (2, 2), (1, 1), (1, 1, 0, 1), (1, 0), 1, True, False),
    ("t2_f64_s3", "float64", (2, 3, 4, 4), (2, 3), 2, (3, 2), (1, 2), (0, 0, 1, 1), (2, 1), 1, True, True),
    ("t2_depthwise", "float32", (1, 5, 5, 6), (3, 3), 3, (2, 2), (1, 1), (1, 1, 1, 1), (1, 1), 3, False, False),
    ("t3_s2_op", "float32", (1, 3, 3, 4, 4), (3, 3, 2), 2, (2, 2, 2), (1, 1, 1), (1, 1, 0, 1, 0, 0), (1, 0, 1), 1, True, False),
    ("t3_f64_groups", "float64", (2, 2, 3, 3, 6), (2, 2, 3), 4, (1, 2, 2), (2, 1, 1), (0, 1, 1, 0, 1, 1), (0, 1, 1), 2, True, True),
]


def transpose_conv(x, w, strides, dilations, pads, op, groups, flip):
    n, *isz, cout = x.shape
    r = len(isz)
    ks = w.shape[:r]
    cin_g = w.shape[r]
    cout_g = cout // groups
    osz = [(isz[a] - 1) * strides[a] + (ks[a] - 1) * dilations[a] + 1 - pads[2 * a] - pads[2 * a + 1] + op[a] for a in range(r)]
    y = np.zeros([n, *osz, cin_g * groups], dtype=np.float64)
    for b in range(n):
        for i in itertools.product(*[range(v) for v in isz]):
            for k in itertools.product(*[range(v) for v in ks]):
                o = []
                for a in range(r):
                    kk = ks[a] - 1 - k[a] if flip else k[a]
                    o.append(i[a] * strides[a] + kk * dilations[a] - pads[2 * a])
                if any(o[a] < 0 or o[a] >= osz[a] for a in range(r)):
                    continue
                for g in range(groups):
                    xs = x[(b, *i)][g * cout_g:(g + 1) * cout_g]          # [cout_g]
                    ws = w[k][:, g * cout_g:(g + 1) * cout_g]              # [cin_g, cout_g]
                    y[(b, *o)][g * cin_g:(g + 1) * cin_g] += ws @ xs
    return y


def main():
    rng = np.random.default_rng(20261206)
    rows = ["name,rank,dtype,input_shape,filter_shape,strides,dilations,pads,output_padding,groups,has_bias,flip,output_shape"]
    for name, dt, ishape, ks, cin, s, d, pads, op, g, has_bias, flip in CASES:
        cout = ishape[-1]
        x = rng.uniform(-1, 1, ishape)
        w = rng.uniform(-1, 1, (*ks, cin // g, cout))
        b = rng.uniform(-1, 1, cin)
        ext = ".f64" if dt == "float64" else ".f32"
        # the stored (rounded) values are the inputs: compute from them, in float64
        x = x.astype(dt).astype(np.float64)
        w = w.astype(dt).astype(np.float64)
        b = b.astype(dt).astype(np.float64)
        y = transpose_conv(x, w, s, d, pads, op, g, flip)
        if has_bias:
            y = y + b
        for kind, arr in (("input", x), ("filter", w), ("bias", b), ("output", y)):
            if kind == "bias" and not has_bias:
                continue
            arr.astype("<" + ("f8" if dt == "float64" else "f4")).tofile(name + "." + kind + ext)
        j = lambda v: "x".join(str(int(t)) for t in v)
        rows.append(",".join([name, str(len(ks)), dt, j(ishape), j(w.shape), j(s), j(d), j(pads), j(op), str(g),
                              str(int(has_bias)), str(int(flip)), j(y.shape)]))
    with open("cases.csv", "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Float32 accuracy of the Winograd filter gradient F(3x3, m x m) for several point sets (numpy).

dW = sum over dY tiles of G^T [ (A E A^T) .* (BT D B) ] G, where E is an m x m tile of dL/d(output),
D the (m+2) x (m+2) input window under it, and AT (m x a), G (a x 3), BT (a x a) the Toom-Cook
matrices of the forward F(m, 3) for the same points (the transposed algorithm: the input transform
is the forward one, dY goes through the forward output transform's transpose, and the filter
transform's transpose maps the products to the 3x3 taps). As in backward_winograd.c: BT rows are
integers (the scale is in G), V = BT D B and A E A^T are rounded to float32, the per-point products
are summed over all tiles by float32 matmul (sgemm, reduction over tiles), and G^T M G runs in
float32 on the float32 sums (--double-out: in double; the errors are the same). Prints the project's metric, max |dW - ref| / (1 + sum |x*dy|),
against a double reference on SAME-padded images, data uniform in [-1, 1).

usage: python3 native/tools/winograd_dw_points.py [--double-out]
"""
import os
import sys
from fractions import Fraction as F

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from winograd_points import toom_cook  # noqa: E402


def dw_winograd(x, dy, m, AT, G, BT, pad=1, double_out=False):
    n, h, w, cin = x.shape
    cout = dy.shape[3]
    a = m + 2
    th, tw = -(-h // m), -(-w // m)
    xp = np.zeros((n, th * m + 2, tw * m + 2, cin), np.float32)
    xp[:, pad:pad + h, pad:pad + w, :] = x
    dyp = np.zeros((n, th * m, tw * m, cout), np.float32)
    dyp[:, :h, :w, :] = dy
    BT32 = np.array(BT, dtype=np.float64).astype(np.float32)
    A32 = np.array(AT, dtype=np.float64).astype(np.float32).T  # a x m
    D = np.stack([xp[:, i * m:i * m + a, j * m:j * m + a, :] for i in range(th) for j in range(tw)], 1)
    D = D.reshape(-1, a, a, cin)
    E0 = np.stack([dyp[:, i * m:i * m + m, j * m:j * m + m, :] for i in range(th) for j in range(tw)], 1)
    E0 = E0.reshape(-1, m, m, cout)
    V = np.einsum('ij,tjkc->tikc', BT32, D)
    V = np.einsum('tikc,lk->tilc', V, BT32)
    E = np.einsum('ij,tjkc->tikc', A32, E0)
    E = np.einsum('tikc,lk->tilc', E, A32)
    M = np.empty((a, a, cin, cout), np.float32)
    for i in range(a):
        for j in range(a):
            M[i, j] = V[:, i, j, :].T @ E[:, i, j, :]
    if double_out:
        Gd = np.array(G, dtype=np.float64)
        return np.einsum('ik,ijco,jl->klco', Gd, M.astype(np.float64), Gd)
    G32 = np.array(G, dtype=np.float64).astype(np.float32)
    t = np.einsum('ijco,jl->ilco', M, G32).astype(np.float32)
    return np.einsum('ik,ilco->klco', G32, t).astype(np.float32)


def reference(x, dy, pad=1):
    n, h, w, cin = x.shape
    xp = np.zeros((n, h + 2, w + 2, cin))
    xp[:, pad:pad + h, pad:pad + w, :] = x
    dyd = dy.astype(np.float64)
    ref = np.empty((3, 3, cin, dy.shape[3]))
    scale = np.empty_like(ref)
    for k in range(3):
        for l in range(3):
            win = xp[:, k:k + h, l:l + w, :]
            ref[k, l] = np.einsum('nhwc,nhwo->co', win, dyd)
            scale[k, l] = 1 + np.einsum('nhwc,nhwo->co', np.abs(win), np.abs(dyd))
    return ref, scale


def main():
    double_out = '--double-out' in sys.argv[1:]
    sets = [
        ('F(3x3,2x2) {0, 1, -1}', [0, 1, -1], 2),
        ('F(3x3,3x3) {0, 1, -1, 2}', [0, 1, -1, 2], 3),
        ('F(3x3,3x3) {0, 1, -1, 1/2}', [0, 1, -1, F(1, 2)], 3),
        ('F(3x3,4x4) {0, 1, -1, 2, -2}', [0, 1, -1, 2, -2], 4),
        ('F(3x3,4x4) {0, 1, -1, 1/2, -1/2}', [0, 1, -1, F(1, 2), F(-1, 2)], 4),
        ('F(3x3,4x4) {0, 1, -1, 1/2, -2}', [0, 1, -1, F(1, 2), -2], 4),
    ]
    layers = [(1, 56, 56, 64, 64), (1, 14, 14, 256, 64), (4, 28, 28, 32, 32), (1, 112, 112, 16, 16)]
    print('max |dW - ref| / (1 + sum |x*dy|), data in [-1, 1), SAME padding')
    print('%-36s' % 'points (+ inf)' + ''.join('%16s' % ('%dx%dx%d n%d' % (l[1], l[2], l[3], l[0])) for l in layers))
    rng = np.random.default_rng(1)
    data = []
    for n, h, w, cin, cout in layers:
        x = rng.uniform(-1, 1, (n, h, w, cin)).astype(np.float32)
        dy = rng.uniform(-1, 1, (n, h, w, cout)).astype(np.float32)
        data.append((x, dy) + reference(x, dy))
    for name, pts, m in sets:
        AT, G, BT = toom_cook(pts, m)
        row = []
        for x, dy, ref, scale in data:
            row.append(float((np.abs(dw_winograd(x, dy, m, AT, G, BT, double_out=double_out) - ref) / scale).max()))
        print('%-36s' % name + ''.join('%16.2e' % v for v in row))
    # plain float32 sgemm (the existing route) for comparison
    row = []
    for x, dy, ref, scale in data:
        n, h, w, cin = x.shape
        xp = np.zeros((n, h + 2, w + 2, cin), np.float32)
        xp[:, 1:1 + h, 1:1 + w, :] = x
        got = np.empty_like(ref)
        for k in range(3):
            for l in range(3):
                got[k, l] = xp[:, k:k + h, l:l + w, :].reshape(-1, cin).T @ dy.reshape(-1, dy.shape[3])
        row.append(float((np.abs(got - ref) / scale).max()))
    print('%-36s' % 'direct sgemm (reference route)' + ''.join('%16.2e' % v for v in row))


if __name__ == '__main__':
    main()

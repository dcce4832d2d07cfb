#!/usr/bin/env python3
"""Float32 accuracy of Winograd F(m,3) for several interpolation point sets (numpy simulation).

Builds the Toom-Cook matrices AT, G, BT for each point set (plus infinity) exactly, scales the
rows of BT to small integers (the scale goes into G, applied in double, as in winograd.c), and
runs the 2-D algorithm in float32 on random tiles: U = G g G^T rounded once from double, V = BT d B
in float32, M = sum over channels of V * U (float32 matmul), Y = AT M A in float32. Prints the
project's accuracy metric, max |Y - ref| / (1 + sum over the window of |x*w|), against a double
reference, data uniform in [-1, 1). This is how the F(4x4,3x3) points of winograd.c were chosen;
test_winograd measures the shipped C code the same way.

usage: python3 native/tools/winograd_points.py [tiles]
"""
import sys
from fractions import Fraction as F
from math import gcd

import numpy as np


def polymul(p, q):
    out = [F(0)] * (len(p) + len(q) - 1)
    for i, x in enumerate(p):
        for j, y in enumerate(q):
            out[i + j] += x * y
    return out


def toom_cook(points, m, r=3):
    """AT (m x a), G (a x r), BT (a x a) for the finite points plus infinity, a = m + r - 1."""
    a = m + r - 1
    P = [F(p) for p in points]
    assert len(P) == a - 1
    AT = [[P[k] ** i for k in range(a - 1)] + [F(1 if i == m - 1 else 0)] for i in range(m)]
    G, BT = [], []
    for k in range(a - 1):
        norm, poly = F(1), [F(1)]
        for l in range(a - 1):
            if l != k:
                norm *= P[k] - P[l]
                poly = polymul(poly, [-P[l], F(1)])
        G.append([P[k] ** j / norm for j in range(r)])
        BT.append(poly + [F(0)])
    poly = [F(1)]
    for p in P:
        poly = polymul(poly, [-p, F(1)])
    G.append([F(0)] * (r - 1) + [F(1)])
    BT.append(poly)
    # integer rows of BT, scale moved into G
    for k in range(a):
        lcm = 1
        for x in BT[k]:
            lcm = lcm * x.denominator // gcd(lcm, x.denominator)
        BT[k] = [x * lcm for x in BT[k]]
        G[k] = [x / lcm for x in G[k]]
    return AT, G, BT


def check_exact(AT, G, BT, m, r=3):
    rng = np.random.default_rng(0)
    a = m + r - 1
    g = [F(int(v)) for v in rng.integers(-5, 6, r)]
    d = [F(int(v)) for v in rng.integers(-5, 6, a)]
    Gg = [sum(G[k][j] * g[j] for j in range(r)) for k in range(a)]
    Bd = [sum(BT[k][j] * d[j] for j in range(a)) for k in range(a)]
    y = [sum(AT[i][k] * Gg[k] * Bd[k] for k in range(a)) for i in range(m)]
    assert y == [sum(d[i + j] * g[j] for j in range(r)) for i in range(m)]


def metric(AT, G, BT, m, cin, cout, tiles, rng, r=3):
    a = m + r - 1
    Gd = np.array(G, dtype=np.float64)
    BT32 = np.array(BT, dtype=np.float64).astype(np.float32)
    AT32 = np.array(AT, dtype=np.float64).astype(np.float32)
    x = rng.uniform(-1, 1, size=(tiles, a, a, cin)).astype(np.float32)
    w = rng.uniform(-1, 1, size=(r, r, cin, cout)).astype(np.float32)
    U = np.einsum('ij,jkco,lk->ilco', Gd, w.astype(np.float64), Gd).astype(np.float32)
    V = np.einsum('ij,tjkc->tikc', BT32, x)
    V = np.einsum('tikc,lk->tilc', V, BT32)
    M = np.empty((tiles, a, a, cout), dtype=np.float32)
    for i in range(a):
        for j in range(a):
            M[:, i, j, :] = V[:, i, j, :] @ U[i, j]
    Y = np.einsum('ij,tjkc->tikc', AT32, M)
    Y = np.einsum('tikc,lk->tilc', Y, AT32)
    xd, wd = x.astype(np.float64), w.astype(np.float64)
    worst = 0.0
    for i in range(m):
        for j in range(m):
            patch = xd[:, i:i + r, j:j + r, :]
            ref = np.einsum('tklc,klco->to', patch, wd)
            scale = 1 + np.einsum('tklc,klco->to', np.abs(patch), np.abs(wd))
            worst = max(worst, float((np.abs(Y[:, i, j, :] - ref) / scale).max()))
    return worst


def main():
    tiles = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    sets = [
        ('F(2,3) {0, 1, -1}', [0, 1, -1], 2),
        ('F(4,3) {0, 1, -1, 2, -2}', [0, 1, -1, 2, -2], 4),
        ('F(4,3) {0, 1, -1, 1/2, -1/2}', [0, 1, -1, F(1, 2), F(-1, 2)], 4),
        ('F(4,3) {0, 1, -1, 1/2, -2}', [0, 1, -1, F(1, 2), -2], 4),
    ]
    chans = [4, 64, 128, 256]
    print('max |y - ref| / (1 + sum |x*w|), %d random tiles, data in [-1, 1)' % tiles)
    print('%-32s' % 'points (+ inf)' + ''.join('%12s' % ('Cin=%d' % c) for c in chans))
    for name, pts, m in sets:
        AT, G, BT = toom_cook(pts, m)
        check_exact(AT, G, BT, m)
        rng = np.random.default_rng(1)
        print('%-32s' % name + ''.join('%12.2e' % metric(AT, G, BT, m, c, 32, tiles, rng) for c in chans))


if __name__ == '__main__':
    main()

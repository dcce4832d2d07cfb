package io.conv4j;

import java.util.Arrays;

/**
 * Whether two strided views share an element: the exact test behind conv4j's aliasing rule.
 *
 * <p>Comparing address ranges alone refuses views that interleave without touching, such as two
 * channel slices of one concatenation buffer. Instead, an element of view A at index i and one
 * of view B at index j share a byte exactly when {@code sum(i_k * sa_k) - sum(j_k * sb_k) + v =
 * delta} for some v within an element's size (strides in bytes, delta the distance between the
 * views' first elements, so views of different dtypes compare too). That is a linear equation in bounded
 * integers; terms with equal strides merge (their sum covers a contiguous range of integers), and
 * a depth-first search over the terms from the largest stride down, pruned by the range the
 * remaining terms can still reach and by their greatest common divisor, decides it. For views of
 * one layout (the common case: slices, crops, batches of one buffer) each term has at most one or
 * two candidate values, so the search is a few steps; for exotic stride patterns the work is
 * bounded and the answer is then "undecided", which callers treat as an overlap and say so. The
 * answer "disjoint" is only ever given when no element is shared.
 */
final class Overlap {
    /** The views share no element. */
    static final int DISJOINT = 0;
    /** The views share at least one element. */
    static final int SHARED = 1;
    /** The search gave up (exotic strides): the views may or may not share an element. */
    static final int UNDECIDED = 2;

    /** Search steps before giving up; each is a few integer operations. */
    private static final int BUDGET = 100_000;

    private Overlap() {}

    /**
     * Whether {@code a} and {@code b} (any storages and dtypes: compared by byte address) share
     * a byte of an element.
     */
    static int of(Tensor a, Tensor b) {
        long aLast = a.maxElementIndex(), bLast = b.maxElementIndex();
        if (aLast < 0 || bLast < 0) return DISJOINT;
        int ea = a.dtype().bytes(), eb = b.dtype().bytes();
        long aBase = a.storage().address(), bBase = b.storage().address();
        long aStart = aBase + a.offset() * ea, aEnd = aBase + (aLast + 1) * ea;
        long bStart = bBase + b.offset() * eb, bEnd = bBase + (bLast + 1) * eb;
        if (aEnd <= bStart || bEnd <= aStart) return DISJOINT;
        return solve(terms(a, b), bStart - aStart);
    }

    /**
     * The terms {stride, lo, hi}, in bytes, of {@code sum(i_k * sa_k) - sum(j_k * sb_k) + v}: A's
     * axes with {@code [0, size - 1]}, B's with {@code [-(size - 1), 0]}, and v, the distance of
     * two overlapping elements' first bytes, in {@code [-(eb - 1), ea - 1]}; axes of size 1 or
     * stride 0 add nothing, and terms of equal stride merge. Sorted by stride, largest first.
     */
    private static long[][] terms(Tensor a, Tensor b) {
        long[][] t = new long[a.rank() + b.rank() + 1][];
        int n = 0;
        int ea = a.dtype().bytes(), eb = b.dtype().bytes();
        t[n++] = new long[] {1, -(eb - 1), ea - 1};
        for (int pass = 0; pass < 2; pass++) {
            Tensor v = pass == 0 ? a : b;
            for (int k = 0; k < v.rank(); k++) {
                long size = v.shape().size(k), stride = v.stride(k) * v.dtype().bytes();
                if (size <= 1 || stride == 0) continue;
                long lo = pass == 0 ? 0 : -(size - 1), hi = pass == 0 ? size - 1 : 0;
                int same = -1;
                for (int m = 0; m < n; m++) {
                    if (t[m][0] == stride) same = m;
                }
                if (same >= 0) {
                    t[same][1] += lo;
                    t[same][2] += hi;
                } else {
                    t[n++] = new long[] {stride, lo, hi};
                }
            }
        }
        t = Arrays.copyOf(t, n);
        Arrays.sort(t, (x, y) -> Long.compare(y[0], x[0]));
        return t;
    }

    /** Whether some {@code v_k} in {@code [lo_k, hi_k]} gives {@code sum(v_k * stride_k) = target}. */
    private static int solve(long[][] t, long target) {
        int n = t.length;
        long[] minRest = new long[n + 1], maxRest = new long[n + 1], gcdRest = new long[n + 1];
        for (int k = n - 1; k >= 0; k--) {
            minRest[k] = minRest[k + 1] + t[k][1] * t[k][0];
            maxRest[k] = maxRest[k + 1] + t[k][2] * t[k][0];
            gcdRest[k] = gcd(gcdRest[k + 1], t[k][0]);
        }
        long[] budget = {BUDGET};
        return search(t, 0, target, minRest, maxRest, gcdRest, budget);
    }

    private static int search(long[][] t, int k, long residual, long[] minRest, long[] maxRest, long[] gcdRest, long[] budget) {
        if (residual < minRest[k] || residual > maxRest[k]) return DISJOINT;
        if (k == t.length) return residual == 0 ? SHARED : DISJOINT;
        if (residual % gcdRest[k] != 0) return DISJOINT;
        long s = t[k][0];
        // v such that the rest can still reach residual - v * s
        long lo = Math.max(t[k][1], ceilDiv(residual - maxRest[k + 1], s));
        long hi = Math.min(t[k][2], Math.floorDiv(residual - minRest[k + 1], s));
        if (lo > hi) return DISJOINT;
        long step = 1;
        long g = gcdRest[k + 1];
        if (g > 0) { // the rest only reaches multiples of g: v * s = residual (mod g)
            long d = gcd(s, g), m = g / d;
            if (Math.floorMod(residual, d) != 0) return DISJOINT;
            long v0 = m == 1 ? 0 : Math.floorMod(Math.floorMod(residual / d, m) * inverse(Math.floorMod(s / d, m), m), m);
            lo = lo + Math.floorMod(v0 - lo, m);
            step = m;
        }
        boolean undecided = false;
        for (long v = lo; v <= hi; v += step) {
            if (--budget[0] < 0) return UNDECIDED;
            int r = search(t, k + 1, residual - v * s, minRest, maxRest, gcdRest, budget);
            if (r == SHARED) return SHARED;
            if (r == UNDECIDED) undecided = true;
        }
        return undecided ? UNDECIDED : DISJOINT;
    }

    private static long ceilDiv(long x, long y) {
        return -Math.floorDiv(-x, y);
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long r = a % b;
            a = b;
            b = r;
        }
        return Math.abs(a);
    }

    /** The inverse of {@code a} modulo {@code m} (coprime, m > 1), by the extended Euclidean algorithm. */
    private static long inverse(long a, long m) {
        long oldR = a, r = m, oldS = 1, s = 0;
        while (r != 0) {
            long q = oldR / r, tmp = oldR - q * r;
            oldR = r;
            r = tmp;
            tmp = oldS - q * s;
            oldS = s;
            s = tmp;
        }
        return Math.floorMod(oldS, m);
    }
}

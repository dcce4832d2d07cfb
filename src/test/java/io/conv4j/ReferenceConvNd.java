package io.conv4j;

/**
 * The plain-Java reference of any rank (1-3), in double: the definition of the convolution
 * (TensorFlow's channels-last semantics, every option) as nested loops over a flat row-major
 * layout, and its two gradients by the same loops. Independent of conv4j's code paths.
 */
final class ReferenceConvNd {
    final int rank;
    final long n, cin, cout, groups;
    final long[] in, k, out, s, d, pb;
    final boolean flip;

    /** Geometry: the shapes and per-axis parameters; {@code out} as the forward convolution gives it. */
    ReferenceConvNd(Shape input, Shape filter, long[] strides, long[] dilations, long[] padBegin, long groups, boolean flip, Shape output) {
        rank = input.rank() - 2;
        n = input.size(0);
        cin = input.size(rank + 1);
        cout = filter.size(rank + 1);
        this.groups = groups;
        in = new long[rank];
        k = new long[rank];
        out = new long[rank];
        for (int a = 0; a < rank; a++) {
            in[a] = input.size(a + 1);
            k[a] = filter.size(a);
            out[a] = output.size(a + 1);
        }
        s = strides;
        d = dilations;
        pb = padBegin;
        this.flip = flip;
    }

    private interface Visit {
        void at(int xi, int wi, int yi);
    }

    private void visit(Visit v) {
        long cg = cin / groups, cog = cout / groups;
        long outPix = 1, taps = 1, inPix = 1;
        for (int a = 0; a < rank; a++) {
            outPix *= out[a];
            taps *= k[a];
            inPix *= in[a];
        }
        long[] o = new long[rank], t = new long[rank];
        for (long b = 0; b < n; b++)
            for (long p = 0; p < outPix; p++) {
                long rem = p;
                for (int a = rank - 1; a >= 0; a--) {
                    o[a] = rem % out[a];
                    rem /= out[a];
                }
                for (long tap = 0; tap < taps; tap++) {
                    long tr = tap;
                    for (int a = rank - 1; a >= 0; a--) {
                        t[a] = tr % k[a];
                        tr /= k[a];
                    }
                    long xp = 0;
                    boolean inside = true;
                    for (int a = 0; a < rank; a++) {
                        long kk = flip ? k[a] - 1 - t[a] : t[a];
                        long i = o[a] * s[a] - pb[a] + kk * d[a];
                        if (i < 0 || i >= in[a]) inside = false;
                        xp = xp * in[a] + i;
                    }
                    if (!inside) continue;
                    for (long co = 0; co < cout; co++) {
                        long g = co / cog;
                        for (long ci = 0; ci < cg; ci++) {
                            v.at((int) ((b * inPix + xp) * cin + g * cg + ci), (int) ((tap * cg + ci) * cout + co),
                                    (int) ((b * outPix + p) * cout + co));
                        }
                    }
                }
            }
    }

    double[] forward(double[] x, double[] w, double[] bias, int outSize) {
        double[] y = new double[outSize];
        visit((xi, wi, yi) -> y[yi] += x[xi] * w[wi]);
        if (bias != null) {
            for (int i = 0; i < y.length; i++) y[i] += bias[(int) (i % cout)];
        }
        return y;
    }

    double[] gradInput(double[] dy, double[] w, int inSize) {
        double[] dx = new double[inSize];
        visit((xi, wi, yi) -> dx[xi] += dy[yi] * w[wi]);
        return dx;
    }

    double[] gradFilter(double[] x, double[] dy, int filterSize) {
        double[] dw = new double[filterSize];
        visit((xi, wi, yi) -> dw[wi] += x[xi] * dy[yi]);
        return dw;
    }

    /** Per element: the sum of |products| that make it (the golden tolerance's scale), for the forward output. */
    double[] forwardScale(double[] x, double[] w, int outSize) {
        double[] m = new double[outSize];
        visit((xi, wi, yi) -> m[yi] += Math.abs(x[xi] * w[wi]));
        return m;
    }
}

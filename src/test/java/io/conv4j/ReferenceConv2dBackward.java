package io.conv4j;

/**
 * The plain-Java reference of the backward pass: the chain rule through the loops of
 * {@link ReferenceConv2d}, in double precision. Given dL/d(pre-activation output) it accumulates
 * dL/d(input), dL/d(filter) and dL/d(bias), and alongside each the sum of the absolute values of
 * its terms: the scale of the rounding error a float32 implementation may make there.
 */
final class ReferenceConv2dBackward {
    final double[] gradInput, gradFilter, gradBias;
    final double[] inputScale, filterScale, biasScale;

    private ReferenceConv2dBackward(int nx, int nw, int nb) {
        gradInput = new double[nx];
        gradFilter = new double[nw];
        gradBias = new double[nb];
        inputScale = new double[nx];
        filterScale = new double[nw];
        biasScale = new double[nb];
    }

    /** {@code gradPre}: dL/d(conv2d(x, w) + bias), row-major [N, OH, OW, Cout]. */
    static ReferenceConv2dBackward of(float[] x, float[] w, double[] gradPre, ConvGeometry g, boolean flip) {
        int n = (int) g.batch(), h = (int) g.inputHeight(), wd = (int) g.inputWidth(), c = (int) g.inputChannels();
        int kh = (int) g.kernelHeight(), kw = (int) g.kernelWidth(), cg = (int) g.inputChannelsPerGroup();
        int oc = (int) g.outputChannels(), og = oc / (int) g.groups();
        int oh = (int) g.outputHeight(), ow = (int) g.outputWidth();
        ReferenceConv2dBackward r = new ReferenceConv2dBackward(x.length, w.length, oc);
        for (int b = 0; b < n; b++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int o = 0; o < oc; o++) {
                        double gy = gradPre[((b * oh + i) * ow + j) * oc + o];
                        r.gradBias[o] += gy;
                        r.biasScale[o] += Math.abs(gy);
                        int grp = o / og;
                        for (int a = 0; a < kh; a++)
                            for (int e = 0; e < kw; e++) {
                                long row = i * g.strideHeight() + a * g.dilationHeight() - g.padTop();
                                long col = j * g.strideWidth() + e * g.dilationWidth() - g.padLeft();
                                if (row < 0 || row >= h || col < 0 || col >= wd) continue;
                                int fa = flip ? kh - 1 - a : a, fe = flip ? kw - 1 - e : e;
                                for (int k = 0; k < cg; k++) {
                                    int xi = ((b * h + (int) row) * wd + (int) col) * c + grp * cg + k;
                                    int wi = ((fa * kw + fe) * cg + k) * oc + o;
                                    r.gradInput[xi] += gy * w[wi];
                                    r.inputScale[xi] += Math.abs(gy * w[wi]);
                                    r.gradFilter[wi] += gy * x[xi];
                                    r.filterScale[wi] += Math.abs(gy * x[xi]);
                                }
                            }
                    }
        return r;
    }

    /**
     * dL/d(pre-activation) from dL/d(output) and the forward output y: relu' = [y > 0], relu6' =
     * [0 < y < 6], and a NaN y passes its gradient (PyTorch's threshold/hardtanh backward).
     */
    static double[] throughActivation(float[] gradOut, float[] y, Activation act) {
        double[] g = new double[gradOut.length];
        for (int i = 0; i < g.length; i++) {
            boolean pass = act == Activation.NONE || Float.isNaN(y[i])
                    || (act == Activation.RELU ? y[i] > 0 : y[i] > 0 && y[i] < 6);
            g[i] = pass ? gradOut[i] : 0;
        }
        return g;
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    /** Largest |got - want| / (1 + scale) (what the golden tolerance bounds by 1e-5). */
    static double maxScaledError(float[] got, double[] want, double[] scale) {
        if (got.length != want.length) return Double.POSITIVE_INFINITY;
        double m = 0;
        for (int i = 0; i < got.length; i++) {
            double e = Math.abs(got[i] - want[i]) / (1 + scale[i]);
            if (!(e <= m)) m = Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
        }
        return m;
    }

    /** Index of the first element outside |got - want| <= tol (1 + scale), or -1. */
    static int firstMismatch(float[] got, double[] want, double[] scale, double tol) {
        if (got.length != want.length) return 0;
        for (int i = 0; i < got.length; i++) {
            if (!(Math.abs(got[i] - want[i]) <= tol * (1 + scale[i]))) return i;
        }
        return -1;
    }
}

package io.conv4j;

/**
 * The plain-Java reference every conv4j path is tested against: the definition of TensorFlow's
 * conv2d written as loops, in double precision, for clarity rather than speed. It shares no code
 * with conv4j beyond {@link ConvGeometry} (whose pad and size arithmetic the golden vectors check
 * independently).
 */
final class ReferenceConv2d {
    private ReferenceConv2d() {}

    /** Output {@code [N, OH, OW, Cout]} row-major; bias may be null. */
    static double[] forward(float[] x, float[] w, float[] bias, ConvGeometry g, boolean flip, Activation act) {
        int n = (int) g.batch(), h = (int) g.inputHeight(), wd = (int) g.inputWidth(), c = (int) g.inputChannels();
        int kh = (int) g.kernelHeight(), kw = (int) g.kernelWidth(), cg = (int) g.inputChannelsPerGroup();
        int oc = (int) g.outputChannels(), og = oc / (int) g.groups();
        int oh = (int) g.outputHeight(), ow = (int) g.outputWidth();
        double[] y = new double[n * oh * ow * oc];
        for (int b = 0; b < n; b++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int o = 0; o < oc; o++) {
                        int grp = o / og;
                        double s = bias == null ? 0 : bias[o];
                        for (int a = 0; a < kh; a++)
                            for (int e = 0; e < kw; e++) {
                                long r = i * g.strideHeight() + a * g.dilationHeight() - g.padTop();
                                long q = j * g.strideWidth() + e * g.dilationWidth() - g.padLeft();
                                if (r < 0 || r >= h || q < 0 || q >= wd) continue;
                                int fa = flip ? kh - 1 - a : a, fe = flip ? kw - 1 - e : e;
                                for (int k = 0; k < cg; k++) {
                                    double xv = x[((b * h + (int) r) * wd + (int) q) * c + grp * cg + k];
                                    double wv = w[((fa * kw + fe) * cg + k) * oc + o];
                                    s += xv * wv;
                                }
                            }
                        y[((b * oh + i) * ow + j) * oc + o] = activate(s, act);
                    }
        return y;
    }

    static double activate(double s, Activation act) {
        if (act == Activation.RELU) return Math.max(s, 0);
        if (act == Activation.RELU6) return Math.min(Math.max(s, 0), 6);
        return s;
    }

    /** For each output, 1 + |bias| + the sum over its window of |x*w|: the scale of its rounding error. */
    static double[] errorScale(float[] x, float[] w, float[] bias, ConvGeometry g, boolean flip) {
        float[] ax = new float[x.length], aw = new float[w.length];
        for (int i = 0; i < x.length; i++) ax[i] = Math.abs(x[i]);
        for (int i = 0; i < w.length; i++) aw[i] = Math.abs(w[i]);
        float[] ab = null;
        if (bias != null) {
            ab = new float[bias.length];
            for (int i = 0; i < bias.length; i++) ab[i] = Math.abs(bias[i]);
        }
        double[] s = forward(ax, aw, ab, g, flip, null);
        for (int i = 0; i < s.length; i++) s[i] += 1;
        return s;
    }

    /**
     * Index of the first output outside {@code |got - want| <= tol * scale}, or -1. The golden
     * README's tolerance is tol = 1e-5.
     */
    static int firstMismatch(float[] got, double[] want, double[] scale, double tol) {
        if (got.length != want.length) return 0;
        for (int i = 0; i < got.length; i++) {
            if (!(Math.abs(got[i] - want[i]) <= tol * scale[i])) return i;
        }
        return -1;
    }
}

package io.conv4j.spark;

/**
 * A plain-Java reference for one image {@code [H, W, C]} through one layer (one group, no flip), written
 * from TensorFlow's definition and independent of conv4j: strides, dilations, VALID or SAME padding, bias,
 * ReLU.
 */
final class NaiveConv {
    private NaiveConv() {}

    /** The output {@code [OH, OW, Cout]}, its shape and each output's sum of |products| (and |bias|). */
    static final class Result {
        final float[] values;
        final double[] magnitude;
        final int[] shape;

        Result(float[] values, double[] magnitude, int[] shape) {
            this.values = values;
            this.magnitude = magnitude;
            this.shape = shape;
        }
    }

    static Result convolve(float[] x, int h, int w, int c, ConvLayerSpec l) {
        int[] fs = l.filterShape();
        int kh = fs[0], kw = fs[1], cout = fs[3];
        int sh = l.strides()[0], sw = l.strides()[1], dh = l.dilations()[0], dw = l.dilations()[1];
        int ekh = (kh - 1) * dh + 1, ekw = (kw - 1) * dw + 1;
        int oh, ow, top, left;
        if (l.padding().equalsIgnoreCase("SAME")) {
            oh = (h + sh - 1) / sh;
            ow = (w + sw - 1) / sw;
            top = Math.max((oh - 1) * sh + ekh - h, 0) / 2;
            left = Math.max((ow - 1) * sw + ekw - w, 0) / 2;
        } else {
            oh = (h - ekh) / sh + 1;
            ow = (w - ekw) / sw + 1;
            top = 0;
            left = 0;
        }
        float[] filter = l.filter(), bias = l.bias();
        float[] y = new float[oh * ow * cout];
        double[] magnitudeOut = new double[y.length];
        for (int i = 0; i < oh; i++) {
            for (int j = 0; j < ow; j++) {
                for (int o = 0; o < cout; o++) {
                    double s = bias == null ? 0 : bias[o], mag = bias == null ? 0 : Math.abs(bias[o]);
                    for (int a = 0; a < kh; a++) {
                        for (int b = 0; b < kw; b++) {
                            int yy = i * sh + a * dh - top, xx = j * sw + b * dw - left;
                            if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
                            for (int k = 0; k < c; k++) {
                                double p = (double) x[(yy * w + xx) * c + k] * filter[((a * kw + b) * c + k) * cout + o];
                                s += p;
                                mag += Math.abs(p);
                            }
                        }
                    }
                    if (l.activation().equalsIgnoreCase("relu")) s = Math.max(s, 0);
                    y[(i * ow + j) * cout + o] = (float) s;
                    magnitudeOut[(i * ow + j) * cout + o] = mag;
                }
            }
        }
        return new Result(y, magnitudeOut, new int[] {oh, ow, cout});
    }
}

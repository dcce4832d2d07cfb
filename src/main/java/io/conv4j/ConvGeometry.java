package io.conv4j;

import java.util.Objects;

/**
 * The resolved geometry of one convolution: every size, the concrete pads (TensorFlow's SAME rule
 * applied) and the output size. {@link #of} is where shapes and options are validated; each
 * refusal is an {@link IllegalArgumentException} naming the parameter and the values.
 */
public final class ConvGeometry {
    private final long batch, inH, inW, inC;
    private final long kernelH, kernelW, inCPerGroup, outC, groups;
    private final long strideH, strideW, dilationH, dilationW;
    private final long padTop, padBottom, padLeft, padRight;
    private final long outH, outW;

    private ConvGeometry(long batch, long inH, long inW, long inC, long kernelH, long kernelW, long inCPerGroup, long outC,
                         long groups, long strideH, long strideW, long dilationH, long dilationW, long padTop, long padBottom,
                         long padLeft, long padRight, long outH, long outW) {
        this.batch = batch;
        this.inH = inH;
        this.inW = inW;
        this.inC = inC;
        this.kernelH = kernelH;
        this.kernelW = kernelW;
        this.inCPerGroup = inCPerGroup;
        this.outC = outC;
        this.groups = groups;
        this.strideH = strideH;
        this.strideW = strideW;
        this.dilationH = dilationH;
        this.dilationW = dilationW;
        this.padTop = padTop;
        this.padBottom = padBottom;
        this.padLeft = padLeft;
        this.padRight = padRight;
        this.outH = outH;
        this.outW = outW;
    }

    /** Largest size conv4j accepts for any single dimension or parameter (native code uses int). */
    static final long MAX_DIM = Integer.MAX_VALUE;

    /**
     * Validates an NHWC input shape, an HWIO filter shape {@code [KH, KW, Cin/groups, Cout]} and the
     * options, and resolves the geometry.
     */
    public static ConvGeometry of(Shape input, Shape filter, Conv2dOptions o) {
        Objects.requireNonNull(input, "input shape");
        Objects.requireNonNull(filter, "filter shape");
        Objects.requireNonNull(o, "options");
        if (o.layout() != DataLayout.NHWC) {
            throw new IllegalArgumentException("layout " + o.layout() + ": this call takes channels-last tensors (input NHWC, filter"
                    + " HWIO); channels first is supported by Conv2d's tensor, array and prepared-filter calls, outputShape, plan and explain");
        }
        if (input.rank() != 4) throw new IllegalArgumentException("input must have rank 4 [N,H,W,C], got shape " + input);
        if (filter.rank() != 4) {
            throw new IllegalArgumentException("filter must have rank 4 [KH,KW,Cin/groups,Cout], got shape " + filter);
        }
        long n = input.size(0), h = input.size(1), w = input.size(2), c = input.size(3);
        long kh = filter.size(0), kw = filter.size(1), fc = filter.size(2), oc = filter.size(3);
        limit("input height", h, 1);
        limit("input width", w, 1);
        limit("input channels", c, 1);
        limit("batch", n, 0);
        limit("filter height", kh, 1);
        limit("filter width", kw, 1);
        limit("filter in-channels", fc, 1);
        limit("filter out-channels", oc, 1);
        long g = o.groups();
        limit("groups", g, 1);
        if (c % g != 0) throw new IllegalArgumentException("groups " + g + " does not divide the input channels " + c);
        if (oc % g != 0) throw new IllegalArgumentException("groups " + g + " does not divide the output channels " + oc);
        if (fc != c / g) {
            throw new IllegalArgumentException("filter shape " + filter + ": dimension 2 must be input channels / groups = "
                    + c + "/" + g + " = " + (c / g) + ", got " + fc);
        }
        long sh = limit("stride height", o.strideH(), 1), sw = limit("stride width", o.strideW(), 1);
        long dh = limit("dilation height", o.dilationH(), 1), dw = limit("dilation width", o.dilationW(), 1);
        long ekh = effective(kh, dh), ekw = effective(kw, dw);

        long pt, pb, pl, pr, outH, outW;
        Padding p = o.padding();
        switch (p.kind()) {
            case SAME:
            case SAME_LOWER: {
                outH = ceilDiv(h, sh);
                outW = ceilDiv(w, sw);
                long th = Math.max((outH - 1) * sh + ekh - h, 0), tw = Math.max((outW - 1) * sw + ekw - w, 0);
                boolean lower = p.kind() == Padding.Kind.SAME_LOWER; // the odd pixel at the top/left
                pt = lower ? th - th / 2 : th / 2; pb = th - pt; pl = lower ? tw - tw / 2 : tw / 2; pr = tw - pl;
                break;
            }
            case EXPLICIT:
                pt = limit("pad top", p.top(), 0);
                pb = limit("pad bottom", p.bottom(), 0);
                pl = limit("pad left", p.left(), 0);
                pr = limit("pad right", p.right(), 0);
                outH = outSize("height", h, pt + pb, ekh, sh, kh, dh);
                outW = outSize("width", w, pl + pr, ekw, sw, kw, dw);
                break;
            default:
                pt = pb = pl = pr = 0;
                outH = outSize("height", h, 0, ekh, sh, kh, dh);
                outW = outSize("width", w, 0, ekw, sw, kw, dw);
        }
        // every window position (and so the output size) must fit the native core's int arithmetic;
        // checked here so that a plan, or an empty batch, is refused the same way as a real call
        if (h + pt + pb > MAX_DIM || w + pl + pr > MAX_DIM) {
            throw new IllegalArgumentException("padded input " + (h + pt + pb) + "x" + (w + pl + pr) + " (input " + h + "x" + w
                    + " plus padding) exceeds " + MAX_DIM);
        }
        return new ConvGeometry(n, h, w, c, kh, kw, fc, oc, g, sh, sw, dh, dw, pt, pb, pl, pr, outH, outW);
    }

    private static long limit(String what, long v, long min) {
        if (v < min || v > MAX_DIM) {
            throw new IllegalArgumentException(what + " must be in [" + min + ", " + MAX_DIM + "], got " + v);
        }
        return v;
    }

    private static long effective(long k, long d) {
        long e = (k - 1) * d + 1; // both <= 2^31, so no overflow
        if (e > MAX_DIM) throw new IllegalArgumentException("dilated kernel extent " + e + " too large");
        return e;
    }

    private static long outSize(String axis, long in, long pads, long ek, long s, long k, long d) {
        long padded = in + pads;
        if (padded < ek) {
            throw new IllegalArgumentException("kernel " + axis + " " + k + (d > 1 ? " (dilation " + d + ", extent " + ek + ")" : "")
                    + " is larger than the padded input " + axis + " " + padded + " (input " + in + " + padding " + pads + ")");
        }
        return (padded - ek) / s + 1;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    public long batch() { return batch; }
    public long inputHeight() { return inH; }
    public long inputWidth() { return inW; }
    public long inputChannels() { return inC; }
    public long kernelHeight() { return kernelH; }
    public long kernelWidth() { return kernelW; }
    public long inputChannelsPerGroup() { return inCPerGroup; }
    public long outputChannels() { return outC; }
    public long groups() { return groups; }
    public long strideHeight() { return strideH; }
    public long strideWidth() { return strideW; }
    public long dilationHeight() { return dilationH; }
    public long dilationWidth() { return dilationW; }
    public long padTop() { return padTop; }
    public long padBottom() { return padBottom; }
    public long padLeft() { return padLeft; }
    public long padRight() { return padRight; }
    public long outputHeight() { return outH; }
    public long outputWidth() { return outW; }

    /** {@code [N, OH, OW, Cout]}. */
    public Shape outputShape() {
        return Shape.of(batch, outH, outW, outC);
    }

    /** {@code [KH, KW, Cin/groups, Cout]}. */
    public Shape filterShape() {
        return Shape.of(kernelH, kernelW, inCPerGroup, outC);
    }

    /** Multiply-adds times two: {@code 2 N OH OW Cout KH KW Cin/groups} (as a double: it can exceed a long). */
    public double flops() {
        return 2.0 * batch * outH * outW * outC * kernelH * kernelW * inCPerGroup;
    }

    /** Number of long fields of {@code c4j_conv2d_desc} ({@code native/include/conv4j.h}). */
    static final int NATIVE_FIELDS = 27;

    /**
     * The 2-D core's descriptor {@code c4j_conv2d_desc}, field by field in its order: this geometry
     * with the element strides (n, h, w, c) of the input view and of the output view, the flip, the
     * activation and whether a bias is added. The one place that packs it; the C side re-checks it
     * against each buffer's capacity ({@code NATIVE_FIELDS} is checked by the JNI layer).
     */
    long[] toNative(Tensor inputView, long[] outStrides, Conv2dOptions options, boolean hasBias) {
        Tensor x = inputView.canonical(); // bounded strides on size-1 axes (any value there is the same view)
        return toNative(new long[] {x.stride(0), x.stride(1), x.stride(2), x.stride(3)}, outStrides, options.flipKernel(),
                options.activation(), hasBias);
    }

    /** As {@link #toNative(Tensor, long[], Conv2dOptions, boolean)}, from the input view's element strides. */
    long[] toNative(long[] inStrides, long[] outStrides, boolean flip, Activation activation, boolean hasBias) {
        return new long[] {
            batch, inH, inW, inC,
            inStrides[0], inStrides[1], inStrides[2], inStrides[3],
            kernelH, kernelW,
            outC, groups,
            strideH, strideW,
            dilationH, dilationW,
            padTop, padLeft,
            outH, outW,
            outStrides[0], outStrides[1], outStrides[2], outStrides[3],
            flip ? 1 : 0,
            activation.nativeId,
            hasBias ? 1 : 0,
        };
    }

    @Override
    public String toString() {
        return "ConvGeometry[input=" + batch + "x" + inH + "x" + inW + "x" + inC + ", filter=" + kernelH + "x" + kernelW + "x"
                + inCPerGroup + "x" + outC + ", groups=" + groups + ", strides=" + strideH + "," + strideW + ", dilations="
                + dilationH + "," + dilationW + ", pads(t,b,l,r)=" + padTop + "," + padBottom + "," + padLeft + "," + padRight
                + ", output=" + batch + "x" + outH + "x" + outW + "x" + outC + "]";
    }
}

package io.conv4j;

import io.conv4j.internal.NativeCore;
import java.nio.ByteBuffer;
import java.util.EnumSet;
import java.util.Set;

/**
 * A channels-first call (NCHW input and output) on a channels-last route, one band of output rows
 * at a time: each unit (an image's band) transposes the input rows the band reads into a
 * channels-last copy, runs the route on that band, and transposes the band's result into the
 * output planes while it is still in cache. Copies of whole images would go to memory and back
 * on a large layer (twice the input and twice the output, and the cache they evict); a band's
 * copies are a core's cache-sized working set.
 *
 * <p>Each band is the layer itself cut along the output rows: the same filter, its own input rows
 * (the halo a kernel needs included, the image's padding kept where the band touches it), so the
 * route computes every output pixel from the same values as on the whole image. Only routes whose
 * result for a pixel does not depend on where the call starts are cut: the direct and GEMM routes
 * (each output one sum in a fixed order) and Winograd, whose tiles stay where they were because
 * bands start on multiples of its tile's rows; their filter transform is the whole
 * layer's (checked by size). Bands depend on the layer's shape alone, so any thread count gives
 * the same bits.
 */
final class ChannelsFirstBands {
    /** Routes that may be cut into bands (see the class comment). */
    private static final Set<Algorithm> CUTTABLE = EnumSet.of(Algorithm.GEMM_DIRECT, Algorithm.GEMM_TILED,
            Algorithm.DIRECT_DENSE, Algorithm.DIRECT_NARROW, Algorithm.WINOGRAD_2X2, Algorithm.WINOGRAD_4X4);

    /** Output rows of a route's tile: bands start on multiples of it (Winograd's tiles stay where they were). */
    private static long tileRows(Algorithm a) {
        return a == Algorithm.WINOGRAD_4X4 ? 4 : a == Algorithm.WINOGRAD_2X2 ? 2 : 1;
    }

    /**
     * Floats of a band's two copies (input rows and output rows) together: 96 Ki floats, 384 KiB,
     * inside any current core's L2 with room for the route's own workspace. A layer whose whole
     * input and output fit twice this is left to whole-image copies, which then stay in cache too.
     */
    static final long BAND_FLOATS = 96 * 1024;

    /** Fewest units (images x bands) for a cut: fewer leave a second thread nothing to take. */
    static final long MIN_UNITS = 8;

    /** Seconds per float moved by a band's transpose, whose source or target is in cache. */
    static final double TRANSPOSE_SECONDS_PER_FLOAT = 0.25e-9;

    final ForwardCall whole;
    private final long rows, bands, inFloats, outOffsetBytes, routeOffsetBytes, workspaceBytes;
    private final long[][] descs; // per band
    private final long[] units, inRow0, inRows, outRows;
    private final double seconds;

    private ChannelsFirstBands(ForwardCall whole, long rows, long bands, long[][] descs, long[] units, long[] inRow0,
                               long[] inRows, long[] outRows, long inFloats, long outFloats, long routeBytes, double seconds) {
        this.whole = whole;
        this.rows = rows;
        this.bands = bands;
        this.descs = descs;
        this.units = units;
        this.inRow0 = inRow0;
        this.inRows = inRows;
        this.outRows = outRows;
        this.inFloats = inFloats;
        this.outOffsetBytes = align(Math.multiplyExact(inFloats, 4L));
        this.routeOffsetBytes = align(Math.addExact(outOffsetBytes, Math.multiplyExact(outFloats, 4L)));
        this.workspaceBytes = Math.addExact(routeOffsetBytes, routeBytes);
        this.seconds = seconds;
    }

    private static long align(long bytes) {
        return Math.addExact(bytes, 63) & ~63L;
    }

    /**
     * The cut of {@code whole} (the channels-last call on dense tensors of the layer's geometry), or
     * null where it does not pay or cannot run: a route not in {@link #CUTTABLE}, a layer whose
     * copies fit in cache anyway, too few bands, a band the route cannot run or whose filter
     * transform differs in size from the whole layer's.
     */
    static ChannelsFirstBands of(ConvGeometry geo, ForwardCall whole) {
        Algorithm a = whole.plan.algorithm();
        if (!CUTTABLE.contains(a) || geo.batch() == 0) return null;
        long n = geo.batch(), h = geo.inputHeight(), w = geo.inputWidth(), c = geo.inputChannels();
        long oh = geo.outputHeight(), ow = geo.outputWidth(), cout = geo.outputChannels();
        long inRowFloats = Math.multiplyExact(w, c), outRowFloats = Math.multiplyExact(ow, cout);
        long wholeFloats = Math.multiplyExact(n, Math.addExact(Math.multiplyExact(h, inRowFloats), Math.multiplyExact(oh, outRowFloats)));
        if (wholeFloats <= 2 * BAND_FLOATS) return null;
        long sh = geo.strideHeight(), extent = Math.addExact(Math.multiplyExact(geo.kernelHeight() - 1, geo.dilationHeight()), 1);
        long perRow = Math.addExact(outRowFloats, Math.multiplyExact(sh, inRowFloats));
        long tile = tileRows(a), rows = Math.max(tile, BAND_FLOATS / Math.max(1, perRow) / tile * tile);
        long bands = (oh + rows - 1) / rows;
        if (bands < 2 || Math.multiplyExact(n, bands) < MIN_UNITS) return null;
        long[][] descs = new long[(int) bands][];
        long[] units = new long[(int) bands], inRow0 = new long[(int) bands], inRows = new long[(int) bands],
                outRows = new long[(int) bands];
        long maxIn = 0, maxOut = 0, routeBytes = 0, transformFloats = whole.transformFloats();
        double seconds = 0;
        int algo = a.nativeId;
        for (int b = 0; b < bands; b++) {
            long o0 = b * rows, o1 = Math.min(oh, o0 + rows);
            long first = o0 * sh - geo.padTop(), last = (o1 - 1) * sh - geo.padTop() + extent; // input rows [first, last)
            long i0 = Math.max(0, first), i1 = Math.min(h, last);
            if (i1 <= i0) return null; // a band all padding: the whole-image route runs it
            long[] d = whole.desc.clone();
            d[0] = 1;
            d[1] = i1 - i0;
            d[4] = Math.multiplyExact(i1 - i0, inRowFloats); // dense channels-last band
            d[5] = inRowFloats;
            d[6] = c;
            d[7] = 1;
            d[16] = i0 - first; // the image's top padding where the band reaches it, else none
            d[18] = o1 - o0;
            d[20] = Math.multiplyExact(o1 - o0, outRowFloats);
            d[21] = outRowFloats;
            d[22] = cout;
            d[23] = 1;
            long u = NativeCore.units(d, algo), ws = NativeCore.workspaceBytes(d, algo);
            if (u <= 0 || ws < 0 || NativeCore.preparedFloats(d, algo) != transformFloats) return null;
            descs[b] = d;
            units[b] = u;
            inRow0[b] = i0;
            inRows[b] = i1 - i0;
            outRows[b] = o1 - o0;
            maxIn = Math.max(maxIn, Math.multiplyExact(i1 - i0, inRowFloats));
            maxOut = Math.max(maxOut, Math.multiplyExact(o1 - o0, outRowFloats));
            routeBytes = Math.max(routeBytes, ws);
            seconds += TRANSPOSE_SECONDS_PER_FLOAT * ((double) (i1 - i0) * inRowFloats + (double) (o1 - o0) * outRowFloats);
        }
        seconds = n * seconds + Math.max(0, whole.plan.estimatedSeconds());
        return new ChannelsFirstBands(whole, rows, bands, descs, units, inRow0, inRows, outRows, maxIn, maxOut, routeBytes, seconds);
    }

    /** Estimated single-thread seconds: the route on the whole layer plus the bands' transposes. */
    double seconds() {
        return seconds;
    }

    /** Output rows per band (the last band may have fewer). */
    long rows() {
        return rows;
    }

    /** The transposes' share of {@link #seconds}. */
    double transposeSeconds() {
        return seconds - Math.max(0, whole.plan.estimatedSeconds());
    }

    /**
     * Runs the cut: {@code x} and {@code y} the NHWC views of the caller's NCHW input and output
     * (float32, disjoint), {@code w} the HWIO filter (contiguous), {@code transformed} the route's
     * filter transform (or null when it needs none), {@code bias} contiguous or null.
     */
    void execute(Tensor x, Tensor w, Tensor transformed, Tensor bias, Tensor y) {
        kernel(x, w, transformed, bias, y).execute(Math.multiplyExact(x.shape().size(0), bands), workspaceBytes, seconds);
    }

    /** {@link #execute} on the calling thread alone, with the caller's workspace ({@link #workspaceBytes} at least). */
    void executeOnCaller(Tensor x, Tensor w, Tensor transformed, Tensor bias, Tensor y, ByteBuffer workspace) {
        kernel(x, w, transformed, bias, y).executeOnCaller(Math.multiplyExact(x.shape().size(0), bands), workspace);
    }

    /** Bytes of workspace one call of the cut needs: a band's two copies and the route's own. */
    long workspaceBytes() {
        return workspaceBytes;
    }

    private Kernel kernel(Tensor x, Tensor w, Tensor transformed, Tensor bias, Tensor y) {
        Kernel k = new Kernel(this, x.strides(), y.strides());
        k.operand(0, x);
        k.operand(1, w);
        k.operand(2, transformed);
        k.operand(3, bias);
        k.operand(4, y);
        return k;
    }

    /** Units are (image, band); each copies its band in, runs the route on it and copies it out. */
    private static final class Kernel extends NativeCall {
        private final ChannelsFirstBands cut;
        private final long[] xStrides, yStrides, bandIn, bandOut;

        Kernel(ChannelsFirstBands cut, long[] xStrides, long[] yStrides) {
            this.cut = cut;
            this.xStrides = xStrides;
            this.yStrides = yStrides;
            long[] d = cut.descs[0];
            bandIn = new long[] {0, d[5], d[6], 1}; // the image axis is 1 in a band: its stride is never used
            bandOut = new long[] {0, d[21], d[22], 1};
        }

        @Override
        public void run(long u0, long u1, ByteBuffer workspace) { // called by several threads at once: nothing shared is written
            long[] dimIn = new long[4], dimOut = new long[4];
            ByteBuffer route = workspace.slice((int) cut.routeOffsetBytes, workspace.capacity() - (int) cut.routeOffsetBytes);
            long[] d0 = cut.descs[0];
            for (long u = u0; u < u1; u++) {
                long image = u / cut.bands;
                int b = (int) (u % cut.bands);
                long[] d = cut.descs[b];
                dimIn[0] = 1;
                dimIn[1] = cut.inRows[b];
                dimIn[2] = d0[2];
                dimIn[3] = d0[3];
                long xAt = offset(0) + 4 * (image * xStrides[0] + cut.inRow0[b] * xStrides[1]);
                NativeCore.copyView(buffer(0), xAt, xStrides, workspace, 0, bandIn, dimIn);
                NativeCore.forward(d, cut.whole.plan.algorithm().nativeId, workspace, 0, buffer(1), offset(1), buffer(2), offset(2),
                        buffer(3), offset(3), workspace, cut.outOffsetBytes, route, 0, cut.units[b]);
                dimOut[0] = 1;
                dimOut[1] = cut.outRows[b];
                dimOut[2] = d0[19];
                dimOut[3] = d0[10];
                long yAt = offset(4) + 4 * (image * yStrides[0] + b * cut.rows * yStrides[1]);
                NativeCore.copyView(workspace, cut.outOffsetBytes, bandOut, buffer(4), yAt, yStrides, dimOut);
            }
        }
    }
}

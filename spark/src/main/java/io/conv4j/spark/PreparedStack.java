package io.conv4j.spark;

import io.conv4j.Conv2d;
import io.conv4j.PreparedFilter;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * A stack of layers with their filters prepared by conv4j ({@link Conv2d#prepare}), run on one image at a
 * time. Thread-safe (conv4j's prepared filters are), shared by all tasks of an executor JVM through
 * {@link PreparedStacks}.
 */
final class PreparedStack implements AutoCloseable {
    private final List<PreparedFilter> filters = new ArrayList<>();
    private volatile boolean closed;

    PreparedStack(List<ConvLayerSpec> layers) {
        try {
            for (ConvLayerSpec l : layers) {
                try (Tensor w = Tensor.fromArray(l.filter(), l.shape());
                     Tensor b = l.bias() == null ? null : Tensor.fromArray(l.bias(), Shape.of(l.bias().length))) {
                    filters.add(Conv2d.prepare(w, b, l.options()));
                }
            }
        } catch (RuntimeException | Error e) {
            close();
            throw e;
        }
    }

    /**
     * Convolves one image {@code [H, W, C]} through every layer; returns the output and sets {@code outShape}
     * to {@code [OH, OW, Cout]}. Shapes the layers cannot take (too few pixels, wrong channels, an output too
     * large for one array) throw {@link IllegalArgumentException} before any native code runs; a closed stack
     * throws {@link IllegalStateException}.
     */
    float[] apply(InputLayout.Pixels in, int[] outShape) {
        if (closed) throw new IllegalStateException("prepared layers are closed");
        Shape shape = Shape.of(1, in.height, in.width, in.channels);
        for (PreparedFilter f : filters) {
            shape = Conv2d.outputShape(shape, f.filterShape(), f.options());
        }
        if (shape.numElements() > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("output " + shape + " has more values than a Java array holds");
        }
        Tensor cur = Tensor.fromArray(in.values, Shape.of(1, in.height, in.width, in.channels));
        try {
            for (PreparedFilter f : filters) {
                Tensor next = Conv2d.conv2d(cur, f);
                cur.close();
                cur = next;
            }
            outShape[0] = Math.toIntExact(cur.shape().size(1));
            outShape[1] = Math.toIntExact(cur.shape().size(2));
            outShape[2] = Math.toIntExact(cur.shape().size(3));
            return cur.toArray();
        } finally {
            cur.close();
        }
    }

    @Override
    public void close() {
        closed = true;
        filters.forEach(PreparedFilter::close);
        filters.clear();
    }
}

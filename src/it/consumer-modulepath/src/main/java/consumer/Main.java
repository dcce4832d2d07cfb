package consumer;

import io.conv4j.Conv2d;
import io.conv4j.Conv2dOptions;
import io.conv4j.Conv4j;
import io.conv4j.Padding;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.util.Arrays;

/**
 * Runs one convolution through conv4j as a named module and checks that conv4j exports only its
 * API package. The numbers are small enough to check by hand: a 3x3 image 1..9, a 2x2 filter of
 * ones, SAME padding (the odd row and column at the bottom/right), bias 0.5.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        Module conv4j = Conv2d.class.getModule();
        if (!"io.conv4j".equals(conv4j.getName())) throw new AssertionError("conv4j is not the named module io.conv4j: " + conv4j);
        if (conv4j.isExported("io.conv4j.internal") || conv4j.isExported("io.conv4j.cli")) {
            throw new AssertionError("io.conv4j exports more than its API: " + conv4j.getDescriptor().exports());
        }
        try {
            Class.forName("io.conv4j.internal.NativeLibrary").getMethod("ensureLoaded").invoke(null);
            throw new AssertionError("io.conv4j.internal is reachable from another module");
        } catch (IllegalAccessException expected) {
            // encapsulated, as it should be
        }

        Conv2dOptions same = Conv2dOptions.builder().padding(Padding.SAME).build();
        float[] y;
        try (Tensor x = Tensor.fromArray(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape.of(1, 3, 3, 1));
             Tensor w = Tensor.fromArray(new float[] {1, 1, 1, 1}, Shape.of(2, 2, 1, 1));
             Tensor b = Tensor.fromArray(new float[] {0.5f}, Shape.of(1));
             Tensor out = Conv2d.conv2d(x, w, b, same)) {
            y = out.toArray();
        }
        float[] expected = {12.5f, 16.5f, 9.5f, 24.5f, 28.5f, 15.5f, 15.5f, 17.5f, 9.5f};
        if (!Arrays.equals(y, expected)) throw new AssertionError("conv2d gave " + Arrays.toString(y));
        System.out.println("module path consumer (" + args[0] + "): conv2d gives " + Arrays.toString(y));
        System.out.println(Conv4j.info());
    }
}

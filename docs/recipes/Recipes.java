// The README's recipes as one program: javac -cp target/conv4j-0.1.0.jar docs/recipes/Recipes.java, then
// java -cp target/conv4j-0.1.0.jar:$HOME/.m2/repository/org/bytedeco/openblas/0.3.31-1.5.13/openblas-0.3.31-1.5.13-linux-x86_64.jar:docs/recipes Recipes
import io.conv4j.*;
import java.util.Random;

public class Recipes {
    public static void main(String[] a) {
        Random rnd = new Random(1);
        // --- NCHW
        float[] pixels = new float[2 * 3 * 32 * 32];
        float[] weightsOIHW = new float[8 * 3 * 3 * 3];
        for (int i = 0; i < pixels.length; i++) pixels[i] = rnd.nextFloat();
        for (int i = 0; i < weightsOIHW.length; i++) weightsOIHW[i] = rnd.nextFloat() - 0.5f;
        // BEGIN nchw
        Conv2dOptions nchw = Conv2dOptions.builder().layout(DataLayout.NCHW).padding(Padding.SAME).build();
        try (Tensor x = Tensor.fromArray(pixels, Shape.of(2, 3, 32, 32));        // NCHW, as PyTorch holds it
             Tensor w = Tensor.fromArray(weightsOIHW, Shape.of(8, 3, 3, 3));     // OIHW
             Tensor y = Conv2d.conv2d(x, w, null, nchw)) {                       // NCHW [2, 8, 32, 32]
            System.out.println("nchw " + y.shape());
        }
        // END nchw
        // --- 1-D
        float[] samples = new float[4 * 1000 * 2];
        float[] taps = new float[5 * 2 * 16];
        // BEGIN 1d
        ConvOptions causal = ConvOptions.builder().padding(Padding.explicit(4, 0)).build();
        try (Tensor x = Tensor.fromArray(samples, Shape.of(4, 1000, 2));         // [N, W, C]: 4 stereo clips
             Tensor w = Tensor.fromArray(taps, Shape.of(5, 2, 16));              // [K, Cin, Cout]
             Tensor y = Conv.conv(x, w, null, causal)) {                         // [4, 1000, 16], causal
            System.out.println("1d " + y.shape());
        }
        // END 1d
        // --- double
        double[] xs = new double[2 * 64 * 64 * 3];
        double[] ws = new double[5 * 5 * 3 * 16];
        for (int i = 0; i < xs.length; i++) xs[i] = rnd.nextGaussian();
        for (int i = 0; i < ws.length; i++) ws[i] = rnd.nextGaussian();
        // BEGIN double
        double[] out = Conv.conv(xs, Shape.of(2, 64, 64, 3), ws, Shape.of(5, 5, 3, 16), null, ConvOptions.defaults());
        try (Tensor x = Tensor.fromArray(xs, Shape.of(2, 64, 64, 3));            // DType.FLOAT64
             Tensor w = Tensor.fromArray(ws, Shape.of(5, 5, 3, 16));
             Tensor y = Conv.conv(x, w, null, ConvOptions.defaults())) {         // dgemm, float64 all the way
            double[] same = y.toDoubleArray();
            System.out.println("double " + y.dtype() + " " + y.shape() + " " + java.util.Arrays.equals(out, same));
        }
        // END double
        // --- training
        // BEGIN train
        // Learn an unknown 3-tap 1-D filter from examples: mean squared error, plain SGD, float64.
        double[] truth = {0.25, 0.5, 0.25};
        ConvOptions same = ConvOptions.builder().padding(Padding.SAME).build();
        Random r = new Random(7);
        try (ConvLayer layer = ConvLayer.create(DType.FLOAT64, Shape.of(3, 1, 1), false, same, 42);
             Tensor w = Tensor.fromArray(truth, Shape.of(3, 1, 1))) {
            for (int step = 0; step <= 300; step++) {
                try (Tensor x = Tensor.fromArray(r.doubles(16 * 64).toArray(), Shape.of(16, 64, 1));
                     Tensor target = Conv.conv(x, w, null, same);
                     Tensor y = layer.forward(x)) {
                    double[] d = y.toDoubleArray(), t = target.toDoubleArray();
                    double loss = 0;
                    for (int i = 0; i < d.length; i++) {
                        loss += (d[i] - t[i]) * (d[i] - t[i]) / d.length;
                        d[i] = 2 * (d[i] - t[i]) / d.length;
                    }
                    try (Tensor g = Tensor.fromArray(d, y.shape())) {
                        layer.backward(g, false);
                    }
                    layer.sgdStep(0.5);
                    if (step % 100 == 0) System.out.printf("step %d loss %.3g%n", step, loss);
                }
            }
            System.out.println(java.util.Arrays.toString(layer.filter().toDoubleArray()));  // ~[0.25, 0.5, 0.25]
        }
        // END train
    }
}

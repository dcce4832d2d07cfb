package io.conv4j.jmh;

import io.conv4j.Algorithm;
import io.conv4j.Conv2d;
import io.conv4j.Conv2dOptions;
import io.conv4j.Conv4j;
import io.conv4j.Padding;
import io.conv4j.PreparedFilter;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * JMH benchmarks of the Java entry points on real layer shapes (the names of
 * ../shared/bench/shapes.csv): the prepared-filter path the peer bench times, the plain tensor
 * call (filter transforms per call), and an exact-only run for comparison. Run with
 * {@code mvn -DskipTests test-compile exec:exec@jmh} (see README); compare with the algorithm
 * choice of {@code explain} and with {@code native/bench}'s sgemm ratios.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class Conv2dBenchmark {
    /** Layer shapes by name: N,H,W,Cin,KH,KW,Cout,stride,padding (as in shapes.csv). */
    static final java.util.Map<String, String> SHAPES = java.util.Map.of(
            "tiny_3x3_8x8x4", "1,8,8,4,3,3,8,1,SAME",
            "r50_3x3_56x64", "1,56,56,64,3,3,64,1,SAME",
            "r50_1x1_56x64to256", "1,56,56,64,1,1,256,1,SAME",
            "r50_3x3_14x256", "1,14,14,256,3,3,256,1,SAME",
            "seed_5x5_n4", "4,64,64,3,5,5,16,1,VALID",
            "bigk_11x11_64x16", "1,64,64,16,11,11,16,1,SAME");

    @Param({"tiny_3x3_8x8x4", "r50_3x3_56x64", "r50_1x1_56x64to256", "r50_3x3_14x256", "seed_5x5_n4", "bigk_11x11_64x16"})
    public String shape;

    @Param({"1"})
    public int threads;

    Tensor input, filter, output;
    PreparedFilter prepared;
    Conv2dOptions options, exact;

    @Setup(Level.Trial)
    public void setUp() {
        String[] f = SHAPES.get(shape).split(",");
        long[] v = new long[8];
        for (int i = 0; i < 8; i++) v[i] = Long.parseLong(f[i]);
        Shape in = Shape.of(v[0], v[1], v[2], v[3]), fs = Shape.of(v[4], v[5], v[3], v[6]);
        options = Conv2dOptions.builder().strides(v[7], v[7]).padding(Padding.parse(f[8])).build();
        exact = options.toBuilder().exactOnly(true).algorithm(Algorithm.AUTO).build();
        Conv4j.setThreads(threads);
        float[] x = new float[(int) in.numElements()], w = new float[(int) fs.numElements()];
        for (long i = 0; i < x.length; i++) x[(int) i] = (float) (((i * 37 + 11) % 101) - 50) / 50.0f;
        for (long i = 0; i < w.length; i++) w[(int) i] = (float) (((i * 53 + 7) % 97) - 48) / 480.0f;
        input = Tensor.fromArray(x, in);
        filter = Tensor.fromArray(w, fs);
        output = Tensor.allocate(Conv2d.outputShape(in, fs, options));
        prepared = Conv2d.prepare(filter, null, options).prepareFor(in);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        prepared.close();
        input.close();
        filter.close();
        output.close();
    }

    /** What the peer bench times: prepared filter, preallocated output. */
    @Benchmark
    public Tensor prepared() {
        return Conv2d.conv2d(input, prepared, output);
    }

    /** The plain call: any filter transform the algorithm needs is redone each call. */
    @Benchmark
    public Tensor plain() {
        return Conv2d.conv2d(input, filter, null, options, output);
    }

    /** Only exact algorithms (no Winograd or FFT). */
    @Benchmark
    public Tensor exactOnly() {
        return Conv2d.conv2d(input, filter, null, exact, output);
    }
}

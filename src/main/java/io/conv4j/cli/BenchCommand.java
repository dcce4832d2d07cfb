package io.conv4j.cli;

import io.conv4j.Conv2d;
import io.conv4j.Conv2dBackward;
import io.conv4j.Conv2dGradients;
import io.conv4j.Conv2dLayer;
import io.conv4j.Conv2dOptions;
import io.conv4j.Conv4j;
import io.conv4j.Padding;
import io.conv4j.Plan;
import io.conv4j.PreparedFilter;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import io.conv4j.internal.ConvExecutor;
import io.conv4j.internal.NativeCore;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code bench}: conv4j as a peer of {@code ../shared/bench} (see its README, "The conv4j peer").
 * Same shapes file (without one, a built-in copy of the harness's list), same deterministic data, same timing policy and {@code BENCH_*} variables,
 * one CSV row per shape {@code conv4j,T,shape,median_ms,gflops}. The filter is prepared once,
 * untimed (as the oneDNN and ORT peers reorder theirs); each timed call convolves the input into
 * a preallocated output tensor. With {@code --callers C}, each shape also gets a row
 * {@code conv4j_callersC,T,shape,,gflops}: the aggregate throughput of C JVM threads calling conv4j at
 * once (each on its own output) for BENCH_MIN_TIME seconds. With {@code --backward} (the harness's
 * {@code MODE=backward}), each shape gets a row {@code conv4j_bwd,T,shape,median_ms,gflops} instead, timing
 * one full backward pass (dL/d(input) and dL/d(filter) for a fixed dL/d(output), into preallocated
 * gradients; flops = 2 x forward) as a training step runs it after its forward pass: with the same
 * {@link PreparedFilter} as the forward figure, so the input gradient's rearranged (transformed)
 * filter is computed once, untimed, as the forward pass's transform is. stderr also gets the backward
 * pass with a plain filter tensor (that rearrangement paid in every call) and a {@link Conv2dLayer}
 * training step (forward and backward, each filter transform paid in every step), both timed. {@code --dump} also writes the two gradients of
 * the check shapes ({@code conv4j_bwd__SHAPE.dx.f32}, {@code .dw.f32}); the forward row then goes to stderr.
 */
final class BenchCommand {
    private BenchCommand() {}

    /** The shapes timed when no file is given: a copy of ../shared/bench/shapes.csv, so a plain clone can bench. */
    static final String BUILT_IN_SHAPES = "bench-shapes.csv";

    /** One row of shapes.csv; the 11th column, groups, is optional (absent or empty: 1). */
    static final class BenchShape {
        final String name;
        final long n, h, w, cin, kh, kw, cout, stride, groups;
        final Padding padding;

        BenchShape(String line) throws UsageException {
            String[] f = line.split(",", -1);
            if (f.length != 10 && f.length != 11)
                throw new UsageException("shapes file: expected 10 or 11 columns, got: " + line);
            try {
                name = f[0].trim();
                n = Long.parseLong(f[1].trim()); h = Long.parseLong(f[2].trim()); w = Long.parseLong(f[3].trim());
                cin = Long.parseLong(f[4].trim()); kh = Long.parseLong(f[5].trim()); kw = Long.parseLong(f[6].trim());
                cout = Long.parseLong(f[7].trim()); stride = Long.parseLong(f[8].trim());
                padding = Padding.parse(f[9].trim());
                groups = f.length == 11 && !f[10].trim().isEmpty() ? Long.parseLong(f[10].trim()) : 1;
                if (groups < 1 || cin % groups != 0 || cout % groups != 0)
                    throw new IllegalArgumentException("groups " + groups + " must divide Cin " + cin + " and Cout " + cout);
            } catch (IllegalArgumentException e) {
                throw new UsageException("shapes file: bad row \"" + line + "\": " + e.getMessage());
            }
        }

        Shape input() { return Shape.of(n, h, w, cin); }
        Shape filter() { return Shape.of(kh, kw, cin / groups, cout); }
        Conv2dOptions options() {
            return Conv2dOptions.builder().strides(stride, stride).padding(padding).groups(groups).build();
        }
    }

    static int run(String[] argv, PrintStream out, PrintStream err) throws UsageException {
        Args a = Args.parse(argv, 1, Set.of("threads", "shapes", "dump", "check-shapes", "callers"), Set.of("version", "backward"), true);
        if (a.has("version")) {
            out.println(Conv4j.info().lines().filter(l -> l.startsWith("conv4j ") || l.startsWith("blas config")
                    || l.startsWith("blas core")).reduce((x, y) -> x + "; " + y).orElse("conv4j"));
            return 0;
        }
        String csv = a.get(""); // null: the built-in list, a copy of the peer harness's shapes.csv
        int threads = (int) a.positiveLong("threads", 1);
        int callers = (int) Math.min(a.positiveLong("callers", 1), 1024);
        Set<String> only = split(a.get("shapes"));
        Set<String> check = split(a.get("check-shapes"));
        String dump = a.get("dump");
        if (dump != null && !Files.isDirectory(Path.of(dump))) throw new UsageException("--dump: no such directory: " + dump);
        List<BenchShape> shapes = load(csv, only);
        Conv4j.setThreads(threads);
        err.println("# conv4j bench: threads=" + Conv4j.threads() + "; " + Conv4j.info().lines()
                .filter(l -> l.startsWith("blas core")).findFirst().orElse(""));
        long started = System.nanoTime();
        for (int index = 0; index < shapes.size(); index++) {
            BenchShape s = shapes.get(index);
            float[] x = new float[(int) s.input().numElements()];
            for (long i = 0; i < x.length; i++) x[(int) i] = (float) (((i * 37 + 11) % 101) - 50) / 50.0f;
            float[] w = new float[(int) s.filter().numElements()];
            for (long i = 0; i < w.length; i++) w[(int) i] = (float) (((i * 53 + 7) % 97) - 48) / 480.0f;
            Conv2dOptions o = s.options();
            Shape outShape = Conv2d.outputShape(s.input(), s.filter(), o);
            double flops = 2.0 * outShape.numElements() * s.kh * s.kw * (s.cin / s.groups);
            try (Tensor tx = Tensor.fromArray(x, s.input()); Tensor tw = Tensor.fromArray(w, s.filter());
                 PreparedFilter pf = Conv2d.prepare(tw, null, o).prepareFor(s.input());
                 Tensor y = Tensor.allocate(outShape)) {
                Plan plan = Conv2d.plan(tx, pf);
                // progress on stderr (stdout's rows are what the harness parses)
                err.printf(Locale.ROOT, "# conv4j [%d/%d, %.0f s] %s %s%n", index + 1, shapes.size(),
                        (System.nanoTime() - started) * 1e-9, s.name, plan);
                // measured native workspace: a fresh executor (no workspace held), then the peak of
                // conv4j's native bytes above what the tensors and prepared filter already hold
                Conv4j.setThreads(threads == 1 ? 2 : 1);
                Conv4j.setThreads(threads);
                long base = NativeCore.allocatedBytes();
                NativeCore.resetPeakAllocatedBytes();
                double med = Timing.median(() -> Conv2d.conv2d(tx, pf, y));
                long peak = NativeCore.peakAllocatedBytes() - base;
                if (threads > 1) err.printf(Locale.ROOT, "# conv4j %s executor: %s%n", s.name, ConvExecutor.get().activity());
                err.printf(Locale.ROOT, "# conv4j %s native workspace peak %d KiB with %d thread(s) (output %d KiB, prepared filter %d KiB)%n",
                        s.name, peak / 1024, threads, outShape.numElements() * 4 / 1024, plan.preparedFloats() * 4 / 1024);
                // in backward mode the harness keeps only conv4j_bwd rows: the forward figure goes to
                // stderr there, beside the backward/forward ratio it explains
                (a.has("backward") ? err : out).printf(Locale.ROOT, "%sconv4j,%d,%s,%.4f,%.3f%n",
                        a.has("backward") ? "# forward: " : "", threads, s.name, med * 1e3, flops / med * 1e-9);
                out.flush();
                if (callers > 1) {
                    double agg = Throughput.gflops(callers, Timing.env("BENCH_MIN_TIME", 0.5), flops, tx, pf, outShape);
                    out.printf(Locale.ROOT, "conv4j_callers%d,%d,%s,,%.3f%n", callers, threads, s.name, agg);
                    out.flush();
                }
                if (a.has("backward")) {
                    double bflops = Conv2dBackward.flops(s.input(), s.filter(), o);
                    float[] g = new float[(int) outShape.numElements()];
                    for (long i = 0; i < g.length; i++) g[(int) i] = (float) (((i * 29 + 3) % 89) - 44) / 44.0f;
                    try (Tensor dy = Tensor.fromArray(g, outShape);
                         Conv2dGradients grads = Conv2dGradients.allocate(s.input(), s.filter(), false)) {
                        double bmed = Timing.median(() -> Conv2dBackward.backward(tx, pf, null, dy, grads));
                        out.printf(Locale.ROOT, "conv4j_bwd,%d,%s,%.4f,%.3f%n", threads, s.name, bmed * 1e3,
                                bflops / bmed * 1e-9);
                        out.flush();
                        err.printf(Locale.ROOT, "# conv4j %s backward/forward GFLOP/s ratio %.2f (both with the filter prepared once)%n",
                                s.name, (bflops / bmed) / (flops / med));
                        double plain = Timing.median(() -> Conv2dBackward.backward(tx, tw, null, null, dy, o, grads));
                        err.printf(Locale.ROOT, "# conv4j %s backward with the filter rearranged per call: %.4f ms, %.3f GFLOP/s,"
                                + " ratio %.2f%n", s.name, plain * 1e3, bflops / plain * 1e-9, (bflops / plain) / (flops / med));
                        try (Conv2dLayer layer = new Conv2dLayer(tw, null, o)) { // its filter transforms are paid every step
                            double step = Timing.median(() -> {
                                layer.forward(tx);
                                layer.backward(dy, true);
                            });
                            err.printf(Locale.ROOT, "# conv4j %s Conv2dLayer forward + backward (filter transforms paid per step): %.4f ms,"
                                    + " %.3f GFLOP/s (3 x forward flops)%n", s.name, step * 1e3, (flops + bflops) / step * 1e-9);
                        }
                        if (dump != null && check.contains(s.name)) { // the gradients of the call the conv4j_bwd row timed
                            Conv2dBackward.backward(tx, pf, null, dy, grads); // (the per-call timing wrote grads since)
                            dump(dump, "conv4j_bwd__" + s.name + ".dx.f32", grads.gradInput().toArray());
                            dump(dump, "conv4j_bwd__" + s.name + ".dw.f32", grads.gradFilter().toArray());
                        }
                    }
                }
                if (dump != null && check.contains(s.name)) {
                    dump(dump, "conv4j__" + s.name + ".f32", y.toArray());
                }
            }
        }
        return 0;
    }

    /** Writes raw floats for the harness's check into {@code dir}, under the shared output-file policy. */
    private static void dump(String dir, String name, float[] data) throws UsageException {
        OutputFiles.writeOne("dump", Path.of(dir, name).toString(), FloatFile.content(name, data, Shape.of(data.length)));
    }

    /** The shapes of {@code csv} (null: the built-in list), those named in {@code only} if it is not empty. */
    static List<BenchShape> load(String csv, Set<String> only) throws UsageException {
        List<String> lines;
        try {
            if (csv != null) {
                lines = Files.readAllLines(Path.of(csv));
            } else {
                try (InputStream in = BenchCommand.class.getResourceAsStream(BUILT_IN_SHAPES)) {
                    if (in == null) throw new IOException("missing from the jar");
                    lines = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().collect(Collectors.toList());
                }
            }
        } catch (IOException | java.nio.file.InvalidPathException e) {
            throw new UsageException("cannot read shapes file " + (csv == null ? BUILT_IN_SHAPES : csv) + ": " + e.getMessage());
        }
        List<BenchShape> out = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String l = lines.get(i).trim();
            if (l.isEmpty() || l.startsWith("#")) continue;
            BenchShape s = new BenchShape(l);
            if (only.isEmpty() || only.contains(s.name)) out.add(s);
        }
        return out;
    }

    private static Set<String> split(String s) {
        Set<String> out = new HashSet<>();
        if (s != null) out.addAll(Arrays.asList(s.split(",")));
        out.remove("");
        return out;
    }
}

package io.conv4j.cli;

import io.conv4j.Conv2d;
import io.conv4j.Conv2dOptions;
import io.conv4j.Conv4j;
import io.conv4j.DataLayout;
import io.conv4j.PreparedFilter;
import io.conv4j.Shape;
import io.conv4j.Tensor;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code bench-layout}: each layer of a shapes file timed channels last (NHWC input and output, HWIO
 * filter) and channels first (NCHW, OIHW) in one process, on the same values, with prepared filters
 * and preallocated outputs as {@code bench} does; prints both medians (the harness's timing policy),
 * their ratio, the routes taken, and how far the channels-first result is from the channels-last one.
 * The two are timed twice, interleaved, and the lower median of each is kept, so a burst of load
 * on a shared machine does not land on one side only.
 */
final class LayoutBenchCommand {
    private LayoutBenchCommand() {}

    static int run(String[] argv, PrintStream out, PrintStream err) throws UsageException {
        Args a = Args.parse(argv, 1, Set.of("threads", "shapes"), Set.of(), true);
        int threads = (int) a.positiveLong("threads", 1);
        String only = a.get("shapes");
        List<BenchCommand.BenchShape> shapes = BenchCommand.load(a.get(""), only == null ? Set.of() : Set.of(only.split(",")));
        Conv4j.setThreads(threads);
        out.println("layer,threads,nhwc_ms,nchw_ms,nchw/nhwc,nhwc_route,nchw_route,max_abs_diff");
        for (BenchCommand.BenchShape s : shapes) {
            float[] x = new float[(int) s.input().numElements()];
            for (long i = 0; i < x.length; i++) x[(int) i] = (float) (((i * 37 + 11) % 101) - 50) / 50.0f;
            float[] w = new float[(int) s.filter().numElements()];
            for (long i = 0; i < w.length; i++) w[(int) i] = (float) (((i * 53 + 7) % 97) - 48) / 480.0f;
            Conv2dOptions last = s.options();
            Conv2dOptions first = last.toBuilder().layout(DataLayout.NCHW).build();
            Shape outShape = Conv2d.outputShape(s.input(), s.filter(), last);
            try (Tensor tx = Tensor.fromArray(x, s.input()); Tensor tw = Tensor.fromArray(w, s.filter());
                 Tensor cx = tx.permute(0, 3, 1, 2).contiguous(); Tensor cw = tw.permute(3, 2, 0, 1).contiguous();
                 PreparedFilter pl = Conv2d.prepare(tw, null, last).prepareFor(s.input());
                 PreparedFilter pf = Conv2d.prepare(cw, null, first).prepareFor(cx.shape());
                 Tensor yl = Tensor.allocate(outShape);
                 Tensor yf = Tensor.allocate(Conv2d.outputShape(cx.shape(), cw.shape(), first))) {
                double tl = Double.MAX_VALUE, tf = Double.MAX_VALUE;
                for (int round = 0; round < 2; round++) {
                    tl = Math.min(tl, Timing.median(() -> Conv2d.conv2d(tx, pl, yl)));
                    tf = Math.min(tf, Timing.median(() -> Conv2d.conv2d(cx, pf, yf)));
                }
                double diff = 0;
                try (Tensor back = yf.permute(0, 2, 3, 1).contiguous()) {
                    float[] p = yl.toArray(), q = back.toArray();
                    for (int i = 0; i < p.length; i++) diff = Math.max(diff, Math.abs(p[i] - q[i]));
                }
                out.printf(Locale.ROOT, "%s,%d,%.4f,%.4f,%.3f,%s,%s,%.3g%n", s.name, threads, tl * 1e3, tf * 1e3, tf / tl,
                        Conv2d.plan(tx, pl).algorithm(), Conv2d.plan(cx, pf).algorithm(), diff);
                out.flush();
            }
        }
        return 0;
    }
}

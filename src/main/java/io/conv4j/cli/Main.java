package io.conv4j.cli;

import java.io.PrintStream;

/**
 * The command line in conv4j's jar: {@code java -jar conv4j-VERSION.jar [command] ...}.
 * Without a command it runs the demo. A usage error or bad input prints one line on stderr and
 * exits with status 2; output files are replaced whole or left untouched.
 */
public final class Main {
    private Main() {}

    static final String USAGE = String.join("\n",
            "usage: java -jar conv4j.jar [command]",
            "  (no command)  demo: the seed example, four nested Java loops vs conv4j",
            "  conv          --input F [--input-shape N,H,W,C] --filter F [--filter-shape KH,KW,CIN,COUT] --output F",
            "                [--bias F] [--strides SH,SW] [--dilations DH,DW] [--padding VALID|SAME|SAME_LOWER|T,B,L,R]",
            "                [--groups G] [--flip] [--activation none|relu|relu6] [--algorithm NAME] [--exact]",
            "                [--dtype float32|float64]; 1-D: shapes N,W,C and K,CIN,COUT, one stride/dilation,",
            "                padding B,E; 3-D: N,D,H,W,C and KD,KH,KW,CIN,COUT, three of each, padding in axis order",
            "  transpose     the conv arguments without --activation, input N,I..,COUT, plus [--output-padding P,..]",
            "                or [--output-shape N,S..,CIN]: the transposed convolution (gradient of the input)",
            "  bench         [SHAPES.csv] --threads T [--shapes a,b] [--dump DIR --check-shapes a,b] [--version]",
            "                [--backward]: dX + dW with the filter prepared once (as forward's) instead of the forward",
            "                rows; stderr: forward, backward with the filter rearranged per call, a Conv2dLayer step",
            "  bench-layout  [SHAPES.csv] --threads T [--shapes a,b]   (NCHW/OIHW against NHWC/HWIO, one process)",
            "  grad          the conv arguments (--output optional) plus --grad-output F --grad-input-out F",
            "                --grad-filter-out F [--grad-bias-out F]: gradients of the convolution given dL/d(output)",
            "  train-demo    [--steps N] [--lr X] [--batch N] [--size N] [--seed S]: learn Sobel filters by SGD",
            "  info          what is loaded: versions, OpenBLAS configuration, threads",
            "  chart         RESULTS.csv [--impls a,b] [--title T]: SVG bar chart of a peer-harness results file, on stdout",
            "  stress        [--threads T] [--seconds S] [--blas-threads B] [--conv-threads C] [--seed X]",
            "files are raw little-endian float32 (float64 with --dtype float64) with no header (the shape options are then",
            "required), or NumPy .npy (C-order '<f4', '<f8' for float64; the header gives the shape; read by their magic,",
            "written when the name ends in .npy)");

    public static void main(String[] argv) {
        int status = run(argv, System.out, System.err);
        System.out.flush();
        System.exit(status);
    }

    /** Runs a command; returns the exit status. */
    public static int run(String[] argv, PrintStream out, PrintStream err) {
        try {
            if (argv.length == 0) return Demo.run(out);
            if (argv.length == 2 && (argv[1].equals("--help") || argv[1].equals("-h"))) {
                out.println(USAGE); // "conv --help" and the like: the usage of every command
                return 0;
            }
            switch (argv[0]) {
                case "conv": return ConvCommand.run(argv, out, err);
                case "bench": return BenchCommand.run(argv, out, err);
                case "bench-layout": return LayoutBenchCommand.run(argv, out, err);
                case "grad": return GradCommand.run(argv, out, err);
                case "transpose": return TransposeCommand.run(argv, out, err);
                case "train-demo": return TrainDemo.run(argv, out);
                case "stress": return StressCommand.run(argv, out, err);
                case "chart": return ChartCommand.run(argv, out);
                case "info":
                    if (argv.length > 1) throw new UsageException("info takes no arguments");
                    out.println(io.conv4j.Conv4j.info());
                    return 0;
                case "help":
                case "--help":
                case "-h":
                    out.println(USAGE);
                    return 0;
                default:
                    throw new UsageException("unknown command \"" + argv[0] + "\" (try help)");
            }
        } catch (UsageException e) {
            return fail(err, e.getMessage());
        } catch (IllegalArgumentException | IndexOutOfBoundsException | IllegalStateException | ArithmeticException e) {
            return fail(err, e.getMessage());
        } catch (OutOfMemoryError e) {
            return fail(err, "not enough memory: " + e.getMessage());
        } catch (RuntimeException | Error e) { // anything else is still one line, never a stack trace
            String m = e.getMessage();
            return fail(err, m == null || m.isBlank() ? e.toString()
                    : m.startsWith("conv4j: ") ? m.substring(8) : e.getClass().getSimpleName() + ": " + m);
        }
    }

    private static int fail(PrintStream err, String message) {
        String m = message == null ? "error" : message.replace('\n', ' ').replace('\r', ' ');
        err.println("conv4j: " + m);
        return 2;
    }
}

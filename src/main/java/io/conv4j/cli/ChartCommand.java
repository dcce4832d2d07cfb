package io.conv4j.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code chart RESULTS.csv [--impls a,b,c] [--title T]}: turns a results file of the peer harness
 * ({@code ../shared/bench}, rows {@code impl,threads,shape,median_ms,gflops[,round,other_cores]})
 * into an SVG bar chart on stdout: one panel per thread count, one group of bars per layer, one bar
 * per implementation, GFLOP/s on a common axis so the panels compare at a glance.
 *
 * <p>Each cell keeps its best round, as the harness summary does. A cell whose every round ran while
 * other processes used a quarter of a core or more is marked with {@code *}, the summary's
 * "disturbed" mark; a skipped cell is labelled {@code skip}. Written as plain SVG text (no library),
 * so the chart can be regenerated wherever the jar runs.
 */
final class ChartCommand {
    private ChartCommand() {}

    /** The harness's own threshold for a disturbed round (see its README). */
    private static final double DISTURBED_CORES = 0.25;

    private static final String[] PALETTE = {
        "#1f6feb", "#d1242f", "#8250df", "#2da44e", "#bf8700", "#57606a", "#e16f24", "#0a7ea4"
    };

    /** One cell of the table: best GFLOP/s over rounds, and whether every round was disturbed. */
    private static final class Cell {
        double gflops = -1;
        boolean skipped;
        boolean quietRound;
    }

    static int run(String[] argv, PrintStream out) throws UsageException {
        Args a = Args.parse(argv, 1, Set.of("impls", "title"), Set.of(), true);
        String file = a.get("");
        if (file == null) throw new UsageException("chart needs a results file (impl,threads,shape,median_ms,gflops,...)");
        List<String> lines;
        try {
            lines = Files.readAllLines(Path.of(file), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UsageException("results file not found: " + file);
        } catch (IOException e) {
            throw new UsageException("cannot read results file " + file + ": " + e.getMessage());
        }
        Table t = Table.parse(lines, file);
        List<String> impls = new ArrayList<>();
        if (a.get("impls") != null) {
            for (String s : a.get("impls").split(",")) {
                if (!t.impls.contains(s.trim())) {
                    throw new UsageException("--impls: no rows for \"" + s.trim() + "\" in " + file + " (it has " + t.impls + ")");
                }
                impls.add(s.trim());
            }
        } else {
            impls.addAll(t.impls);
        }
        String title = a.get("title") != null ? a.get("title") : "GFLOP/s per layer (" + Path.of(file).getFileName() + ")";
        out.print(render(t, impls, title));
        return 0;
    }

    /** The parsed results: cells keyed by impl, threads and shape, in first-seen order. */
    static final class Table {
        final Set<String> impls = new LinkedHashSet<>();
        final Set<Integer> threads = new LinkedHashSet<>();
        final Set<String> shapes = new LinkedHashSet<>();
        final Map<String, Cell> cells = new LinkedHashMap<>();

        static Table parse(List<String> lines, String file) throws UsageException {
            Table t = new Table();
            int lineNo = 0;
            for (String raw : lines) {
                lineNo++;
                String line = raw.strip();
                if (line.isEmpty() || line.startsWith("#") || line.startsWith("impl,")) continue;
                String[] f = line.split(",", -1);
                if (f.length < 5) {
                    throw new UsageException(file + ":" + lineNo + ": expected impl,threads,shape,median_ms,gflops[,round,other_cores]");
                }
                int threads;
                try {
                    threads = Integer.parseInt(f[1].trim());
                } catch (NumberFormatException e) {
                    throw new UsageException(file + ":" + lineNo + ": threads \"" + f[1] + "\" is not a number");
                }
                String impl = f[0].trim(), shape = f[2].trim();
                t.impls.add(impl);
                t.threads.add(threads);
                t.shapes.add(shape);
                Cell c = t.cells.computeIfAbsent(key(impl, threads, shape), k -> new Cell());
                if (f[3].trim().equals("skipped") || f[4].trim().isEmpty()) {
                    c.skipped = true;
                    continue;
                }
                double g;
                try {
                    g = Double.parseDouble(f[4].trim());
                } catch (NumberFormatException e) {
                    throw new UsageException(file + ":" + lineNo + ": gflops \"" + f[4] + "\" is not a number");
                }
                if (!(g >= 0) || Double.isInfinite(g)) throw new UsageException(file + ":" + lineNo + ": gflops " + g + " out of range");
                c.gflops = Math.max(c.gflops, g);
                double other = f.length > 6 && !f[6].isBlank() ? parseOr(f[6], 0) : 0;
                if (other < DISTURBED_CORES) c.quietRound = true;
            }
            if (t.cells.isEmpty()) throw new UsageException(file + ": no result rows");
            return t;
        }

        Cell get(String impl, int threads, String shape) {
            return cells.get(key(impl, threads, shape));
        }

        private static String key(String impl, int threads, String shape) {
            return impl + '\u0000' + threads + '\u0000' + shape;
        }

        private static double parseOr(String s, double fallback) {
            try {
                return Double.parseDouble(s.trim());
            } catch (NumberFormatException e) {
                return fallback;
            }
        }
    }

    /** Layout constants in SVG user units (pixels). */
    private static final int BAR = 7, GROUP_GAP = 8, LABEL_W = 190, PANEL_W = 330, PANEL_GAP = 40, TOP = 60, MARGIN = 12;

    static String render(Table t, List<String> impls, String title) {
        List<Integer> threads = new ArrayList<>(t.threads);
        double max = 0;
        for (Cell c : t.cells.values()) max = Math.max(max, c.gflops);
        double axisMax = niceCeiling(max);
        int groupH = impls.size() * BAR + GROUP_GAP;
        int plotH = t.shapes.size() * groupH;
        int width = MARGIN + LABEL_W + threads.size() * (PANEL_W + PANEL_GAP) + MARGIN;
        int height = TOP + plotH + 30 + 18 * ((impls.size() + 3) / 4) + MARGIN;

        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">%n",
                width, height, width, height));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">%s</text>%n", MARGIN, escape(title)));

        int row = 0;
        for (String shape : t.shapes) {
            int y = TOP + row * groupH + (impls.size() * BAR) / 2 + 4;
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n",
                    MARGIN + LABEL_W - 6, y, escape(shape)));
            row++;
        }
        for (int p = 0; p < threads.size(); p++) {
            int x0 = MARGIN + LABEL_W + p * (PANEL_W + PANEL_GAP);
            int th = threads.get(p);
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%d thread%s</text>%n",
                    x0, TOP - 22, th, th == 1 ? "" : "s"));
            for (int k = 0; k <= 4; k++) { // grid lines and tick labels at quarters of the axis
                double v = axisMax * k / 4;
                double x = x0 + PANEL_W * (double) k / 4;
                s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#d0d7de\"/>%n",
                        x, TOP - 8, x, TOP + plotH));
                s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#57606a\">%s</text>%n",
                        x, TOP + plotH + 14, fmt(v)));
            }
            row = 0;
            for (String shape : t.shapes) {
                for (int i = 0; i < impls.size(); i++) {
                    int y = TOP + row * groupH + i * BAR;
                    Cell c = t.get(impls.get(i), th, shape);
                    if (c == null) continue;
                    if (c.gflops < 0) {
                        if (c.skipped) {
                            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"8\" fill=\"#57606a\">skip</text>%n",
                                    x0 + 2, y + BAR - 1));
                        }
                        continue;
                    }
                    double w = PANEL_W * c.gflops / axisMax;
                    s.append(String.format(Locale.ROOT,
                            "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s, %d thread(s), %s: %s GFLOP/s%s</title></rect>%n",
                            x0, y, w, BAR - 1, color(i), escape(impls.get(i)), th, escape(shape), fmt(c.gflops),
                            c.quietRound ? "" : " (disturbed)"));
                    if (!c.quietRound) {
                        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"9\">*</text>%n", x0 + w + 2, y + BAR));
                    }
                }
                row++;
            }
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"#57606a\">GFLOP/s (longer is faster; * = every round disturbed by other processes)</text>%n",
                MARGIN + LABEL_W, TOP + plotH + 30));
        for (int i = 0; i < impls.size(); i++) {
            int lx = MARGIN + LABEL_W + (i % 4) * 170, ly = TOP + plotH + 44 + 18 * (i / 4);
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"10\" fill=\"%s\"/>%n", lx, ly - 9, color(i)));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", lx + 16, ly, escape(impls.get(i))));
        }
        s.append("</svg>\n");
        return s.toString();
    }

    /** The smallest 1, 2 or 5 times a power of ten at or above {@code v}, so ticks are round numbers. */
    static double niceCeiling(double v) {
        if (!(v > 0)) return 1;
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 4, 5, 10}) {
            if (m * p >= v) return m * p;
        }
        return 10 * p;
    }

    private static String color(int i) {
        return PALETTE[i % PALETTE.length];
    }

    private static String fmt(double v) {
        return v >= 100 || v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}

package io.conv4j.cli;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/** {@code --name value} options and {@code --flag} switches, checked against what a command accepts. */
final class Args {
    private final Map<String, String> values = new LinkedHashMap<>();
    private final Set<String> flags = new HashSet<>();

    /**
     * Parses {@code argv} (after the command name). {@code valued} and {@code switches} list the
     * accepted option names without dashes; a positional argument is stored under "" if {@code positional}.
     */
    static Args parse(String[] argv, int from, Set<String> valued, Set<String> switches, boolean positional)
            throws UsageException {
        Args a = new Args();
        for (int i = from; i < argv.length; i++) {
            String s = argv[i];
            if (s.startsWith("--")) {
                String name = s.substring(2);
                String inline = null;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    inline = name.substring(eq + 1);
                    name = name.substring(0, eq);
                }
                if (switches.contains(name) && inline == null) {
                    if (!a.flags.add(name)) throw new UsageException("option --" + name + " given twice");
                } else if (valued.contains(name)) {
                    String v = inline;
                    if (v == null) {
                        if (i + 1 >= argv.length) throw new UsageException("option --" + name + " needs a value");
                        v = argv[++i];
                    }
                    if (a.values.put(name, v) != null) throw new UsageException("option --" + name + " given twice");
                } else {
                    throw new UsageException("unknown option " + s);
                }
            } else if (positional && !a.values.containsKey("")) {
                a.values.put("", s);
            } else {
                throw new UsageException("unexpected argument \"" + s + "\"");
            }
        }
        return a;
    }

    String get(String name) {
        return values.get(name);
    }

    String require(String name) throws UsageException {
        String v = values.get(name);
        if (v == null) throw new UsageException("missing required option --" + name);
        return v;
    }

    boolean has(String name) {
        return flags.contains(name) || values.containsKey(name);
    }

    /** {@code a,b} as two positive longs. */
    long[] pair(String name, long dflt) throws UsageException {
        String v = values.get(name);
        if (v == null) return new long[] {dflt, dflt};
        String[] p = v.split("\\s*,\\s*");
        if (p.length == 1) p = new String[] {p[0], p[0]};
        if (p.length != 2) throw new UsageException("--" + name + " must be A,B, got \"" + v + "\"");
        try {
            long a = Long.parseLong(p[0].trim()), b = Long.parseLong(p[1].trim());
            if (a < 1 || b < 1) throw new UsageException("--" + name + " values must be >= 1, got \"" + v + "\"");
            return new long[] {a, b};
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be two integers A,B, got \"" + v + "\"");
        }
    }

    long positiveLong(String name, long dflt) throws UsageException {
        String v = values.get(name);
        if (v == null) return dflt;
        try {
            long x = Long.parseLong(v.trim());
            if (x < 1) throw new UsageException("--" + name + " must be >= 1, got " + v);
            return x;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got \"" + v + "\"");
        }
    }

    double positiveDouble(String name, double dflt) throws UsageException {
        String v = values.get(name);
        if (v == null) return dflt;
        try {
            double x = Double.parseDouble(v.trim());
            if (!(x > 0) || Double.isInfinite(x)) throw new UsageException("--" + name + " must be > 0, got " + v);
            return x;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, got \"" + v + "\"");
        }
    }
}

package io.conv4j.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The header of a NumPy {@code .npy} file (NumPy's "format" module, versions 1.0, 2.0 and 3.0):
 * magic {@code \x93NUMPY}, version, header length, then a Python dict literal with
 * {@code descr}, {@code fortran_order} and {@code shape}. Parsed strictly and with checked sizes,
 * so a corrupt or hostile file is an {@link IOException} naming the file, never an overflow or an
 * attempt to allocate what the file does not hold.
 */
public final class NpyHeader {
    /** The dtypes conv4j reads and writes: little-endian float32 and float64. */
    public static final String FLOAT32 = "<f4", FLOAT64 = "<f8";
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Far above any real header (NumPy itself refuses more than 10000 bytes by default). */
    private static final long MAX_HEADER_BYTES = 1 << 20;

    private final String descr;
    private final boolean fortranOrder;
    private final long[] shape;
    private final long dataOffset;

    private NpyHeader(String descr, boolean fortranOrder, long[] shape, long dataOffset) {
        this.descr = descr;
        this.fortranOrder = fortranOrder;
        this.shape = shape;
        this.dataOffset = dataOffset;
    }

    /** The dtype string, e.g. {@code <f4}. */
    public String descr() {
        return descr;
    }

    /** The dimensions (a fresh array). */
    public long[] shape() {
        return shape.clone();
    }

    /** Where the data starts in the file. */
    public long dataOffset() {
        return dataOffset;
    }

    /** True if {@code bytes} start with the .npy magic. */
    public static boolean hasMagic(byte[] bytes, int length) {
        if (length < MAGIC.length) return false;
        for (int i = 0; i < MAGIC.length; i++) if (bytes[i] != MAGIC[i]) return false;
        return true;
    }

    /**
     * Reads the header at the start of {@code ch} (a file of {@code ch.size()} bytes) and leaves
     * the channel at the data. The array must be C-order little-endian float32 (or float64 if
     * {@code float64} allows it), the shape valid, and the file must hold exactly the bytes the
     * header declares.
     */
    public static NpyHeader read(SeekableByteChannel ch, String name, boolean float64) throws IOException {
        long fileSize = ch.size();
        ByteBuffer pre = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
        ch.position(0);
        readFully(ch, pre, 10, name, "the preamble");
        byte[] magic = new byte[MAGIC.length];
        pre.get(0, magic);
        if (!hasMagic(magic, magic.length)) throw new IOException(name + ": not a NumPy .npy file (no \\x93NUMPY magic)");
        int major = pre.get(6) & 0xff, minor = pre.get(7) & 0xff;
        long headerLen;
        int preamble;
        if (major == 1 && minor == 0) {
            headerLen = pre.getShort(8) & 0xffff;
            preamble = 10;
        } else if ((major == 2 || major == 3) && minor == 0) {
            readFully(ch, pre.position(10), 12, name, "the preamble");
            headerLen = pre.getInt(8) & 0xffffffffL;
            preamble = 12;
        } else {
            throw new IOException(name + ": .npy format version " + major + "." + minor + " is not supported (1.0, 2.0, 3.0 are)");
        }
        if (headerLen > MAX_HEADER_BYTES) throw new IOException(name + ": .npy header of " + headerLen + " bytes is implausibly large");
        if (preamble + headerLen > fileSize) {
            throw new IOException(name + ": truncated .npy header: it declares " + headerLen + " bytes but the file has only "
                    + (fileSize - preamble) + " after the preamble");
        }
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        readFully(ch, hb, (int) headerLen, name, "the header");
        String text = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        NpyHeader h = new DictParser(name, text).parse(preamble + headerLen).requireSupported(name, float64);
        long elements = 1;
        for (long d : h.shape) elements = multiply(elements, d, name, h);
        long want = multiply(elements, itemSize(h.descr), name, h);
        long have = fileSize - h.dataOffset;
        if (have != want) {
            throw new IOException(name + ": the header declares shape " + Arrays.toString(h.shape) + " of " + h.descr + " = " + want
                    + " bytes of data but the file holds " + have);
        }
        return h;
    }

    /** Refuses anything but C-order little-endian float32 (and float64), in one line that says what was found. */
    private NpyHeader requireSupported(String name, boolean float64) throws IOException {
        if (!descr.equals(FLOAT32) && !(float64 && descr.equals(FLOAT64))) {
            String what;
            if (descr.equals(FLOAT64)) what = "float64 ('<f8'); the command line reads float32 unless given --dtype float64 (or save arr.astype('<f4'))";
            else if (descr.startsWith(">") && descr.length() > 1 && descr.charAt(1) == 'f') what = "big-endian ('" + descr + "'): save arr.astype('<f4')";
            else if (descr.contains("O")) what = "an object array ('" + descr + "')";
            else what = "dtype '" + descr + "', not float32: save arr.astype('<f4')";
            throw new IOException(name + ": .npy array is " + what);
        }
        if (fortranOrder) throw new IOException(name + ": .npy array is in Fortran order; conv4j reads C order: save np.ascontiguousarray(arr)");
        return this;
    }

    /** The bytes of a version 1.0 (or, for a very long shape, 2.0) C-order header for {@code descr}, padded to 64. */
    public static byte[] encode(long[] shape, String descr) {
        StringBuilder t = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < shape.length; i++) t.append(i == 0 ? "" : ", ").append(shape[i]);
        t.append(shape.length == 1 ? ",), }" : "), }");
        int preamble = t.length() + 1 + 10 <= 0xffff ? 10 : 12;
        while ((preamble + t.length() + 1) % 64 != 0) t.append(' ');
        t.append('\n');
        byte[] dict = t.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(preamble + dict.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) (preamble == 10 ? 1 : 2)).put((byte) 0);
        if (preamble == 10) b.putShort((short) dict.length);
        else b.putInt(dict.length);
        return b.put(dict).array();
    }

    private static long itemSize(String descr) {
        return Long.parseLong(descr.substring(2)); // after requireSupported: "<f4" or "<f8"
    }

    private static long multiply(long a, long b, String name, NpyHeader h) throws IOException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new IOException(name + ": .npy shape " + Arrays.toString(h.shape) + " of " + h.descr + " overflows 2^63 bytes");
        }
    }

    private static void readFully(SeekableByteChannel ch, ByteBuffer b, int limit, String name, String what) throws IOException {
        b.limit(limit);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) throw new EOFException(name + ": truncated .npy file: it ends inside " + what);
        }
    }

    /** The header's dict literal: three known keys with a string, a boolean and a tuple of ints. */
    private static final class DictParser {
        final String name, s;
        int at;

        DictParser(String name, String s) {
            this.name = name;
            this.s = s;
        }

        NpyHeader parse(long dataOffset) throws IOException {
            String descr = null;
            Boolean fortran = null;
            long[] shape = null;
            skipSpace();
            expect('{');
            while (true) {
                skipSpace();
                if (peek() == '}') break;
                String key = string();
                skipSpace();
                expect(':');
                skipSpace();
                switch (key) {
                    case "descr":
                        if (peek() != '\'' && peek() != '"') throw bad("a structured dtype (descr is not a string) is not supported");
                        descr = string();
                        break;
                    case "fortran_order":
                        fortran = bool();
                        break;
                    case "shape":
                        shape = tuple();
                        break;
                    default:
                        throw bad("unexpected key '" + key + "'");
                }
                skipSpace();
                if (peek() == ',') at++;
                else if (peek() != '}') throw bad("expected ',' or '}'");
            }
            at++;
            if (!s.substring(at).isBlank()) throw bad("text after the dict");
            if (descr == null || fortran == null || shape == null) throw bad("descr, fortran_order and shape are required");
            return new NpyHeader(descr, fortran, shape, dataOffset);
        }

        char peek() throws IOException {
            if (at >= s.length()) throw bad("it ends early");
            return s.charAt(at);
        }

        void expect(char c) throws IOException {
            if (peek() != c) throw bad("expected '" + c + "'");
            at++;
        }

        void skipSpace() {
            while (at < s.length() && Character.isWhitespace(s.charAt(at))) at++;
        }

        String string() throws IOException {
            char q = peek();
            if (q != '\'' && q != '"') throw bad("expected a quoted string");
            int end = s.indexOf(q, at + 1);
            if (end < 0) throw bad("unterminated string");
            String v = s.substring(at + 1, end);
            at = end + 1;
            return v;
        }

        boolean bool() throws IOException {
            if (s.startsWith("True", at)) {
                at += 4;
                return true;
            }
            if (s.startsWith("False", at)) {
                at += 5;
                return false;
            }
            throw bad("fortran_order is not True or False");
        }

        long[] tuple() throws IOException {
            expect('(');
            List<Long> dims = new ArrayList<>();
            while (true) {
                skipSpace();
                if (peek() == ')') break;
                int start = at;
                if (peek() == '-') at++;
                while (at < s.length() && Character.isDigit(s.charAt(at))) at++;
                String digits = s.substring(start, at);
                if (at < s.length() && s.charAt(at) == 'L') at++; // Python 2's long literals
                long d;
                try {
                    d = Long.parseLong(digits);
                } catch (NumberFormatException e) {
                    throw bad("shape entry \"" + digits + "\" is not an integer that fits in 64 bits");
                }
                if (d < 0) throw bad("shape has a negative dimension " + d);
                dims.add(d);
                skipSpace();
                if (peek() == ',') at++;
                else if (peek() != ')') throw bad("expected ',' or ')' in the shape");
            }
            at++;
            return dims.stream().mapToLong(Long::longValue).toArray();
        }

        IOException bad(String why) {
            String text = s.strip();
            return new IOException(name + ": bad .npy header (" + why + "): "
                    + (text.length() > 200 ? text.substring(0, 200) + "..." : text));
        }
    }
}

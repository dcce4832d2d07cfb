package io.conv4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Tensor#readNpy} and {@link Tensor#writeNpy} against files written by a real numpy
 * (src/test/resources/npy, made by its make_fixtures.py), and against corrupt and hostile headers.
 */
class NpyTest {
    @TempDir
    Path dir;

    static Path fixture(String name) {
        try {
            return Path.of(NpyTest.class.getResource("/npy/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    static float[] raw(String name) throws IOException {
        byte[] b = Files.readAllBytes(fixture(name));
        float[] f = new float[b.length / 4];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        return f;
    }

    @Test
    void readsWhatNumpyWrote() throws IOException {
        float[] x = raw("x.f32");
        for (String name : new String[] {"x.npy", "x_v2.npy", "x_v3.npy"}) {
            try (Tensor t = Tensor.readNpy(fixture(name))) {
                assertEquals(Shape.of(1, 5, 5, 2), t.shape(), name);
                assertArrayEquals(x, t.toArray(), name);
            }
        }
        try (Tensor b = Tensor.readNpy(fixture("b.npy")); Tensor e = Tensor.readNpy(fixture("empty.npy"))) {
            assertEquals(Shape.of(4), b.shape());
            assertArrayEquals(raw("b.f32"), b.toArray());
            assertEquals(Shape.of(0, 5, 5, 2), e.shape());
        }
    }

    @Test
    void readsAndWritesFloat64() throws IOException {
        float[] x = raw("x.f32");
        Path copy = dir.resolve("x_f8.npy");
        try (Tensor t = Tensor.readNpy(fixture("x_f8.npy"))) {
            assertEquals(DType.FLOAT64, t.dtype());
            assertEquals(Shape.of(1, 5, 5, 2), t.shape());
            double[] d = t.toDoubleArray();
            for (int i = 0; i < x.length; i++) assertEquals((double) x[i], d[i], "element " + i); // x.astype('<f8') is exact
            t.writeNpy(copy);
        }
        assertArrayEquals(Files.readAllBytes(fixture("x_f8.npy")), Files.readAllBytes(copy));
    }

    @Test
    void writesWhatNumpyWrites() throws IOException {
        // numpy's np.save header is what writeNpy writes: the files must be identical byte for byte
        for (String name : new String[] {"x.npy", "w.npy", "b.npy", "dy.npy", "empty.npy"}) {
            Path copy = dir.resolve(name);
            try (Tensor t = Tensor.readNpy(fixture(name))) {
                t.writeNpy(copy);
            }
            assertArrayEquals(Files.readAllBytes(fixture(name)), Files.readAllBytes(copy), name);
        }
        // a strided view is written in row-major order of its own shape
        try (Tensor x = Tensor.readNpy(fixture("x.npy"))) {
            Tensor nchw = x.permute(0, 3, 1, 2);
            nchw.writeNpy(dir.resolve("nchw.npy"));
            try (Tensor back = Tensor.readNpy(dir.resolve("nchw.npy"))) {
                assertEquals(Shape.of(1, 2, 5, 5), back.shape());
                assertArrayEquals(nchw.toArray(), back.toArray());
            }
        }
    }

    void refused(Path file, String... mentions) {
        IOException e = assertThrows(IOException.class, () -> Tensor.readNpy(file).close(), file.toString());
        for (String m : mentions) assertTrue(e.getMessage().contains(m), "message names " + m + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), "message names the file: " + e.getMessage());
    }

    @Test
    void refusesWhatItCannotRead() {
        refused(fixture("fortran.npy"), "Fortran order");
        refused(fixture("bigendian.npy"), "big-endian", ">f4");
        refused(fixture("int32.npy"), "<i4");
        refused(fixture("object.npy"), "object");
        refused(fixture("x.f32"), "not a NumPy");
    }

    /** A .npy file with the given version, header text (padded like numpy's) and data bytes. */
    Path npy(String name, int major, String header, int dataBytes) throws IOException {
        int pre = major == 1 ? 10 : 12;
        StringBuilder h = new StringBuilder(header);
        while ((pre + h.length() + 1) % 64 != 0) h.append(' ');
        h.append('\n');
        byte[] text = h.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(pre + text.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) b.putShort((short) text.length);
        else b.putInt(text.length);
        b.put(text);
        return Files.write(dir.resolve(name), b.array());
    }

    static String dict(String shape) {
        return "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
    }

    @Test
    void refusesCorruptAndHostileHeaders() throws IOException {
        refused(npy("ok-but-short.npy", 1, dict("(2, 3)"), 20), "declares", "24 bytes", "holds 20");
        refused(npy("too-long.npy", 1, dict("(2, 3)"), 28), "holds 28");
        refused(npy("huge.npy", 1, dict("(100000, 100000, 100000)"), 8), "declares");
        refused(npy("overflow.npy", 1, dict("(4611686018427387904, 4)"), 8), "overflows");
        refused(npy("overflow2.npy", 2, dict("(3037000500, 3037000500, 3037000500)"), 8), "overflows");
        refused(npy("negative.npy", 1, dict("(-1, 3)"), 0), "negative");
        refused(npy("not-int.npy", 1, dict("(99999999999999999999,)"), 0), "64 bits");
        refused(npy("junk.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 24), "unexpected key");
        refused(npy("no-shape.npy", 1, "{'descr': '<f4', 'fortran_order': False}", 24), "required");
        refused(npy("structured.npy", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8), "structured");
        refused(npy("unterminated.npy", 1, "{'descr': '<f4", 0), "bad .npy header");
        refused(npy("v4.npy", 4, dict("(2, 3)"), 24), "version 4.0");
        Path full = npy("full.npy", 1, dict("(2, 3)"), 24);
        byte[] all = Files.readAllBytes(full);
        for (int cut : new int[] {0, 3, 9, 40}) {
            refused(Files.write(dir.resolve("cut" + cut + ".npy"), java.util.Arrays.copyOf(all, cut)), "truncated");
        }
        // a version 2.0 header length of 4 GiB - 1 in a small file
        ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0}).putInt(-1);
        refused(Files.write(dir.resolve("big-header.npy"), b.array()), "header");
    }
}

package io.conv4j.spark;

import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Random;
import javax.imageio.ImageIO;

/** Tiny PNG fixtures written with javax.imageio, and their pixels decoded independently of Spark. */
final class Pngs {
    private Pngs() {}

    /** Writes a random {@code width x height} PNG of {@code type} (e.g. TYPE_INT_RGB) to {@code dir/name}. */
    static Path write(Path dir, String name, int width, int height, int type, long seed) {
        Random rnd = new Random(seed);
        BufferedImage img = new BufferedImage(width, height, type);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) img.setRGB(x, y, rnd.nextInt());
        }
        Path file = dir.resolve(name);
        try {
            if (!ImageIO.write(img, "png", file.toFile())) throw new IOException("no PNG writer");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    /** A colour PNG's pixels as {@code [H, W, 3]} floats 0..255 in the given channel order ("BGR" or "RGB"). */
    static float[] colour(File file, String order) {
        BufferedImage img;
        try {
            img = ImageIO.read(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        int h = img.getHeight(), w = img.getWidth();
        float[] v = new float[h * w * 3];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int argb = img.getRGB(x, y), p = (y * w + x) * 3;
                float r = (argb >> 16) & 0xFF, g = (argb >> 8) & 0xFF, b = argb & 0xFF;
                v[p] = order.equals("BGR") ? b : r;
                v[p + 1] = g;
                v[p + 2] = order.equals("BGR") ? r : b;
            }
        }
        return v;
    }
}

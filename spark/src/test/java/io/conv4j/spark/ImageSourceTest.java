package io.conv4j.spark;

import java.awt.image.BufferedImage;
import java.io.File;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.conv4j.spark.SingleMachine.assertBitsEqual;
import static io.conv4j.spark.SingleMachine.floats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PNG files read by Spark's own image source, convolved on the executors. */
class ImageSourceTest {
    private static final ConvLayerSpec LAYER = SingleMachine.layer(new Random(11), 3, 3, 4).withPadding("SAME");

    private static Dataset<Row> images(Path dir) {
        return SharedSpark.get().read().format("image").option("dropInvalid", false).load(dir.toString()).repartition(2);
    }

    private static void assertColourRowsMatch(List<Row> out, String order) {
        for (Row r : out) {
            Row img = r.getStruct(0);
            File file = new File(URI.create(img.getString(0)));
            float[] expected = SingleMachine.convolve(Pngs.colour(file, order), img.getInt(1), img.getInt(2), 3, LAYER);
            assertBitsEqual(expected, floats(r.getList(1)), file.getName());
            assertEquals(List.of(img.getInt(1), img.getInt(2), 4), r.getList(2));
        }
    }

    @Test
    void colourPngsEqualTheSingleMachineApiInBgrOrder(@TempDir Path dir) {
        for (int i = 0; i < 5; i++) Pngs.write(dir, "c" + i + ".png", 6 + i, 9 - i, BufferedImage.TYPE_INT_RGB, i);
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("image").setLayers(LAYER);
        List<Row> out = t.transform(images(dir)).collectAsList();
        assertEquals(5, out.size());
        assertColourRowsMatch(out, "BGR");
    }

    @Test
    void rgbChannelOrderReversesTheColourChannels(@TempDir Path dir) {
        for (int i = 0; i < 3; i++) Pngs.write(dir, "c" + i + ".png", 5, 4, BufferedImage.TYPE_INT_RGB, 20 + i);
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("image").setLayers(LAYER).setChannelOrder("RGB");
        assertColourRowsMatch(t.transform(images(dir)).collectAsList(), "RGB");
        // and a 1x1 filter that picks channel 0 gives the red values exactly
        Conv2dTransformer red = new Conv2dTransformer().setInputCol("image").setChannelOrder("rgb")
                .setLayers(ConvLayerSpec.of(new float[] {1, 0, 0}, 1, 1, 3, 1));
        for (Row r : red.transform(images(dir)).collectAsList()) {
            float[] rgb = Pngs.colour(new File(URI.create(r.getStruct(0).getString(0))), "RGB");
            float[] y = floats(r.getList(1));
            for (int p = 0; p < y.length; p++) assertEquals(rgb[p * 3], y[p], "pixel " + p);
        }
    }

    @Test
    void greyAlphaAndUnreadableFilesAreBadRowsForAColourFilter(@TempDir Path dir) throws Exception {
        Pngs.write(dir, "colour.png", 6, 6, BufferedImage.TYPE_INT_RGB, 1);
        Pngs.write(dir, "grey.png", 6, 6, BufferedImage.TYPE_BYTE_GRAY, 2);
        Pngs.write(dir, "alpha.png", 6, 6, BufferedImage.TYPE_INT_ARGB, 3);
        Files.write(dir.resolve("broken.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 1, 2});
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("image").setLayers(LAYER).setOnBadRow("null");
        List<Row> out = t.transform(images(dir)).collectAsList();
        assertEquals(4, out.size());
        for (Row r : out) {
            String name = new File(URI.create(r.getStruct(0).getString(0))).getName();
            assertEquals(name.equals("colour.png"), !r.isNullAt(1), name);
        }
        assertColourRowsMatch(out.stream().filter(r -> !r.isNullAt(1)).toList(), "BGR");

        Conv2dTransformer strict = t.copy(new org.apache.spark.ml.param.ParamMap()).setOnBadRow("error");
        for (String bad : new String[] {"grey.png", "alpha.png", "broken.png"}) {
            Dataset<Row> one = SharedSpark.get().read().format("image").option("dropInvalid", false)
                    .load(dir.resolve(bad).toString());
            SparkException e = assertThrows(SparkException.class, () -> strict.transform(one).collectAsList());
            BadRowException cause = BadRowTest.causeOf(e);
            assertTrue(cause.getMessage().contains(bad), cause.getMessage());
            assertTrue(cause.getMessage().contains(bad.equals("broken.png") ? "not a decoded image"
                    : "channels but the first layer's filter takes 3"), cause.getMessage());
        }
        BadRowTest.assertSessionStillWorks();
    }
}

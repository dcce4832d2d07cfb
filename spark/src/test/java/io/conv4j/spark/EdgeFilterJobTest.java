package io.conv4j.spark;

import java.awt.image.BufferedImage;
import java.io.File;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.conv4j.spark.SingleMachine.assertBitsEqual;
import static io.conv4j.spark.SingleMachine.floats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The example job: a folder of PNGs in, Parquet edge maps out, each equal to conv4j on one machine. */
class EdgeFilterJobTest {
    @Test
    void writesEdgeMapsOfEveryColourImageAndNullsForTheRest(@TempDir Path dir) {
        Path images = dir.resolve("images");
        images.toFile().mkdirs();
        for (int i = 0; i < 4; i++) Pngs.write(images, "c" + i + ".png", 8 + i, 6 + 2 * i, BufferedImage.TYPE_INT_RGB, 40 + i);
        Pngs.write(images, "grey.png", 8, 8, BufferedImage.TYPE_BYTE_GRAY, 50);
        String out = dir.resolve("edges.parquet").toString();

        long[] counts = EdgeFilterJob.run(SharedSpark.get(), images.toString(), out, 1);
        assertArrayEquals(new long[] {5, 1}, counts);

        List<Row> rows = SharedSpark.get().read().parquet(out).collectAsList();
        assertEquals(5, rows.size());
        for (Row r : rows) {
            File file = new File(URI.create(r.getString(r.fieldIndex("origin"))));
            if (file.getName().equals("grey.png")) {
                assertEquals(true, r.isNullAt(r.fieldIndex("edges")));
                continue;
            }
            int h = r.getInt(r.fieldIndex("height")), w = r.getInt(r.fieldIndex("width"));
            float[] expected = SingleMachine.convolve(Pngs.colour(file, "BGR"), h, w, 3, EdgeFilterJob.GREY, EdgeFilterJob.EDGES);
            assertBitsEqual(expected, floats(r.getList(r.fieldIndex("edges"))), file.getName());
            assertEquals(List.of(h, w, 3), r.getList(r.fieldIndex("edges_shape")));
        }
    }

    @Test
    void theFilterBankIsSobelXSobelYAndLaplacian() {
        // a vertical step from 0 to 1 between columns 1 and 2 of a 4x4 grey image: Sobel x sees 4 at both
        // columns next to it (1 + 2 + 1) in the interior rows, Sobel y sees nothing, the Laplacian +1 / -1
        float[] step = new float[16];
        for (int y = 0; y < 4; y++) for (int x = 2; x < 4; x++) step[y * 4 + x] = 1;
        float[] e = SingleMachine.convolve(step, 4, 4, 1, EdgeFilterJob.EDGES);
        int p = (1 * 4 + 1) * 3; // row 1, column 1
        assertArrayEquals(new float[] {4, 0, 1}, new float[] {e[p], e[p + 1], e[p + 2]});
        p = (1 * 4 + 2) * 3;
        assertArrayEquals(new float[] {4, 0, -1}, new float[] {e[p], e[p + 1], e[p + 2]});
    }
}

package io.conv4j.spark;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.SparkException;
import org.apache.spark.ml.image.ImageSchema;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import static io.conv4j.spark.ArrayInputTest.SCHEMA;
import static io.conv4j.spark.ArrayInputTest.boxed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A corrupt or wrongly shaped row fails the job with an error naming the row, or gives nulls when asked
 * to, and the executor lives on: the session runs the next job.
 */
class BadRowTest {
    private static final ConvLayerSpec LAYER = SingleMachine.layer(new Random(7), 3, 3, 2);

    /** Rows 0..5 of good 6x6x3 images with bad ones put in at given ids. */
    private static List<Row> rowsWith(int badId, Row bad) {
        Random rnd = new Random(8);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            rows.add(i == badId ? bad : RowFactory.create(i, boxed(SingleMachine.random(rnd, 108)), new int[] {6, 6, 3}));
        }
        return rows;
    }

    private static Conv2dTransformer transformer() {
        return new Conv2dTransformer().setInputCol("x").setShapeCol("shape").setOutputCol("y").setRowKeyCol("id")
                .setLayers(LAYER);
    }

    /** Runs the job on one partition (so the row's position is its id) and returns the bad row's error. */
    private static BadRowException failure(Row bad) {
        Dataset<Row> in = SharedSpark.get().createDataFrame(rowsWith(3, bad), SCHEMA).coalesce(1);
        SparkException e = assertThrows(SparkException.class, () -> transformer().transform(in).collectAsList());
        BadRowException cause = causeOf(e);
        assertTrue(e.getMessage().contains("bad row 3 of partition 0 (id 3)"), e.getMessage());
        assertEquals(3, cause.row());
        assertEquals(0, cause.partition());
        assertEquals("id 3", cause.key());
        assertSessionStillWorks();
        return cause;
    }

    static BadRowException causeOf(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof BadRowException) return (BadRowException) t;
        }
        throw new AssertionError("no BadRowException in the causes of " + e, e);
    }

    static void assertSessionStillWorks() {
        assertEquals(1000, SharedSpark.get().range(0, 1000, 1, 2).count());
    }

    private static void assertMessage(BadRowException e, String expected) {
        assertTrue(e.getMessage().contains(expected), "message \"" + e.getMessage() + "\" should contain \"" + expected + "\"");
    }

    @Test
    void wrongLengthNamesTheRow() {
        assertMessage(failure(RowFactory.create(3, boxed(new float[107]), new int[] {6, 6, 3})),
                "x has 107 values but shape [6, 6, 3] needs 108");
    }

    @Test
    void hugeShapeIsRefusedBeforeAnyAllocation() {
        assertMessage(failure(RowFactory.create(3, boxed(new float[3]), new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE, 3})),
                "shape [2147483647, 2147483647, 3] overflows");
        assertMessage(failure(RowFactory.create(3, boxed(new float[3]), new int[] {65536, 65536, 3})),
                "x has 3 values but shape [65536, 65536, 3] needs 12884901888");
        assertMessage(failure(RowFactory.create(3, boxed(new float[3]), new int[] {1, -1, 3})), "shape must be positive");
        assertMessage(failure(RowFactory.create(3, boxed(new float[3]), new int[] {1, 3})), "shape must be [H, W, C]");
    }

    @Test
    void nullValuesNameTheRow() {
        Float[] withNull = boxed(new float[108]);
        withNull[5] = null;
        assertMessage(failure(RowFactory.create(3, withNull, new int[] {6, 6, 3})), "x element 5 is null");
        assertMessage(failure(RowFactory.create(3, null, new int[] {6, 6, 3})), "x is null");
        assertMessage(failure(RowFactory.create(3, boxed(new float[108]), null)), "shape is null");
    }

    @Test
    void wrongChannelsOrTooSmallForTheKernelNameTheRow() {
        assertMessage(failure(RowFactory.create(3, boxed(new float[72]), new int[] {6, 6, 2})),
                "input has 2 channels but the first layer's filter takes 3");
        BadRowException small = failure(RowFactory.create(3, boxed(new float[12]), new int[] {2, 2, 3}));
        assertTrue(small.getCause() instanceof IllegalArgumentException, "conv4j's own refusal is kept as the cause");
    }

    @Test
    void nullPolicyGivesNullsForBadRowsAndResultsForTheOthers() {
        List<Row> rows = rowsWith(2, RowFactory.create(2, boxed(new float[5]), new int[] {6, 6, 3}));
        rows.set(4, RowFactory.create(4, boxed(new float[12]), new int[] {2, 2, 3}));
        Dataset<Row> in = SharedSpark.get().createDataFrame(rows, SCHEMA).repartition(2);
        List<Row> out = transformer().setOnBadRow("null").transform(in).orderBy("id").collectAsList();
        assertEquals(6, out.size());
        for (Row r : out) {
            int id = r.getInt(0);
            if (id == 2 || id == 4) {
                assertNull(r.get(3), "row " + id);
                assertNull(r.get(4), "row " + id);
            } else {
                assertNotNull(r.get(3), "row " + id);
                SingleMachine.assertBitsEqual(SingleMachine.convolve(SingleMachine.floats(r.getList(1)), 6, 6, 3, LAYER),
                        SingleMachine.floats(r.getList(3)), "row " + id);
            }
        }
    }

    @Test
    void corruptImageStructsNameTheOrigin() {
        StructType schema = ImageSchema.imageSchema();
        byte[] good = new byte[5 * 5 * 3];
        List<Row> rows = List.of(
                RowFactory.create(RowFactory.create("file:/img/good.png", 5, 5, 3, 16, good)),
                RowFactory.create(RowFactory.create("file:/img/undecoded.png", -1, -1, -1, -1, new byte[0])),
                RowFactory.create(RowFactory.create("file:/img/truncated.png", 5, 5, 3, 16, new byte[70])),
                RowFactory.create(RowFactory.create("file:/img/sixteen-bit.png", 5, 5, 3, 18, good)),
                RowFactory.create((Object) null));
        String[] expected = {null, "not a decoded image", "image data has 70 bytes but height 5 x width 5 x nChannels 3 is 75",
                "unsupported image type: mode 18", "image is null"};
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("image").setLayers(LAYER);
        for (int i = 1; i < rows.size(); i++) {
            Dataset<Row> in = SharedSpark.get().createDataFrame(List.of(rows.get(0), rows.get(i)), schema).coalesce(1);
            SparkException e = assertThrows(SparkException.class, () -> t.transform(in).collectAsList());
            BadRowException cause = causeOf(e);
            assertMessage(cause, expected[i]);
            assertEquals(1, cause.row());
            if (i < 4) assertMessage(cause, "(origin " + ImageSchema.getOrigin(rows.get(i).getStruct(0)) + ")");
        }
        List<Row> out = t.copy(new org.apache.spark.ml.param.ParamMap()).setOnBadRow("null")
                .transform(SharedSpark.get().createDataFrame(rows, schema)).collectAsList();
        assertEquals(1, out.stream().filter(r -> !r.isNullAt(1)).count());
        assertSessionStillWorks();
    }
}

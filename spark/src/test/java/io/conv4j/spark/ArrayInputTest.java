package io.conv4j.spark;

import io.conv4j.Conv4j;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.Test;

import static io.conv4j.spark.SingleMachine.assertBitsEqual;
import static io.conv4j.spark.SingleMachine.floats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** float-array rows with a shape column or a fixed shape, in a real local[2] session. */
class ArrayInputTest {
    static final StructType SCHEMA = new StructType()
            .add("id", DataTypes.IntegerType)
            .add("x", DataTypes.createArrayType(DataTypes.FloatType))
            .add("shape", DataTypes.createArrayType(DataTypes.IntegerType));

    /** Rows of random images [h, w, c] with h, w in [minSide, minSide + 12). */
    static List<Row> randomRows(Random rnd, int n, int c, int minSide) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int h = minSide + rnd.nextInt(12), w = minSide + rnd.nextInt(12);
            rows.add(RowFactory.create(i, boxed(SingleMachine.random(rnd, h * w * c)), new int[] {h, w, c}));
        }
        return rows;
    }

    static Float[] boxed(float[] v) {
        Float[] b = new Float[v.length];
        for (int i = 0; i < v.length; i++) b[i] = v[i];
        return b;
    }

    static Dataset<Row> frame(List<Row> rows, int partitions) {
        return SharedSpark.get().createDataFrame(rows, SCHEMA).repartition(partitions);
    }

    /** Every output row equals conv4j on one machine, bit for bit, whatever partition it ran in. */
    static void assertMatchesSingleMachine(List<Row> out, ConvLayerSpec... layers) {
        assertMatchesSingleMachineIn(out, "y", layers);
    }

    static void assertMatchesSingleMachineIn(List<Row> out, String column, ConvLayerSpec... layers) {
        for (Row r : out) {
            List<Integer> s = r.getList(2);
            float[] x = floats(r.getList(1));
            float[] expected = SingleMachine.convolve(x, s.get(0), s.get(1), s.get(2), layers);
            assertBitsEqual(expected, floats(r.getList(r.fieldIndex(column))), "row id " + r.getInt(0));
        }
    }

    @Test
    void stackOfLayersEqualsTheSingleMachineApiBitForBit() {
        Random rnd = new Random(1);
        ConvLayerSpec first = SingleMachine.layer(rnd, 3, 3, 8).withPadding("SAME").withActivation("relu");
        ConvLayerSpec second = SingleMachine.layer(rnd, 5, 8, 4).withStrides(2, 2);
        ConvLayerSpec third = SingleMachine.layer(rnd, 1, 4, 2).withActivation("relu6");
        List<Row> rows = randomRows(rnd, 24, 3, 9);
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("x").setShapeCol("shape").setOutputCol("y")
                .setLayers(first, second, third);
        List<Row> out = t.transform(frame(rows, 4)).collectAsList();
        assertEquals(rows.size(), out.size());
        assertMatchesSingleMachine(out, first, second, third);
        for (Row r : out) { // the shape column says what the values are
            List<Integer> in = r.getList(2), shape = r.getList(r.fieldIndex("y_shape"));
            int h1 = in.get(0), w1 = in.get(1); // SAME, stride 1
            assertEquals(List.of((h1 - 5) / 2 + 1, (w1 - 5) / 2 + 1, 2), shape);
            assertEquals(shape.get(0) * shape.get(1) * shape.get(2), r.getList(r.fieldIndex("y")).size());
        }
    }

    @Test
    void oneLayerAgreesWithAPlainJavaReference() {
        Random rnd = new Random(2);
        ConvLayerSpec layer = SingleMachine.layer(rnd, 3, 2, 5).withStrides(1, 2).withDilations(2, 1).withPadding("SAME")
                .withActivation("relu");
        List<Row> rows = randomRows(rnd, 8, 2, 6);
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("x").setShapeCol("shape").setOutputCol("y")
                .setLayers(layer);
        for (Row r : t.transform(frame(rows, 2)).collectAsList()) {
            List<Integer> s = r.getList(2);
            NaiveConv.Result ref = NaiveConv.convolve(floats(r.getList(1)), s.get(0), s.get(1), s.get(2), layer);
            float[] y = floats(r.getList(r.fieldIndex("y")));
            assertEquals(Arrays.stream(ref.shape).boxed().toList(), r.getList(r.fieldIndex("y_shape")));
            for (int i = 0; i < y.length; i++) {
                double bound = 1e-5 * ref.magnitude[i] + 1e-6;
                assertTrue(Math.abs(y[i] - ref.values[i]) <= bound, "row " + r.getInt(0) + " element " + i + ": " + y[i]
                        + " vs reference " + ref.values[i]);
            }
        }
    }

    @Test
    void fixedInputShapeNeedsNoShapeColumn() {
        Random rnd = new Random(3);
        ConvLayerSpec layer = SingleMachine.layer(rnd, 3, 1, 2);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < 6; i++) rows.add(RowFactory.create(i, boxed(SingleMachine.random(rnd, 7 * 5)), new int[] {7, 5, 1}));
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("x").setInputShape(7, 5, 1).setOutputCol("y")
                .setLayers(layer);
        List<Row> out = t.transform(frame(rows, 3)).collectAsList();
        assertMatchesSingleMachine(out, layer);
        for (Row r : out) assertEquals(List.of(5, 3, 2), r.getList(r.fieldIndex("y_shape")));
    }

    @Test
    void filtersArePreparedOncePerExecutorJvmAndReusedAcrossPartitionsAndJobs() {
        Random rnd = new Random(4);
        ConvLayerSpec layer = SingleMachine.layer(rnd, 3, 3, 4); // a filter no other test uses
        Dataset<Row> in = frame(randomRows(rnd, 16, 3, 5), 4);
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("x").setShapeCol("shape").setOutputCol("y")
                .setLayers(layer);
        long before = PreparedStacks.preparedCount();
        t.transform(in).collectAsList();
        t.copy(new org.apache.spark.ml.param.ParamMap()).transform(in).collectAsList(); // same layers: same prepared filter
        assertEquals(1, PreparedStacks.preparedCount() - before, "local mode has one executor JVM: one preparation");
    }

    @Test
    void threadsPerExecutorSetsConv4jThreadsAndLeavesResultsUnchanged() {
        Random rnd = new Random(5);
        ConvLayerSpec layer = SingleMachine.layer(rnd, 3, 3, 16).withPadding("SAME");
        Dataset<Row> in = frame(randomRows(rnd, 6, 3, 20), 2);
        int original = Conv4j.threads();
        try {
            Conv2dTransformer t = new Conv2dTransformer().setInputCol("x").setShapeCol("shape").setOutputCol("y")
                    .setLayers(layer).setThreadsPerExecutor(1);
            List<Row> one = t.transform(in).orderBy("id").collectAsList();
            assertEquals(1, Conv4j.threads());
            List<Row> two = t.setThreadsPerExecutor(2).transform(in).orderBy("id").collectAsList();
            assertEquals(2, Conv4j.threads());
            for (int i = 0; i < one.size(); i++) {
                assertBitsEqual(floats(one.get(i).getList(3)), floats(two.get(i).getList(3)), "row " + i);
            }
            assertMatchesSingleMachine(two, layer);
        } finally {
            Conv4j.setThreads(original);
        }
    }

    @Test
    void aBadConfigurationIsRefusedOnTheDriverNamingTheParam() {
        SparkSession spark = SharedSpark.get();
        Dataset<Row> in = spark.createDataFrame(List.of(), SCHEMA);
        ConvLayerSpec layer = ConvLayerSpec.of(new float[9], 3, 3, 1, 1);
        Conv2dTransformer base = new Conv2dTransformer().setInputCol("x").setShapeCol("shape").setLayers(layer);
        assertMessage(() -> new Conv2dTransformer().setInputCol("x").setShapeCol("shape").transform(in), "param filter");
        assertMessage(() -> base.copy(new org.apache.spark.ml.param.ParamMap()).setInputCol("nope").transform(in),
                "no column \"nope\"");
        assertMessage(() -> base.copy(new org.apache.spark.ml.param.ParamMap()).setInputCol("id").transform(in),
                "must be an image struct");
        assertMessage(() -> base.copy(new org.apache.spark.ml.param.ParamMap()).setInputShape(3, 3, 1).transform(in),
                "exactly one of shapeCol");
        assertMessage(() -> new Conv2dTransformer().setInputCol("x").setInputShape(4, 4, 2).setLayers(layer).transform(in),
                "has 2 channels but the first layer's filter takes 1");
        assertMessage(() -> base.copy(new org.apache.spark.ml.param.ParamMap()).setOnBadRow("skip").transform(in),
                "onBadRow must be error or null");
        assertMessage(() -> base.copy(new org.apache.spark.ml.param.ParamMap()).setOutputCol("id").transform(in),
                "\"id\" already exists");
        assertMessage(() -> base.copy(new org.apache.spark.ml.param.ParamMap())
                .setExtraLayers(ConvLayerSpec.of(new float[18], 3, 3, 2, 1)).transform(in),
                "layer 1 takes 2 input channels but layer 0 makes 1");
        assertMessage(() -> ConvLayerSpec.of(new float[8], 3, 3, 1, 1), "filter has 8 values");
        assertMessage(() -> layer.withPadding("HALF"), "padding must be VALID, SAME");
        assertMessage(() -> layer.withStrides(0, 1), "stride");
        assertMessage(() -> layer.withActivation("tanh"), "activation must be");
    }

    static void assertMessage(Runnable r, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(expected), "message \"" + e.getMessage() + "\" should contain \"" + expected + "\"");
    }

    @Test
    void outputSchemaIsInputPlusFloatArrayAndShape() {
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("x").setShapeCol("shape").setOutputCol("y")
                .setLayers(ConvLayerSpec.of(new float[9], 3, 3, 1, 1));
        StructType out = t.transformSchema(SCHEMA);
        assertArrayEquals(new String[] {"id", "x", "shape", "y", "y_shape"}, out.fieldNames());
        assertEquals(DataTypes.createArrayType(DataTypes.FloatType, false), out.apply("y").dataType());
        assertEquals(DataTypes.createArrayType(DataTypes.IntegerType, false), out.apply("y_shape").dataType());
    }
}

package io.conv4j.spark;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.apache.spark.ml.Pipeline;
import org.apache.spark.ml.PipelineModel;
import org.apache.spark.ml.PipelineStage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static io.conv4j.spark.SingleMachine.assertBitsEqual;
import static io.conv4j.spark.SingleMachine.floats;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A pipeline with the transformer is saved and loaded with every param, filters bit for bit. */
class PersistenceTest {
    @Test
    void savedAndLoadedPipelineGivesTheSameOutput(@TempDir Path dir) throws Exception {
        Random rnd = new Random(31);
        float[] awkward = SingleMachine.random(rnd, 3 * 3 * 4 * 2);
        awkward[0] = Float.MIN_VALUE; // values whose text form must come back exactly
        awkward[1] = -0.0f;
        awkward[2] = 0.1f;
        awkward[3] = Float.MAX_VALUE / 1e30f;
        awkward[4] = 1.17549435E-38f;
        ConvLayerSpec first = SingleMachine.layer(rnd, 3, 3, 4).withPadding("1,0,2,1").withActivation("relu");
        ConvLayerSpec second = ConvLayerSpec.of(awkward, 3, 3, 4, 2).withDilations(1, 2).withFlipKernel(true)
                .withAlgorithm("gemm_tiled", false);
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("x").setShapeCol("shape").setOutputCol("y")
                .setOutputShapeCol("y_dims").setLayers(first, second).setThreadsPerExecutor(2).setOnBadRow("null")
                .setRowKeyCol("id");
        Dataset<Row> in = ArrayInputTest.frame(ArrayInputTest.randomRows(rnd, 8, 3, 8), 2);
        PipelineModel model = new Pipeline().setStages(new PipelineStage[] {t}).fit(in);
        String path = dir.resolve("pipeline").toString();
        model.write().overwrite().save(path);
        PipelineModel loaded = PipelineModel.load(path);

        Conv2dTransformer back = (Conv2dTransformer) loaded.stages()[0];
        assertEquals(t.uid(), back.uid());
        assertArrayEquals(t.getLayers(), back.getLayers(), "layers equal bit for bit");
        assertEquals("y_dims", back.getOutputShapeCol());
        assertEquals(2, back.getThreadsPerExecutor());
        assertEquals("null", back.getOnBadRow());

        List<Row> before = model.transform(in).orderBy("id").collectAsList();
        List<Row> after = loaded.transform(in).orderBy("id").collectAsList();
        for (int i = 0; i < before.size(); i++) {
            assertBitsEqual(floats(before.get(i).getList(3)), floats(after.get(i).getList(3)), "row " + i);
            assertEquals(before.get(i).getList(4), after.get(i).getList(4));
        }
        ArrayInputTest.assertMatchesSingleMachineIn(after, "y", first, second);
    }

    @Test
    void transformerSavesAndLoadsOnItsOwnIncludingNonFiniteFilterValues(@TempDir Path dir) throws Exception {
        float[] w = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 1};
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("image").setChannelOrder("RGB")
                .setLayers(ConvLayerSpec.of(new float[] {1, 2, 3}, 1, 1, 3, 1), ConvLayerSpec.of(w, 2, 2, 1, 1).withBias(new float[] {-0.0f}));
        String path = dir.resolve("t").toString();
        t.write().save(path);
        Conv2dTransformer back = Conv2dTransformer.load(path);
        assertArrayEquals(t.getLayers(), back.getLayers());
        assertEquals("RGB", back.getOrDefault(back.channelOrder()));
        assertTrue(back.explainParams().contains("extraLayers"));
    }
}

package io.conv4j.spark;

import java.util.Arrays;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import static org.apache.spark.sql.functions.col;

/**
 * Example job: reads a folder of images (PNG, JPEG...) with Spark's {@code image} source, converts each to
 * grey and runs a bank of edge filters over it (Sobel x, Sobel y, Laplacian; 3x3, SAME padding), and writes
 * Parquet with the origin, the image size and the {@code [H, W, 3]} edge maps.
 *
 * <pre>
 * spark-submit --class io.conv4j.spark.EdgeFilterJob conv4j-spark-0.1.0.jar IMAGES OUTPUT [--threads N]
 * </pre>
 *
 * Without a master (run with plain {@code java}), it runs in local mode on all cores. Images that are not
 * 3-channel colour or cannot be decoded get null edge maps (the transformer's {@code onBadRow=null}) and
 * are counted on stdout.
 */
public final class EdgeFilterJob {
    private EdgeFilterJob() {}

    /** The colour-to-grey layer: ITU-R BT.601 weights in Spark's BGR channel order, {@code [1, 1, 3, 1]}. */
    static final ConvLayerSpec GREY = ConvLayerSpec.of(new float[] {0.114f, 0.587f, 0.299f}, 1, 1, 3, 1);

    /** Sobel x, Sobel y and the 4-neighbour Laplacian as one {@code [3, 3, 1, 3]} filter bank, SAME padding. */
    static final ConvLayerSpec EDGES = ConvLayerSpec.of(bank(
            new float[] {-1, 0, 1, -2, 0, 2, -1, 0, 1},
            new float[] {-1, -2, -1, 0, 0, 0, 1, 2, 1},
            new float[] {0, 1, 0, 1, -4, 1, 0, 1, 0}), 3, 3, 1, 3).withPadding("SAME");

    /** The transformer the job runs on an {@code image} column. */
    public static Conv2dTransformer edgeFilters(int threadsPerExecutor) {
        return new Conv2dTransformer().setInputCol("image").setOutputCol("edges").setLayers(GREY, EDGES)
                .setThreadsPerExecutor(threadsPerExecutor).setOnBadRow("null");
    }

    /** Reads {@code input}, filters, writes Parquet to {@code output}; returns {rows, rows without edges}. */
    public static long[] run(SparkSession spark, String input, String output, int threadsPerExecutor) {
        Dataset<Row> images = spark.read().format("image").option("dropInvalid", false).load(input);
        Dataset<Row> edges = edgeFilters(threadsPerExecutor).transform(images)
                .select(col("image.origin").as("origin"), col("image.height").as("height"),
                        col("image.width").as("width"), col("edges"), col("edges_shape"));
        edges.write().mode(SaveMode.Overwrite).parquet(output);
        Dataset<Row> written = spark.read().parquet(output);
        return new long[] {written.count(), written.filter(col("edges").isNull()).count()};
    }

    /** {@code IMAGES OUTPUT [--threads N]}. */
    public static void main(String[] args) {
        if (args.length != 2 && !(args.length == 4 && args[2].equals("--threads"))) {
            System.err.println("usage: EdgeFilterJob IMAGES_DIR OUTPUT_DIR [--threads N]   (got " + Arrays.toString(args) + ")");
            System.exit(2);
        }
        int threads = args.length == 4 ? Integer.parseInt(args[3]) : 0;
        SparkSession.Builder builder = SparkSession.builder().appName("conv4j edge filters");
        if (!new SparkConf().contains("spark.master")) builder.master("local[*]"); // plain java: local mode
        SparkSession spark = builder.getOrCreate();
        try {
            long[] n = run(spark, args[0], args[1], threads);
            System.out.println("wrote " + n[0] + " rows to " + args[1] + " (" + n[1] + " without edges: not 3-channel or"
                    + " not decodable)");
        } finally {
            spark.stop();
        }
    }

    private static float[] bank(float[]... kernels) {
        // HWIO with one input channel: value (y, x, 0, k) at (y * 3 + x) * K + k
        float[] w = new float[9 * kernels.length];
        for (int k = 0; k < kernels.length; k++) {
            for (int p = 0; p < 9; p++) w[p * kernels.length + k] = kernels[k][p];
        }
        return w;
    }
}

package io.conv4j.spark;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.ml.Transformer;
import org.apache.spark.ml.param.BooleanParam;
import org.apache.spark.ml.param.DoubleArrayParam;
import org.apache.spark.ml.param.IntArrayParam;
import org.apache.spark.ml.param.IntParam;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.ParamMap;
import org.apache.spark.ml.util.DefaultParamsReader;
import org.apache.spark.ml.util.DefaultParamsWritable;
import org.apache.spark.ml.util.Identifiable$;
import org.apache.spark.ml.util.MLReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;

/**
 * A Spark ML {@link Transformer} that convolves every row of a column with conv4j on the executors and
 * appends the result as a {@code array<float>} column (row-major {@code [OH, OW, Cout]}, channels last)
 * plus its shape as an {@code array<int>} column {@code [OH, OW, Cout]}.
 *
 * <p>Input, one image per row:
 * <ul>
 *   <li>Spark's {@code image} data source rows ({@code struct<origin, height, width, nChannels, mode, data>},
 *       8-bit, 1, 3 or 4 channels). Pixels enter as their unsigned byte values 0..255, channels in the order
 *       Spark stores them, {@code BGR} / {@code BGRA} (OpenCV's): filter input channel 0 is blue. With
 *       {@link #setChannelOrder channelOrder} {@code RGB} the first three are reversed (channel 0 is red,
 *       alpha stays last).</li>
 *   <li>A {@code array<float>} column holding {@code [H, W, C]} row-major, with its shape in a
 *       {@code array<int>} column ({@link #setShapeCol shapeCol}) or fixed for all rows
 *       ({@link #setInputShape inputShape}).</li>
 * </ul>
 *
 * <p>The convolution is a stack of one or more layers: the first given by {@code filter}, {@code filterShape},
 * {@code bias} and the option params (TensorFlow {@code conv2d} semantics, as conv4j's {@code Conv2dOptions}),
 * further ones by {@code extraLayers}, each fed the previous one's output. On each executor JVM the filters
 * are prepared once ({@code Conv2d.prepare}) and shared by all tasks and partitions that use the same layers;
 * conv4j's natives are unpacked from its jar there, so executors need nothing installed.
 * {@code threadsPerExecutor} sets conv4j's thread count in each executor JVM (0 leaves conv4j's default,
 * the available processors); with several task slots per executor, conv4j's one executor-wide pool is shared
 * by the tasks, so the CPU is not oversubscribed.
 *
 * <p>A row that cannot be convolved (a null or undecoded image, data of the wrong length, a shape that does
 * not match, channels the filter does not take, an image smaller than the kernel) fails the job with a
 * {@link BadRowException} naming the row (partition and position, plus the image's origin or the
 * {@code rowKeyCol} value), unless {@code onBadRow} is {@code null}: then both output columns are null for
 * that row. Bad rows are found in Java before any native code runs, so they never take an executor down.
 *
 * <p>Saved and loaded with the pipeline ({@code DefaultParamsWritable}, {@link #read()}, {@link #load}).
 */
public final class Conv2dTransformer extends Transformer implements DefaultParamsWritable {
    private static final long serialVersionUID = 1L;

    private final String uid;
    private final Param<String> inputCol;
    private final Param<String> outputCol;
    private final Param<String> outputShapeCol;
    private final Param<String> shapeCol;
    private final IntArrayParam inputShape;
    private final DoubleArrayParam filter;
    private final IntArrayParam filterShape;
    private final DoubleArrayParam bias;
    private final IntArrayParam strides;
    private final IntArrayParam dilations;
    private final Param<String> padding;
    private final IntParam groups;
    private final Param<String> activation;
    private final BooleanParam flipKernel;
    private final Param<String> algorithm;
    private final BooleanParam exactOnly;
    private final ConvLayersParam extraLayers;
    private final Param<String> channelOrder;
    private final IntParam threadsPerExecutor;
    private final Param<String> onBadRow;
    private final Param<String> rowKeyCol;

    /** A transformer with a random uid. */
    public Conv2dTransformer() {
        this(Identifiable$.MODULE$.randomUID("conv4jConv2d"));
    }

    /** A transformer with the given uid (used when a saved pipeline is loaded). */
    public Conv2dTransformer(String uid) {
        this.uid = uid; // before the params: each names its parent by uid
        inputCol = new Param<>(this, "inputCol", "input column: an image struct or array<float>");
        outputCol = new Param<>(this, "outputCol", "output column, array<float> [OH, OW, Cout] row-major");
        outputShapeCol = new Param<>(this, "outputShapeCol", "output shape column, array<int> [OH, OW, Cout]; "
                + "empty: outputCol + \"_shape\"");
        shapeCol = new Param<>(this, "shapeCol", "for array<float> input: column with each row's [H, W, C] (array<int>)");
        inputShape = new IntArrayParam(this, "inputShape", "for array<float> input: [H, W, C] of every row");
        filter = new DoubleArrayParam(this, "filter", "first layer's filter, row-major HWIO values (as floats)");
        filterShape = new IntArrayParam(this, "filterShape", "first layer's filter shape [KH, KW, Cin/groups, Cout]");
        bias = new DoubleArrayParam(this, "bias", "first layer's bias [Cout] (as floats); unset: none");
        strides = new IntArrayParam(this, "strides", "first layer's strides [sh, sw]");
        dilations = new IntArrayParam(this, "dilations", "first layer's dilations [dh, dw]");
        padding = new Param<>(this, "padding", "first layer's padding: VALID, SAME (TensorFlow's rule) or T,B,L,R");
        groups = new IntParam(this, "groups", "first layer's groups (Cin: depthwise)");
        activation = new Param<>(this, "activation", "first layer's fused activation: none, relu, relu6");
        flipKernel = new BooleanParam(this, "flipKernel", "first layer: true convolution (kernel rotated 180 degrees)");
        algorithm = new Param<>(this, "algorithm", "first layer's algorithm: auto, gemm_direct, gemm_tiled, "
                + "winograd_2x2, winograd_4x4, fft");
        exactOnly = new BooleanParam(this, "exactOnly", "first layer: auto chooses only exact (non-transform) algorithms");
        extraLayers = new ConvLayersParam(this, "extraLayers", "layers applied after the first, in order");
        channelOrder = new Param<>(this, "channelOrder", "image input: BGR (as Spark stores pixels) or RGB");
        threadsPerExecutor = new IntParam(this, "threadsPerExecutor", "conv4j threads in each executor JVM; "
                + "0: conv4j's default (available processors)");
        onBadRow = new Param<>(this, "onBadRow", "a row that cannot be convolved: error (fail the job, naming the row) "
                + "or null (null outputs)");
        rowKeyCol = new Param<>(this, "rowKeyCol", "column whose value names a row in errors; empty: the image origin");

        setDefault(outputCol, "conv");
        setDefault(outputShapeCol, "");
        setDefault(shapeCol, "");
        setDefault(strides, new int[] {1, 1});
        setDefault(dilations, new int[] {1, 1});
        setDefault(padding, "VALID");
        setDefault(groups, 1);
        setDefault(activation, "none");
        setDefault(flipKernel, false);
        setDefault(algorithm, "auto");
        setDefault(exactOnly, false);
        setDefault(extraLayers, new ConvLayerSpec[0]);
        setDefault(channelOrder, "BGR");
        setDefault(threadsPerExecutor, 0);
        setDefault(onBadRow, "error");
        setDefault(rowKeyCol, "");
    }

    @Override
    public String uid() {
        return uid;
    }

    // ------------------------------------------------------------------ params (Spark finds them by these methods)

    public Param<String> inputCol() { return inputCol; }
    public Param<String> outputCol() { return outputCol; }
    public Param<String> outputShapeCol() { return outputShapeCol; }
    public Param<String> shapeCol() { return shapeCol; }
    public IntArrayParam inputShape() { return inputShape; }
    public DoubleArrayParam filter() { return filter; }
    public IntArrayParam filterShape() { return filterShape; }
    public DoubleArrayParam bias() { return bias; }
    public IntArrayParam strides() { return strides; }
    public IntArrayParam dilations() { return dilations; }
    public Param<String> padding() { return padding; }
    public IntParam groups() { return groups; }
    public Param<String> activation() { return activation; }
    public BooleanParam flipKernel() { return flipKernel; }
    public Param<String> algorithm() { return algorithm; }
    public BooleanParam exactOnly() { return exactOnly; }
    public ConvLayersParam extraLayers() { return extraLayers; }
    public Param<String> channelOrder() { return channelOrder; }
    public IntParam threadsPerExecutor() { return threadsPerExecutor; }
    public Param<String> onBadRow() { return onBadRow; }
    public Param<String> rowKeyCol() { return rowKeyCol; }

    // ------------------------------------------------------------------ setters

    public Conv2dTransformer setInputCol(String v) { return put(inputCol, v); }
    public Conv2dTransformer setOutputCol(String v) { return put(outputCol, v); }
    /** The output shape column's name (default: outputCol + "_shape"). */
    public Conv2dTransformer setOutputShapeCol(String v) { return put(outputShapeCol, v); }
    public Conv2dTransformer setShapeCol(String v) { return put(shapeCol, v); }
    /** {@code [H, W, C]} of every row of an {@code array<float>} input column. */
    public Conv2dTransformer setInputShape(int... v) { return put(inputShape, v.clone()); }
    /** The first layer's filter, row-major HWIO, and its shape {@code [KH, KW, Cin/groups, Cout]}. */
    public Conv2dTransformer setFilter(float[] values, int... shape) {
        put(filter, toDoubles(values));
        return put(filterShape, shape.clone());
    }
    /** {@link #setFilter(float[], int...)} with lists: what PySpark's py4j passes for Python lists. */
    public Conv2dTransformer setFilter(List<? extends Number> values, List<? extends Number> shape) {
        return setFilter(floats(values), ints(shape));
    }
    /** {@link #setBias(float[])} with a list (PySpark); null clears it. */
    public Conv2dTransformer setBias(List<? extends Number> v) {
        return setBias(v == null ? null : floats(v));
    }
    /** {@link #setInputShape(int...)} with a list (PySpark). */
    public Conv2dTransformer setInputShape(List<? extends Number> v) {
        return setInputShape(ints(v));
    }
    /**
     * {@link #setExtraLayers} from JSON, for callers without Java arrays (PySpark): a list of objects with
     * {@code filter} and {@code filterShape} and optionally {@code bias}, {@code strides}, {@code dilations},
     * {@code padding}, {@code groups}, {@code activation}, {@code flipKernel}, {@code algorithm}, {@code exactOnly}.
     */
    public Conv2dTransformer setExtraLayersJson(String json) {
        return put(extraLayers, extraLayers.jsonDecode(json));
    }
    /** The first layer's bias ({@code [Cout]}); null clears it. */
    public Conv2dTransformer setBias(float[] v) {
        if (v == null) {
            clear(bias);
            return this;
        }
        return put(bias, toDoubles(v));
    }
    public Conv2dTransformer setStrides(int sh, int sw) { return put(strides, new int[] {sh, sw}); }
    public Conv2dTransformer setDilations(int dh, int dw) { return put(dilations, new int[] {dh, dw}); }
    public Conv2dTransformer setPadding(String v) { return put(padding, v); }
    public Conv2dTransformer setGroups(int v) { return put(groups, v); }
    public Conv2dTransformer setActivation(String v) { return put(activation, v); }
    public Conv2dTransformer setFlipKernel(boolean v) { return put(flipKernel, v); }
    public Conv2dTransformer setAlgorithm(String v) { return put(algorithm, v); }
    public Conv2dTransformer setExactOnly(boolean v) { return put(exactOnly, v); }
    public Conv2dTransformer setExtraLayers(ConvLayerSpec... v) { return put(extraLayers, v.clone()); }
    public Conv2dTransformer setChannelOrder(String v) { return put(channelOrder, v); }
    public Conv2dTransformer setThreadsPerExecutor(int v) { return put(threadsPerExecutor, v); }
    /** {@code error} (default) or {@code null}. */
    public Conv2dTransformer setOnBadRow(String v) { return put(onBadRow, v); }
    public Conv2dTransformer setRowKeyCol(String v) { return put(rowKeyCol, v); }

    /** The whole stack at once: the first layer goes into the flat params, the rest into {@code extraLayers}. */
    public Conv2dTransformer setLayers(ConvLayerSpec... layers) {
        if (layers.length == 0) throw new IllegalArgumentException("layers: at least one layer is needed");
        ConvLayerSpec f = layers[0];
        setFilter(f.filter(), f.filterShape());
        setBias(f.bias());
        put(strides, f.strides());
        put(dilations, f.dilations());
        setPadding(f.padding()).setGroups(f.groups()).setActivation(f.activation()).setFlipKernel(f.flipKernel());
        setAlgorithm(f.algorithm()).setExactOnly(f.exactOnly());
        return setExtraLayers(Arrays.copyOfRange(layers, 1, layers.length));
    }

    /** The stack of layers the params describe, first to last; checks that each feeds the next. */
    public ConvLayerSpec[] getLayers() {
        if (!isDefined(filter) || !isDefined(filterShape)) {
            throw new IllegalArgumentException("param filter: not set (setFilter(values, shape) or setLayers)");
        }
        int[] s = $(strides), d = $(dilations);
        ConvLayerSpec first = ConvLayerSpec.of(toFloats($(filter)), $(filterShape))
                .withBias(isDefined(bias) ? toFloats($(bias)) : null)
                .withStrides(s[0], s[1]).withDilations(d[0], d[1]).withPadding($(padding)).withGroups((Integer) $(groups))
                .withActivation($(activation)).withFlipKernel((Boolean) $(flipKernel))
                .withAlgorithm($(algorithm), (Boolean) $(exactOnly));
        List<ConvLayerSpec> all = new ArrayList<>();
        all.add(first);
        all.addAll(Arrays.asList($(extraLayers)));
        for (int i = 1; i < all.size(); i++) {
            if (all.get(i).inputChannels() != all.get(i - 1).outputChannels()) {
                throw new IllegalArgumentException("layer " + i + " takes " + all.get(i).inputChannels()
                        + " input channels but layer " + (i - 1) + " makes " + all.get(i - 1).outputChannels());
            }
        }
        return all.toArray(new ConvLayerSpec[0]);
    }

    public String getInputCol() { return $(inputCol); }
    public String getOutputCol() { return $(outputCol); }
    /** The output shape column's name, resolved (outputCol + "_shape" unless set). */
    public String getOutputShapeCol() {
        String s = $(outputShapeCol);
        return s.isEmpty() ? getOutputCol() + "_shape" : s;
    }
    public int getThreadsPerExecutor() { return (Integer) $(threadsPerExecutor); }
    public String getOnBadRow() { return $(onBadRow); }

    // ------------------------------------------------------------------ Transformer

    @Override
    public StructType transformSchema(StructType schema) {
        return plan(schema).outputSchema();
    }

    @Override
    public Dataset<Row> transform(Dataset<?> dataset) {
        RowConvolver convolver = plan(dataset.schema());
        return dataset.toDF().mapPartitions(convolver, Encoders.row(convolver.outputSchema()));
    }

    /** Validates the params against the input schema, on the driver, and builds the executors' work. */
    private RowConvolver plan(StructType schema) {
        if (!isDefined(inputCol)) throw new IllegalArgumentException("param inputCol: not set");
        String policy = $(onBadRow).toLowerCase(Locale.ROOT);
        if (!policy.equals("error") && !policy.equals("null")) {
            throw new IllegalArgumentException("param onBadRow must be error or null, got \"" + $(onBadRow) + "\"");
        }
        String order = $(channelOrder).toUpperCase(Locale.ROOT);
        if (!order.equals("BGR") && !order.equals("RGB")) {
            throw new IllegalArgumentException("param channelOrder must be BGR or RGB, got \"" + $(channelOrder) + "\"");
        }
        int threads = getThreadsPerExecutor();
        if (threads < 0) throw new IllegalArgumentException("param threadsPerExecutor must be >= 0, got " + threads);
        InputLayout input = InputLayout.of(schema, getInputCol(), $(shapeCol),
                isDefined(inputShape) ? $(inputShape) : null, $(rowKeyCol));
        ConvLayerSpec[] layers = getLayers();
        input.checkChannels(layers[0]);
        return new RowConvolver(input, layers, order.equals("RGB"), threads, policy.equals("null"),
                schema, getOutputCol(), getOutputShapeCol());
    }

    @Override
    public Conv2dTransformer copy(ParamMap extra) {
        return defaultCopy(extra);
    }

    /** Reads a transformer saved with {@code write().save(path)} (also what a saved pipeline's loader calls). */
    public static MLReader<Conv2dTransformer> read() {
        return new DefaultParamsReader<>();
    }

    /** Loads a transformer saved at {@code path}. */
    public static Conv2dTransformer load(String path) {
        return read().load(path);
    }

    private <T> Conv2dTransformer put(Param<T> p, T v) {
        set(p, v);
        return this;
    }

    private static float[] floats(List<? extends Number> v) {
        float[] f = new float[v.size()];
        for (int i = 0; i < f.length; i++) f[i] = v.get(i).floatValue();
        return f;
    }

    private static int[] ints(List<? extends Number> v) {
        int[] n = new int[v.size()];
        for (int i = 0; i < n.length; i++) n[i] = Math.toIntExact(v.get(i).longValue());
        return n;
    }

    private static double[] toDoubles(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) d[i] = v[i];
        return d;
    }

    private static float[] toFloats(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
        return f;
    }
}

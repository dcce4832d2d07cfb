package io.conv4j.spark;

import io.conv4j.Conv4j;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The executors' side of {@link Conv2dTransformer}: for each partition, sets conv4j's threads, takes the
 * JVM's prepared stack for the layers (preparing it on first use) and convolves row after row, appending
 * the output and its shape. Serializable: the driver builds it from the params and Spark ships it.
 */
final class RowConvolver implements MapPartitionsFunction<Row, Row> {
    private static final long serialVersionUID = 1L;

    private final InputLayout input;
    private final List<ConvLayerSpec> layers;
    private final boolean rgb;
    private final int threads;
    private final boolean nullOnBadRow;
    private final StructType outputSchema;

    RowConvolver(InputLayout input, ConvLayerSpec[] layers, boolean rgb, int threads, boolean nullOnBadRow,
                 StructType inputSchema, String outputCol, String outputShapeCol) {
        this.input = input;
        this.layers = List.of(layers);
        this.rgb = rgb;
        this.threads = threads;
        this.nullOnBadRow = nullOnBadRow;
        for (String c : new String[] {outputCol, outputShapeCol}) {
            if (Arrays.asList(inputSchema.fieldNames()).contains(c)) {
                throw new IllegalArgumentException("output column \"" + c + "\" already exists in the input");
            }
        }
        if (outputCol.equals(outputShapeCol)) {
            throw new IllegalArgumentException("outputCol and outputShapeCol are both \"" + outputCol + "\"");
        }
        this.outputSchema = inputSchema
                .add(outputCol, DataTypes.createArrayType(DataTypes.FloatType, false), true)
                .add(outputShapeCol, DataTypes.createArrayType(DataTypes.IntegerType, false), true);
    }

    StructType outputSchema() {
        return outputSchema;
    }

    @Override
    public Iterator<Row> call(Iterator<Row> rows) {
        TaskContext task = TaskContext.get();
        int partition = task == null ? -1 : task.partitionId();
        if (threads > 0 && Conv4j.threads() != threads) Conv4j.setThreads(threads);
        PreparedStacks.Lease lease = PreparedStacks.acquire(layers);
        // released when the task ends however it ends (failure, cancellation, a downstream limit), and at the
        // end of the rows for callers outside a task
        if (task != null) task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) t -> lease.close());
        return new Iterator<>() {
            private long index;

            @Override
            public boolean hasNext() {
                boolean more = rows.hasNext();
                if (!more) lease.close();
                return more;
            }

            @Override
            public Row next() {
                if (!hasNext()) throw new NoSuchElementException();
                return convolve(rows.next(), new RowName(partition, index++, null), lease.stack());
            }
        };
    }

    private Row convolve(Row row, RowName position, PreparedStack stack) {
        Object[] values = new Object[row.size() + 2];
        for (int i = 0; i < row.size(); i++) values[i] = row.get(i);
        RowName where = position;
        try {
            where = position.withKey(input.key(row));
            InputLayout.Pixels pixels = input.read(row, where, rgb);
            if (pixels.channels != layers.get(0).inputChannels()) {
                throw where.bad("input has " + pixels.channels + " channels but the first layer's filter takes "
                        + layers.get(0).inputChannels());
            }
            int[] shape = new int[3];
            try {
                values[row.size()] = stack.apply(pixels, shape);
            } catch (IllegalArgumentException e) { // conv4j refused this row's shape before running native code
                throw where.bad(e);
            }
            values[row.size() + 1] = shape;
        } catch (BadRowException e) {
            if (!nullOnBadRow) throw e;
            values[row.size()] = null;
            values[row.size() + 1] = null;
        }
        return RowFactory.create(values);
    }
}

package io.conv4j.spark;

/**
 * A row that {@link Conv2dTransformer} cannot convolve, with the row named in the message: its position
 * (partition and row within it) and, where there is one, its key (the image origin or the
 * {@code rowKeyCol} value). Spark reports it as the cause of the failed job's {@code SparkException}.
 */
public final class BadRowException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final int partition;
    private final long row;
    private final String key;

    BadRowException(int partition, long row, String key, String problem, Throwable cause) {
        super("conv4j-spark: bad row " + row + " of partition " + partition + (key != null ? " (" + key + ")" : "") + ": "
                + problem, cause);
        this.partition = partition;
        this.row = row;
        this.key = key;
    }

    /** The partition the row is in. */
    public int partition() {
        return partition;
    }

    /** The row's position in its partition, from 0. */
    public long row() {
        return row;
    }

    /** The row's key (e.g. {@code origin file:/images/a.png}), or null. */
    public String key() {
        return key;
    }
}

package io.conv4j.spark;

/** Names one row in errors: its partition, its position there and its key (may be null). */
final class RowName {
    private final int partition;
    private final long row;
    private final String key;

    RowName(int partition, long row, String key) {
        this.partition = partition;
        this.row = row;
        this.key = key;
    }

    RowName withKey(String key) {
        return new RowName(partition, row, key);
    }

    BadRowException bad(String problem) {
        return new BadRowException(partition, row, key, problem, null);
    }

    BadRowException bad(IllegalArgumentException cause) {
        return new BadRowException(partition, row, key, cause.getMessage(), cause);
    }
}

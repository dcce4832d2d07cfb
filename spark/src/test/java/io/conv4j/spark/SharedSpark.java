package io.conv4j.spark;

import org.apache.spark.sql.SparkSession;

/**
 * One real local SparkSession for all test classes (a JVM holds one SparkContext; starting it takes
 * seconds). {@code local[2,2]}: two task slots, and a failed task is tried once more (spark.task.maxFailures
 * 2), which the retry test relies on. Spark stops it at JVM exit.
 */
final class SharedSpark {
    private static SparkSession session;

    private SharedSpark() {}

    static synchronized SparkSession get() {
        if (session == null) {
            session = SparkSession.builder()
                    .master("local[2,2]")
                    .appName("conv4j-spark tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1") // no lookup of the machine's name: works offline and in CI
                    .config("spark.driver.bindAddress", "127.0.0.1")
                    .config("spark.sql.shuffle.partitions", "2")
                    .config("spark.sql.warehouse.dir", System.getProperty("java.io.tmpdir") + "/conv4j-spark-warehouse")
                    .getOrCreate();
        }
        return session;
    }
}

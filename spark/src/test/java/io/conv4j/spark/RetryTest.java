package io.conv4j.spark;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.MapPartitionsFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

import static io.conv4j.spark.SingleMachine.assertBitsEqual;
import static io.conv4j.spark.SingleMachine.floats;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A task that dies half way through its partition (after the transformer has convolved some rows with the
 * executor's prepared filter) is retried by Spark (the session allows 2 attempts) and the job's output is
 * the same, bit for bit, as without the failure and as conv4j on one machine.
 */
class RetryTest {
    /** Failures injected so far (local mode: the tasks run in this JVM). */
    static final AtomicInteger INJECTED = new AtomicInteger();

    /** Passes rows through, but the first attempt of partition 1 throws at its third row. */
    static Iterator<Row> failFirstAttempt(Iterator<Row> rows) {
        TaskContext task = TaskContext.get();
        boolean fail = task.partitionId() == 1 && task.attemptNumber() == 0;
        return new Iterator<>() {
            int seen;

            @Override
            public boolean hasNext() {
                return rows.hasNext();
            }

            @Override
            public Row next() {
                if (fail && ++seen == 3) {
                    INJECTED.incrementAndGet();
                    throw new IllegalStateException("injected failure: first attempt of partition 1, row 3");
                }
                return rows.next();
            }
        };
    }

    @Test
    void aTaskThatFailsOnceAndIsRetriedGivesTheSameOutput() {
        Random rnd = new Random(21);
        ConvLayerSpec first = SingleMachine.layer(rnd, 3, 3, 6).withPadding("SAME").withActivation("relu");
        ConvLayerSpec second = SingleMachine.layer(rnd, 3, 6, 2);
        Dataset<Row> in = ArrayInputTest.frame(ArrayInputTest.randomRows(rnd, 20, 3, 6), 3).cache();
        Dataset<Row> flaky = in.mapPartitions((MapPartitionsFunction<Row, Row>) RetryTest::failFirstAttempt,
                Encoders.row(in.schema()));
        Conv2dTransformer t = new Conv2dTransformer().setInputCol("x").setShapeCol("shape").setOutputCol("y")
                .setLayers(first, second);

        int before = INJECTED.get();
        // one job (no orderBy, whose sampling job would run the flaky partition too); sorted here instead
        List<Row> retried = new ArrayList<>(t.transform(flaky).collectAsList());
        retried.sort(Comparator.comparingInt(r -> r.getInt(0)));
        assertEquals(1, INJECTED.get() - before, "exactly one injected failure, then a successful retry");
        List<Row> clean = t.transform(in).orderBy("id").collectAsList();

        assertEquals(20, retried.size());
        for (int i = 0; i < clean.size(); i++) {
            assertBitsEqual(floats(clean.get(i).getList(3)), floats(retried.get(i).getList(3)), "row " + i);
        }
        ArrayInputTest.assertMatchesSingleMachine(retried, first, second);
    }
}

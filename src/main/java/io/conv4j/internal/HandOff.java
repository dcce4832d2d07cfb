package io.conv4j.internal;

/**
 * The measured cost of a hand-off to a worker in one state (spinning or parked), from the
 * given values until samples replace them. {@link ConvExecutor} keeps one for each state and
 * decides from them how many threads a job is offered and how long its workers spin.
 */
final class HandOff {
    /** From the offer to a worker taking the ticket. */
    final RunningMedian pickup;
    /** The caller's offer: queueing the tickets, waking a parked worker. */
    final RunningMedian offer;

    HandOff(double pickupNanos, double offerNanos) {
        pickup = new RunningMedian(pickupNanos);
        offer = new RunningMedian(offerNanos);
    }

    ExecutorJob tookTicket(ExecutorJob job) {
        if (job != ExecutorJob.STOP) pickup.record(System.nanoTime() - job.offeredNanos);
        return job;
    }
}

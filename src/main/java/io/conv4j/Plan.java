package io.conv4j;

/**
 * The algorithm conv4j will run for one convolution, with the reason, as returned by
 * {@link Conv2d#plan}. Immutable.
 */
public final class Plan {
    private final Algorithm algorithm;
    private final long units;
    private final long workspaceBytes;
    private final long preparedFloats;
    private final double estimatedSeconds;
    private final String reason;

    Plan(Algorithm algorithm, long units, long workspaceBytes, long preparedFloats, double estimatedSeconds, String reason) {
        this.algorithm = algorithm;
        this.units = units;
        this.workspaceBytes = workspaceBytes;
        this.preparedFloats = preparedFloats;
        this.estimatedSeconds = estimatedSeconds;
        this.reason = reason;
    }

    /** The cost model's single-thread time for the algorithm (filter transform excluded), in seconds. */
    public double estimatedSeconds() { return estimatedSeconds; }

    /** Floats of the transformed filter the algorithm needs (0: it reads the filter as it is). */
    public long preparedFloats() { return preparedFloats; }

    /** The algorithm that runs (never {@link Algorithm#AUTO}). */
    public Algorithm algorithm() { return algorithm; }

    /** Independent work units the convolution is cut into (the most threads that can share it). */
    public long units() { return units; }

    /** Native workspace one thread uses for this convolution, in bytes. */
    public long workspaceBytes() { return workspaceBytes; }

    /** Why this algorithm was chosen, in one or two sentences. */
    public String reason() { return reason; }

    @Override
    public String toString() {
        return algorithm + " (" + units + " units, workspace " + workspaceBytes + " bytes): " + reason;
    }
}

package org.autoglm.node.telemetry;

import java.util.Arrays;

/**
 * The most recent time-to-first-token and inter-token samples of this node, in milliseconds, for the live console:
 * the {@code /metrics} histograms hold everything since start, while a live plot wants the last few seconds. Two
 * bounded rings; a reader takes the samples younger than a window.
 */
public final class LatencyWindow {

    /** Samples kept per kind: enough for the last seconds of a busy node, small enough to publish each second. */
    static final int CAPACITY = 512;

    private final Ring ttft = new Ring();
    private final Ring itl = new Ring();

    public void firstToken(double millis) {
        ttft.add(millis);
    }

    public void interToken(double millis) {
        itl.add(millis);
    }

    /** Time-to-first-token samples of the last {@code windowMillis}, oldest first. */
    public double[] recentFirstTokens(long windowMillis) {
        return ttft.since(System.currentTimeMillis() - windowMillis);
    }

    /** Inter-token samples of the last {@code windowMillis}, oldest first. */
    public double[] recentInterTokens(long windowMillis) {
        return itl.since(System.currentTimeMillis() - windowMillis);
    }

    /** The {@code q} quantile (0..1) of {@code samples} by nearest rank, or NaN when there are none. */
    public static double quantile(double[] samples, double q) {
        if (samples.length == 0) {
            return Double.NaN;
        }
        double[] sorted = samples.clone();
        Arrays.sort(sorted);
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static final class Ring {
        private final double[] values = new double[CAPACITY];
        private final long[] times = new long[CAPACITY];
        private long written;

        synchronized void add(double value) {
            int slot = (int) (written++ % CAPACITY);
            values[slot] = value;
            times[slot] = System.currentTimeMillis();
        }

        synchronized double[] since(long fromMillis) {
            int n = (int) Math.min(written, CAPACITY);
            double[] out = new double[n];
            int k = 0;
            for (long i = written - n; i < written; i++) {
                int slot = (int) (i % CAPACITY);
                if (times[slot] >= fromMillis) {
                    out[k++] = values[slot];
                }
            }
            return Arrays.copyOf(out, k);
        }
    }
}

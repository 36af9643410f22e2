package org.autoglm.node.control;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.node.engine.EngineStats;
import org.autoglm.node.engine.FinishReason;

/**
 * This node's baselines and its verdict: for step time, time to first token and error rate it keeps an EWMA of the
 * mean and of the variance per load level (running sequences 1, 2-3, 4-7, ...), one sample per interval. A node whose
 * interval is beyond mean + 3σ on any of them for {@code intervals} intervals in a row is anomalous (published in its
 * heartbeat: {@code /cluster/nodes}, events, and placement, which weighs it down) until as many normal intervals
 * pass. Baselines learn only from normal intervals, so a slow node does not become its own new normal.
 */
public final class AnomalyDetector implements EngineStats.Observer {

    /** Weight of a new interval in the averages. */
    static final double ALPHA = 0.1;
    static final double SIGMAS = 3;
    /** Intervals a level must have seen before it can judge. */
    static final int WARM_UP = 10;
    /** σ is at least this fraction of the mean: a perfectly steady node is not flagged for jitter. */
    static final double MIN_RELATIVE_SIGMA = 0.05;

    private final int intervals;
    private final long intervalNanos;
    private long intervalStart = System.nanoTime();
    // The interval being collected (engine thread writes, ticker reads: synchronized).
    private final Map<Integer, double[]> stepSums = new HashMap<>(); // level -> {sum ms, count}
    private final List<Double> ttfts = new ArrayList<>();
    private int finished;
    private int errors;
    private final Map<String, Baseline> baselines = new HashMap<>();
    private int beyond;
    private int normal;
    private volatile boolean anomalous;
    private volatile String reason;

    /**
     * @param intervals   N: intervals in a row beyond 3σ before the node is flagged
     * @param intervalMillis length of one interval
     */
    public AnomalyDetector(int intervals, long intervalMillis) {
        this.intervals = intervals;
        this.intervalNanos = intervalMillis * 1_000_000L;
    }

    public boolean anomalous() {
        return anomalous;
    }

    /** Whether {@code figure} (such as "step_ms@0") has seen the intervals it needs before it judges one. */
    synchronized boolean judges(String figure) {
        Baseline b = baselines.get(figure);
        return b != null && b.samples >= WARM_UP;
    }

    /** Why it is anomalous (which figure, its value and baseline), or null. */
    public String reason() {
        return reason;
    }

    @Override
    public synchronized void step(long nanos, int numSequences, int numTokens) {
        double[] s = stepSums.computeIfAbsent(level(numSequences), k -> new double[2]);
        s[0] += nanos / 1e6;
        s[1]++;
    }

    @Override
    public synchronized void timeToFirstToken(long nanos) {
        ttfts.add(nanos / 1e6);
    }

    @Override
    public synchronized void finished(FinishReason reason, int promptTokens, int completionTokens) {
        finished++;
        if (reason == FinishReason.ERROR) errors++;
    }

    /** Closes the interval when it is due; reports a change of verdict as an event. */
    void tick(ControlEvents events, String node) {
        long now = System.nanoTime();
        if (now - intervalStart < intervalNanos) return;
        intervalStart = now;
        boolean before = anomalous;
        closeInterval();
        if (anomalous != before && events != null) {
            ObjectNode n = CommandRequest.JSON.createObjectNode().put("node", node).put("anomalous", anomalous);
            if (reason != null) n.put("reason", reason);
            events.emit(anomalous ? "node_anomalous" : "node_normal", n);
        }
    }

    /** Judges the interval just ended against the baselines and learns from it if it was normal. */
    synchronized void closeInterval() {
        Map<String, Double> samples = new HashMap<>();
        stepSums.forEach((level, s) -> samples.put("step_ms@" + level, s[0] / s[1]));
        if (!ttfts.isEmpty()) {
            samples.put("ttft_ms@" + level(ttfts.size()), ttfts.stream().mapToDouble(Double::doubleValue).average().orElse(0));
        }
        if (finished > 0) samples.put("error_rate", (double) errors / finished);
        stepSums.clear();
        ttfts.clear();
        finished = 0;
        errors = 0;
        if (samples.isEmpty()) return; // idle: nothing to judge
        String outlier = null;
        for (var e : samples.entrySet()) {
            Baseline b = baselines.computeIfAbsent(e.getKey(), k -> new Baseline(k.equals("error_rate") ? 0.05 : 0.5));
            if (b.beyond(e.getValue())) {
                outlier = String.format("%s %.2f against a baseline of %.2f ± %.2f", e.getKey(), e.getValue(), b.mean,
                        b.sigma());
            }
        }
        if (outlier != null) {
            beyond++;
            normal = 0;
            if (beyond >= intervals && !anomalous) {
                anomalous = true;
                reason = outlier;
            }
            return; // an outlier interval teaches the baseline nothing
        }
        samples.forEach((k, v) -> baselines.get(k).learn(v));
        beyond = 0;
        if (anomalous && ++normal >= intervals) {
            anomalous = false;
            reason = null;
        }
    }

    /** Load level of {@code n} running sequences: 1, 2-3, 4-7, ... as 0, 1, 2, ... */
    static int level(int n) {
        return 31 - Integer.numberOfLeadingZeros(Math.max(1, n));
    }

    /** EWMA of mean and variance of one figure at one load level. */
    private static final class Baseline {
        /** Smallest σ: 0.5 ms for times, 5 points for the error rate (a node that never fails is not flagged for one error). */
        final double floor;
        double mean;
        double variance;
        int samples;

        Baseline(double floor) {
            this.floor = floor;
        }

        boolean beyond(double x) {
            return samples >= WARM_UP && x > mean + SIGMAS * sigma();
        }

        double sigma() {
            return Math.max(Math.sqrt(variance), Math.max(Math.abs(mean) * MIN_RELATIVE_SIGMA, floor));
        }

        void learn(double x) {
            if (samples++ == 0) {
                mean = x;
                return;
            }
            double diff = x - mean;
            mean += ALPHA * diff;
            variance = (1 - ALPHA) * (variance + ALPHA * diff * diff);
        }
    }
}

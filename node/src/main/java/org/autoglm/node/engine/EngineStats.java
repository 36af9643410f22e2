package org.autoglm.node.engine;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine's counters and latency samples, for metrics and the cluster heartbeat. Gauges and counters
 * are written by the engine loop and readable from any thread. Latencies are pushed to
 * {@link Observer}s as raw samples (a metrics exporter puts them in histograms); the heartbeat figures
 * (tokens/s, median step time) come from a window of recent steps.
 */
public final class EngineStats {

    /** Receives latency samples on the engine thread: keep it quick (e.g. record into a histogram). */
    public interface Observer {
        /** Submission to first output token. */
        default void timeToFirstToken(long nanos) {}

        /** Between two consecutive output tokens of one request. */
        default void interTokenLatency(long nanos) {}

        /** Submission to first scheduling. */
        default void queueTime(long nanos) {}

        /** One engine step: schedule, forward, sample, deliver. */
        default void step(long nanos, int numSequences, int numTokens) {}

        /** A request ended. */
        default void finished(FinishReason reason, int promptTokens, int completionTokens) {}
    }

    private static final Logger log = LoggerFactory.getLogger(EngineStats.class);
    private static final int WINDOW = 128;

    private final List<Observer> observers = new CopyOnWriteArrayList<>();
    private volatile int running;
    private volatile int waiting;
    private volatile int kvBlocksUsed;
    private volatile int kvBlocksTotal;
    private volatile long prefixQueryTokens;
    private volatile long prefixHitTokens;
    private volatile long[] cachedBlockHashes = new long[0];
    private final AtomicLong promptTokens = new AtomicLong();
    private final AtomicLong generatedTokens = new AtomicLong();
    private final AtomicLong preemptions = new AtomicLong();
    private final AtomicLong[] finishedByReason = new AtomicLong[FinishReason.values().length];

    // Ring of recent steps: end time and tokens generated, and step durations.
    private final long[] stepEnd = new long[WINDOW];
    private final long[] stepNanos = new long[WINDOW];
    private final int[] stepTokens = new int[WINDOW];
    private long numSteps;

    /** Set by the engine loop about once a second. */
    void cachedBlockHashes(long[] hashes) {
        this.cachedBlockHashes = hashes;
    }

    /** The chained hashes of the KV blocks in the prefix cache, as of the last second (do not modify). */
    public long[] cachedBlockHashes() {
        return cachedBlockHashes;
    }

    public EngineStats() {
        for (int i = 0; i < finishedByReason.length; i++) finishedByReason[i] = new AtomicLong();
    }

    public void addObserver(Observer o) {
        observers.add(o);
    }

    public void removeObserver(Observer o) {
        observers.remove(o);
    }

    public int running() {
        return running;
    }

    public int waiting() {
        return waiting;
    }

    public int kvBlocksUsed() {
        return kvBlocksUsed;
    }

    public int kvBlocksTotal() {
        return kvBlocksTotal;
    }

    /** Fraction of KV blocks held by sequences, 0..1. */
    public double kvUsage() {
        int total = kvBlocksTotal;
        return total == 0 ? 0 : (double) kvBlocksUsed / total;
    }

    /** Prompt tokens looked up in the prefix cache at admission. */
    public long prefixQueryTokens() {
        return prefixQueryTokens;
    }

    /** Of {@link #prefixQueryTokens()}, those whose KV was found cached. */
    public long prefixHitTokens() {
        return prefixHitTokens;
    }

    public long promptTokens() {
        return promptTokens.get();
    }

    public long generatedTokens() {
        return generatedTokens.get();
    }

    public long preemptions() {
        return preemptions.get();
    }

    public long finished(FinishReason reason) {
        return finishedByReason[reason.ordinal()].get();
    }

    /** Generated tokens per second over the recent window of steps (0 with fewer than two steps). */
    public synchronized double tokensPerSecond() {
        int n = (int) Math.min(numSteps, WINDOW);
        if (n < 2) return 0;
        int last = (int) ((numSteps - 1) % WINDOW);
        int first = (int) ((numSteps - n) % WINDOW);
        long tokens = 0;
        for (int i = 0; i < n; i++) if (i != first) tokens += stepTokens[i];
        long span = stepEnd[last] - stepEnd[first];
        return span <= 0 ? 0 : tokens * 1e9 / span;
    }

    /** Median step time over the recent window, in milliseconds (0 before the first step). */
    public synchronized double p50StepMillis() {
        int n = (int) Math.min(numSteps, WINDOW);
        if (n == 0) return 0;
        long[] copy = Arrays.copyOf(stepNanos, n);
        Arrays.sort(copy);
        return copy[n / 2] / 1e6;
    }

    // Written by the engine loop.

    private volatile long lastStepEndNanos = System.nanoTime();

    void gauges(int running, int waiting, int kvUsed, int kvTotal, long prefixQueries, long prefixHits) {
        this.running = running;
        this.waiting = waiting;
        this.kvBlocksUsed = kvUsed;
        this.kvBlocksTotal = kvTotal;
        this.prefixQueryTokens = prefixQueries;
        this.prefixHitTokens = prefixHits;
    }

    /** Time since the engine last finished a step (or since it was created): how long it has made no progress. */
    public long nanosSinceLastStep() {
        return System.nanoTime() - lastStepEndNanos;
    }

    void recordStep(long endNanos, long nanos, int numSequences, int numScheduledTokens, int generated, int preempted) {
        lastStepEndNanos = endNanos;
        synchronized (this) {
            int slot = (int) (numSteps % WINDOW);
            stepEnd[slot] = endNanos;
            stepNanos[slot] = nanos;
            stepTokens[slot] = generated;
            numSteps++;
        }
        generatedTokens.addAndGet(generated);
        preemptions.addAndGet(preempted);
        notifyAll(o -> o.step(nanos, numSequences, numScheduledTokens));
    }

    void recordQueueTime(long nanos, int promptLength) {
        promptTokens.addAndGet(promptLength);
        notifyAll(o -> o.queueTime(nanos));
    }

    void recordTimeToFirstToken(long nanos) {
        notifyAll(o -> o.timeToFirstToken(nanos));
    }

    void recordInterTokenLatency(long nanos) {
        notifyAll(o -> o.interTokenLatency(nanos));
    }

    void recordFinished(FinishReason reason, int promptTokens, int completionTokens) {
        finishedByReason[reason.ordinal()].incrementAndGet();
        notifyAll(o -> o.finished(reason, promptTokens, completionTokens));
    }

    /** A broken metrics observer must not break the engine step that feeds it. */
    private void notifyAll(Consumer<Observer> call) {
        for (Observer o : observers) {
            try {
                call.accept(o);
            } catch (RuntimeException e) {
                log.warn("engine stats observer {} failed", o, e);
            }
        }
    }
}

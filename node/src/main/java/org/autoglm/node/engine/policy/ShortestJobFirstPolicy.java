package org.autoglm.node.engine.policy;

import java.time.Duration;
import java.util.Comparator;
import org.autoglm.node.engine.scheduler.Sequence;

/**
 * Shortest expected job first: by prompt length plus {@code max_tokens}, the most the request can cost.
 * Minimises mean latency when max_tokens is honest. With aging, so that a long job cannot wait forever behind a
 * steady flow of short ones: a job ranks as if it had arrived later by {@code agingStep} per
 * {@link #AGING_TOKENS} tokens of its expected length, so it waits at most about that long for shorter jobs
 * that arrive after it. The rank is fixed at arrival, which keeps the waiting queue a plain heap.
 */
public final class ShortestJobFirstPolicy implements SchedulingPolicy {

    /** Expected tokens that one aging step makes up for. */
    public static final int AGING_TOKENS = 1000;

    private final double agingNanosPerToken;
    private final Comparator<Sequence> order;

    public ShortestJobFirstPolicy(Duration agingStep) {
        if (agingStep.isNegative() || agingStep.isZero()) {
            throw new IllegalArgumentException("sjf aging step must be positive, got " + agingStep);
        }
        this.agingNanosPerToken = (double) agingStep.toNanos() / AGING_TOKENS;
        this.order = (a, b) -> {
            int c = Double.compare(rank(a), rank(b));
            return c != 0 ? c : SchedulingPolicy.byArrival(a, b);
        };
    }

    @Override
    public String name() {
        return "sjf";
    }

    @Override
    public Comparator<Sequence> order() {
        return order;
    }

    /** Arrival time pushed back by the job's expected length: its place in line. */
    double rank(Sequence s) {
        return s.arrivalNanos() + s.expectedLength() * agingNanosPerToken;
    }
}

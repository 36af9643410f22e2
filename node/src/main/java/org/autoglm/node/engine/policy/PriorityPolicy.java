package org.autoglm.node.engine.policy;

import java.time.Duration;
import java.util.Comparator;
import org.autoglm.node.engine.scheduler.Sequence;

/**
 * Lower {@code priority} first (vLLM's convention), with aging: a request ranks as if it had arrived
 * {@code priority × agingStep} later. Waiting thus lowers a request's effective priority value by one
 * level per {@code agingStep}, so a priority-p request waits at most about {@code p × agingStep} behind
 * any stream of more urgent ones, and nothing starves. The rank is fixed at arrival, which keeps the
 * waiting queue a plain heap.
 */
public final class PriorityPolicy implements SchedulingPolicy {

    private final double agingNanos;
    private final Comparator<Sequence> order;

    public PriorityPolicy(Duration agingStep) {
        if (agingStep.isNegative() || agingStep.isZero()) {
            throw new IllegalArgumentException("priority aging step must be positive, got " + agingStep);
        }
        this.agingNanos = agingStep.toNanos();
        this.order = (a, b) -> {
            int c = Double.compare(rank(a), rank(b));
            return c != 0 ? c : SchedulingPolicy.byArrival(a, b);
        };
    }

    @Override
    public String name() {
        return "priority";
    }

    @Override
    public Comparator<Sequence> order() {
        return order;
    }

    /** Arrival time shifted by the priority: the sequence's place in line (double: no overflow for any priority). */
    double rank(Sequence s) {
        return s.arrivalNanos() + s.priority() * agingNanos;
    }
}

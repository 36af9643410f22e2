package org.autoglm.node.engine.policy;

import java.util.Comparator;
import org.autoglm.node.engine.scheduler.Sequence;

/**
 * Shortest expected job first: by prompt length plus {@code max_tokens}, the most the request can cost.
 * Minimises mean latency when max_tokens is honest; long jobs can wait behind a steady flow of short ones.
 */
public final class ShortestJobFirstPolicy implements SchedulingPolicy {

    private static final Comparator<Sequence> ORDER =
            Comparator.comparingInt(Sequence::expectedLength).thenComparing(ARRIVAL);

    @Override
    public String name() {
        return "sjf";
    }

    @Override
    public Comparator<Sequence> order() {
        return ORDER;
    }
}

package org.autoglm.node.engine.policy;

import java.util.Comparator;
import org.autoglm.node.engine.scheduler.Sequence;

/**
 * Multi-level feedback queue: every sequence starts on level 0; one that has used its quantum of decode
 * steps on a level drops to the next (the quantum doubles per level), and levels are served in order,
 * arrival order within a level. Short requests thus finish ahead of long ones without knowing lengths in
 * advance, and under memory pressure the longest-running sequences are preempted first.
 */
public final class MlfqPolicy implements SchedulingPolicy {

    private static final Comparator<Sequence> ORDER =
            Comparator.comparingInt(Sequence::policyLevel).thenComparing(ARRIVAL);

    private final int quantum;
    private final int levels;

    public MlfqPolicy(int quantum, int levels) {
        if (quantum < 1) throw new IllegalArgumentException("mlfq quantum must be >= 1 decode step, got " + quantum);
        if (levels < 1 || levels > 16) throw new IllegalArgumentException("mlfq levels must be 1..16, got " + levels);
        this.quantum = quantum;
        this.levels = levels;
    }

    @Override
    public String name() {
        return "mlfq";
    }

    @Override
    public Comparator<Sequence> order() {
        return ORDER;
    }

    /** Decode steps allowed on {@code level} before dropping: quantum × 2^level. */
    public int quantum(int level) {
        return quantum << level;
    }

    @Override
    public void onTokenGenerated(Sequence s) {
        int level = s.policyLevel();
        int steps = s.policySteps() + 1;
        if (steps >= quantum(level) && level < levels - 1) {
            s.setPolicyState(level + 1, 0);
        } else {
            s.setPolicyState(level, steps);
        }
    }
}

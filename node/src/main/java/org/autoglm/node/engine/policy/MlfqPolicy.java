package org.autoglm.node.engine.policy;

import java.util.Collection;
import java.util.Comparator;
import org.autoglm.node.engine.scheduler.Sequence;

/**
 * Multi-level feedback queue: every sequence starts on level 0; one that has used its quantum of decode
 * steps on a level drops to the next (the quantum doubles per level), and levels are served in order,
 * arrival order within a level. Short requests thus finish ahead of long ones without knowing lengths in
 * advance, and under memory pressure the longest-running sequences are preempted first.
 *
 * <p>Every {@code boostInterval} steps every sequence returns to level 0 (the classic MLFQ priority boost): a
 * demoted sequence, running or preempted and waiting, cannot starve behind a sustained stream of new level-0 work.
 */
public final class MlfqPolicy implements SchedulingPolicy {

    private static final Comparator<Sequence> ORDER = (a, b) -> {
        int c = Integer.compare(a.policyLevel(), b.policyLevel());
        return c != 0 ? c : SchedulingPolicy.byArrival(a, b);
    };

    private final int quantum;
    private final int levels;
    private final int boostInterval;
    private int stepsSinceBoost;

    /** Boosts every {@code quantum << levels} steps: twice what a sequence needs to sink through every level. */
    public MlfqPolicy(int quantum, int levels) {
        this(quantum, levels, (int) Math.min(Integer.MAX_VALUE, (long) Math.max(1, quantum) << Math.max(0, levels)));
    }

    public MlfqPolicy(int quantum, int levels, int boostInterval) {
        if (quantum < 1) throw new IllegalArgumentException("mlfq quantum must be >= 1 decode step, got " + quantum);
        if (levels < 1 || levels > 16) throw new IllegalArgumentException("mlfq levels must be 1..16, got " + levels);
        if (boostInterval < 1) throw new IllegalArgumentException("mlfq boost interval must be >= 1 step, got " + boostInterval);
        this.quantum = quantum;
        this.levels = levels;
        this.boostInterval = boostInterval;
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

    /** Steps between two boosts to level 0. */
    public int boostInterval() {
        return boostInterval;
    }

    @Override
    public boolean beforeStep(Collection<Sequence> running, Collection<Sequence> waiting) {
        if (++stepsSinceBoost < boostInterval) return false;
        stepsSinceBoost = 0;
        for (Sequence s : running) s.setPolicyState(0, 0);
        for (Sequence s : waiting) s.setPolicyState(0, 0);
        return true;
    }

    @Override
    public boolean onTokenGenerated(Sequence s) {
        int level = s.policyLevel();
        int steps = s.policySteps() + 1;
        if (steps >= quantum(level) && level < levels - 1) {
            s.setPolicyState(level + 1, 0);
            return true;
        }
        s.setPolicyState(level, steps);
        return false;
    }
}

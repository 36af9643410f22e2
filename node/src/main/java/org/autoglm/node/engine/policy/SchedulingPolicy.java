package org.autoglm.node.engine.policy;

import java.time.Duration;
import java.util.Collection;
import java.util.Comparator;
import java.util.Locale;
import org.autoglm.node.engine.scheduler.Sequence;

/**
 * Decides who goes first. The scheduler serves waiting and running sequences in {@link #order()}, and
 * when KV blocks run out it preempts the running sequence that comes last. The order of a waiting
 * sequence must not change while it waits (the waiting queue is a heap); a running one's may.
 */
public interface SchedulingPolicy {

    /** The name on the command line ({@code --scheduling-policy}). */
    String name();

    /** Service order: first is served first and preempted last. Ties must be broken (e.g. by id). */
    Comparator<Sequence> order();

    /**
     * Called once per step in which {@code sequence} produced a token.
     *
     * @return whether the sequence's place in {@link #order()} may have changed (mlfq: it dropped a level); the
     *     scheduler re-sorts its running list only then
     */
    default boolean onTokenGenerated(Sequence sequence) {
        return false;
    }

    /**
     * Called at the start of every step that plans work. A policy whose order changes with time (mlfq's periodic
     * boost) updates the sequences here and returns true; the scheduler then re-sorts its running list and rebuilds
     * its waiting queue.
     */
    default boolean beforeStep(Collection<Sequence> running, Collection<Sequence> waiting) {
        return false;
    }

    /** The names {@link #byName} knows. */
    String NAMES = "fcfs, priority, sjf, mlfq";

    /**
     * The policy called {@code name}.
     *
     * @param agingStep   priority: how long a request waits to gain one priority level; sjf: how long it waits
     *                    to make up for {@link ShortestJobFirstPolicy#AGING_TOKENS} tokens of expected length
     * @param mlfqQuantum mlfq: decode steps a sequence may use on level 0 before dropping a level (doubles per level)
     * @param mlfqLevels  mlfq: number of levels (every {@code mlfqQuantum << mlfqLevels} steps all return to level 0)
     */
    static SchedulingPolicy byName(String name, Duration agingStep, int mlfqQuantum, int mlfqLevels) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "fcfs" -> new FcfsPolicy();
            case "priority" -> new PriorityPolicy(agingStep);
            case "sjf" -> new ShortestJobFirstPolicy(agingStep);
            case "mlfq" -> new MlfqPolicy(mlfqQuantum, mlfqLevels);
            default -> throw new IllegalArgumentException(
                    "unknown scheduling policy '" + name + "'; use one of: " + NAMES);
        };
    }

    /**
     * Arrival order, then id: the tie-breaker every policy ends with. Comparators here are written out rather than
     * composed ({@code comparingLong(..).thenComparing(..)}): the scheduler sorts the running batch every step, and
     * the composed form cost about 35 ns a comparison in the scheduler benchmark.
     */
    Comparator<Sequence> ARRIVAL = SchedulingPolicy::byArrival;

    /** {@link #ARRIVAL} as a static method, for policies' own comparators to end with. */
    static int byArrival(Sequence a, Sequence b) {
        int c = Long.compare(a.arrivalNanos(), b.arrivalNanos());
        return c != 0 ? c : Long.compare(a.id(), b.id());
    }
}

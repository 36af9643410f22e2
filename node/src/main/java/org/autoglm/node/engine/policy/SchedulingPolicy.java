package org.autoglm.node.engine.policy;

import java.time.Duration;
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

    /** Called once per step in which {@code sequence} produced a token. */
    default void onTokenGenerated(Sequence sequence) {}

    /** The names {@link #byName} knows. */
    String NAMES = "fcfs, priority, sjf, mlfq";

    /**
     * The policy called {@code name}.
     *
     * @param agingStep   priority: how long a request waits to gain one priority level
     * @param mlfqQuantum mlfq: decode steps a sequence may use on level 0 before dropping a level (doubles per level)
     * @param mlfqLevels  mlfq: number of levels
     */
    static SchedulingPolicy byName(String name, Duration agingStep, int mlfqQuantum, int mlfqLevels) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "fcfs" -> new FcfsPolicy();
            case "priority" -> new PriorityPolicy(agingStep);
            case "sjf" -> new ShortestJobFirstPolicy();
            case "mlfq" -> new MlfqPolicy(mlfqQuantum, mlfqLevels);
            default -> throw new IllegalArgumentException(
                    "unknown scheduling policy '" + name + "'; use one of: " + NAMES);
        };
    }

    /** Arrival order, then id: the tie-breaker every policy ends with. */
    Comparator<Sequence> ARRIVAL =
            Comparator.comparingLong(Sequence::arrivalNanos).thenComparingLong(Sequence::id);
}

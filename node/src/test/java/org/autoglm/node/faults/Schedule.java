package org.autoglm.node.faults;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * One run's plan: how long the workload runs and which faults strike when, drawn from a seed so that a failing
 * schedule can be run again. Faults do not overlap: each is healed before the next starts, so a three-node cluster
 * always keeps a majority somewhere.
 */
public record Schedule(long seed, long workloadMillis, int clients, List<Step> steps, boolean leaderKillBurst) {

    enum Kind { KILL_LEADER, KILL_FOLLOWER, KILL_STREAM_NODE, PAUSE, RESTART, PARTITION, ONE_WAY_LOSS, LATENCY }

    /** A fault starting {@code atMillis} into the run, healed {@code forMillis} later. */
    record Step(long atMillis, Kind kind, long forMillis) {
        @Override
        public String toString() {
            return kind.name().toLowerCase() + "@" + atMillis + "ms/" + forMillis + "ms";
        }
    }

    /** The issue's case: 30 non-streaming completions sent to the followers at once, the leader killed 2 s later. */
    static Schedule leaderKill() {
        return leaderKill(0);
    }

    private static Schedule leaderKill(long seed) {
        // Down 2 s, as the other kills: the grid sees a killed process gone within about a second (its sockets close),
        // and its restart takes several seconds more; 4 s only made every build wait.
        return new Schedule(seed, 0, 0, List.of(new Step(2_000, Kind.KILL_LEADER, 2_000)), true);
    }

    /** The long run's schedule of {@code seed}: the issue's leader kill for seeds up to {@code leaderKills}, else random. */
    public static Schedule ofSeed(long seed, int leaderKills, int seconds) {
        return seed <= leaderKills ? leaderKill(seed) : random(seed, seconds);
    }

    /**
     * The short form for every build: one fault of {@code kind} 1.5 s into a 6 s workload of three clients, as short as
     * it can be and still be that fault (a pause outlasts failure detection by a second; a partition and one-way loss by
     * three, so that the grid drops a node, the majority goes on without it, and the node rejoins once it heals).
     */
    static Schedule brief(long seed, Kind kind) {
        long length = kind == Kind.PAUSE ? FaultHarness.failureDetectionMillis + 1_000
                : kind == Kind.PARTITION || kind == Kind.ONE_WAY_LOSS ? FaultHarness.failureDetectionMillis + 3_000
                : 2_000;
        return new Schedule(seed, 6_000, 3, List.of(new Step(1_500, kind, length)), false);
    }

    /**
     * The short form that every {@code mvn verify} runs: the issue's leader kill, a kill of the node a stream is attached
     * to, a pause of a node past failure detection, one-way loss past failure detection, and a minority partition past
     * failure detection.
     */
    static List<Schedule> shortForm() {
        return List.of(leaderKill(), brief(4, Kind.KILL_STREAM_NODE), brief(2, Kind.PAUSE), brief(3, Kind.ONE_WAY_LOSS),
                partition());
    }

    /** A minority partition that outlasts failure detection. */
    static Schedule partition() {
        return brief(1, Kind.PARTITION);
    }

    /** One to three faults of random kinds at random times in a workload of about {@code seconds}. */
    static Schedule random(long seed, int seconds) {
        Random random = new Random(seed);
        List<Step> steps = new ArrayList<>();
        long workload = seconds * 1_000L;
        int count = 1 + random.nextInt(3);
        long slot = workload / count;
        for (int i = 0; i < count; i++) {
            Kind kind = Kind.values()[random.nextInt(Kind.values().length)];
            long at = i * slot + 1_000 + random.nextInt((int) Math.max(1, slot / 3));
            // Pauses outlast failure detection, so that the grid drops the paused node.
            long length = kind == Kind.PAUSE ? FaultHarness.failureDetectionMillis + 2_000 + random.nextInt(4_000)
                    : Math.min(2_000 + random.nextInt(4_000), Math.max(1_500, slot - (at - i * slot) - 500));
            steps.add(new Step(at, kind, length));
        }
        return new Schedule(seed, workload, 4 + random.nextInt(4), steps, false);
    }

    @Override
    public String toString() {
        return leaderKillBurst ? (seed > 0 ? "seed " + seed + ": " : "") + "leader kill (30 completions to the followers, kill -9 of the leader at 2 s)"
                : "seed " + seed + ": " + clients + " clients for " + workloadMillis / 1000 + " s, faults " + steps;
    }
}

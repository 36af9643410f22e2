package org.autoglm.node.faults;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * What a fault-injection run saw: every request sent (to which node, when, what came back, token by token for
 * streams), every session's acknowledged turns, every leader claim polled from every node, and the faults with their
 * windows. Times are milliseconds since the run started, on the harness's clock.
 */
final class History {

    /** How a request ended for its client. */
    enum Outcome {
        /** 200 with the whole answer. */
        COMPLETED,
        /** Accepted (200 or a stream started), then an explicit error. */
        ERROR,
        /** Refused at the door (429, 503): never accepted. */
        REFUSED,
        /** The connection broke or timed out: no answer either way. */
        CUT_OFF
    }

    /** One request and everything its client saw. */
    static final class Request {
        final int number;
        final String kind;
        final int node;
        final String referenceKey;
        final long sentAt;
        volatile long endedAt = -1;
        volatile Outcome outcome;
        final StringBuffer text = new StringBuffer();
        final List<String> deltas = new CopyOnWriteArrayList<>();
        volatile int finishes;
        volatile String finishReason;
        volatile String error;
        volatile int completionTokens = -1;

        Request(int number, String kind, int node, String referenceKey, long sentAt) {
            this.number = number;
            this.kind = kind;
            this.node = node;
            this.referenceKey = referenceKey;
            this.sentAt = sentAt;
        }

        @Override
        public String toString() {
            return "#" + number + " " + kind + " to n" + node + " [" + sentAt + ".." + endedAt + " ms] " + outcome
                    + (error == null ? "" : " (" + error + ")") + ", finish " + finishReason + ", "
                    + completionTokens + " tokens";
        }
    }

    /** One session: the turns whose answers the client got (and whether a turn ended without an answer). */
    static final class Session {
        final String id;
        final int node;
        final List<String> acknowledged = new CopyOnWriteArrayList<>();
        volatile String unacknowledged;

        Session(String id, int node) {
            this.id = id;
            this.node = node;
        }
    }

    /** A fault and the nodes it cut off from the majority (they may answer with errors meanwhile). */
    record Fault(String description, List<Integer> cutOff, long startedAt, long endedAt) {}

    final List<Request> requests = new CopyOnWriteArrayList<>();
    final List<Session> sessions = new CopyOnWriteArrayList<>();
    final List<Fault> faults = new CopyOnWriteArrayList<>();
    /** term to the set of node names that some node reported as its leader. */
    final Map<Long, java.util.Set<String>> leadersByTerm = new ConcurrentHashMap<>();
    final long startNanos = System.nanoTime();
    /** The wall clock at the start, to find a run's moments in the nodes' logs. */
    final java.time.LocalTime startedAt = java.time.LocalTime.now();

    long now() {
        return (System.nanoTime() - startNanos) / 1_000_000;
    }

    /** Leader claims ({@code self: true}) made after a higher term was already seen: zombie leaders. */
    final List<String> staleClaims = new CopyOnWriteArrayList<>();
    /** What a partition longer than failure detection did not do (the minority kept serving, the majority stopped). */
    final List<String> partitionFindings = new CopyOnWriteArrayList<>();
    private final java.util.concurrent.atomic.AtomicLong highestTerm = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.Set<String> staleReported = ConcurrentHashMap.newKeySet();

    void leaderSeen(long term, String name, boolean self, String reporter) {
        leadersByTerm.computeIfAbsent(term, t -> ConcurrentHashMap.newKeySet()).add(name);
        long highest = highestTerm.accumulateAndGet(term, Math::max);
        if (self && term < highest && staleReported.add(reporter + "/" + term)) { // once per node and term
            staleClaims.add(reporter + " claimed to lead in term " + term + " at " + now() + " ms, after term "
                    + highest + " was seen");
        }
    }

    /** True when {@code node} was cut off from the majority at some moment of [from, to]. */
    boolean cutOffDuring(int node, long from, long to) {
        for (Fault f : faults) {
            long end = f.endedAt() < 0 ? Long.MAX_VALUE : f.endedAt();
            if (f.cutOff().contains(node) && f.startedAt() <= to && end >= from) {
                return true;
            }
        }
        return false;
    }

    List<Request> ended(Outcome outcome) {
        List<Request> out = new ArrayList<>();
        for (Request r : requests) {
            if (r.outcome == outcome) {
                out.add(r);
            }
        }
        return out;
    }
}

package org.autoglm.node.batch;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.autoglm.gossip.batch.BatchJob;
import org.autoglm.gossip.batch.LineChunk;
import org.autoglm.gossip.batch.LineResult;
import org.autoglm.node.api.BatchLines;

/** A chunk of batch lines this node runs ({@link BatchPuller}): its lines' executions and how they ended. */
final class PulledChunk {
    final LineChunk chunk;
    final BatchJob job;
    final Map<Integer, BatchLines.Execution> running = new ConcurrentHashMap<>();
    /** Lines submitted and not yet settled or dropped: each holds one place of the node's lines in flight. */
    final Set<Integer> live = ConcurrentHashMap.newKeySet();
    final AtomicInteger outstanding = new AtomicInteger();
    final AtomicInteger succeeded = new AtomicInteger();
    final AtomicInteger failed = new AtomicInteger();
    /** Outcomes not yet stored, by line (touched on the outcome thread only), and since when the oldest waits. */
    final Map<Integer, LineResult> unstored = new HashMap<>();
    long unstoredSinceMillis;
    /** When a line of it last started or ended here (its lines' tokens are in their executions). */
    volatile long movedAtMillis = System.currentTimeMillis();
    volatile boolean dropped;
    /** The node's lines in flight, shared by its chunks. */
    private final AtomicInteger inFlight;

    PulledChunk(LineChunk chunk, BatchJob job, AtomicInteger inFlight) {
        this.chunk = chunk;
        this.job = job;
        this.inFlight = inFlight;
    }

    /** When a line of it last started, ended or had a token: a chunk that moves is not stuck. */
    long lastMovedMillis() {
        return running.values().stream().mapToLong(BatchLines.Execution::movedAtMillis).reduce(movedAtMillis, Math::max);
    }

    /**
     * Stops its lines here. A cancelled line reports nothing, so its place among the node's lines in flight is given
     * back now (whoever takes a line out of {@code live} gives it back, once).
     */
    void drop() {
        dropped = true;
        running.values().forEach(BatchLines.Execution::cancel);
        for (Integer number : List.copyOf(live)) {
            if (live.remove(number)) {
                inFlight.decrementAndGet();
            }
        }
    }
}

package org.autoglm.gossip.batch;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.autoglm.gossip.placement.PrefixSummary;

/**
 * Which open chunk of batch lines a node with room takes next. Every node applies the same rule, so it is the cluster's
 * order between batches, as the leader's {@code QueueOrder} is for queued requests:
 * <ol>
 *   <li>lower {@code priority} first (a chunk has its lines' best);</li>
 *   <li>weighted fair share between users: the user with the fewest chunks running, over the user's weight, first,
 *       so one user's big batch cannot starve another's; among equals, the user this node served least recently
 *       (a node with room for one chunk at a time alternates between users instead of running the oldest batch
 *       through);</li>
 *   <li>cache-aware placement: a chunk whose prompts' prefix this node holds before one it does not; a chunk whose
 *       prefix another live node holds better is left to that node for {@link #AFFINITY_GRACE_MILLIS} after it
 *       opened. Nodes only take chunks while their engine has room, so a busy node never draws more work by its
 *       cache (SGLang's "death spiral"): when it stays busy past the grace, any node takes the chunk;</li>
 *   <li>the earliest opened.</li>
 * </ol>
 * Plain code, tested alone.
 */
public final class ChunkOrder {

    /** How long a chunk waits for the node that holds its prefix before any node with room takes it. */
    public static final long AFFINITY_GRACE_MILLIS = 1_500;

    private final Map<String, Double> weights;

    /** @param weights share of each user (JWT subject); absent users weigh 1 */
    public ChunkOrder(Map<String, Double> weights) {
        this.weights = Map.copyOf(weights);
    }

    public ChunkOrder() {
        this(Map.of());
    }

    /**
     * @param free        chunks nobody runs
     * @param running     chunks running on live nodes, per user
     * @param self        the node choosing
     * @param summaries   the prefix summary each live node published (this node's included); nodes without one absent
     * @param lastServed  when this node last took a chunk of each user (a sequence number or time; absent: never)
     * @param nowMillis   wall clock now
     * @return the chunks of {@code free} this node may claim now, in the order it should try them (a chunk left to
     *         the node that holds its prefix is not among them)
     */
    public List<LineChunk> order(List<LineChunk> free, Map<String, Integer> running, UUID self,
                                 Map<UUID, PrefixSummary> summaries, Map<String, Long> lastServed, long nowMillis) {
        Map<LineChunk, Double> share = new HashMap<>();
        Map<LineChunk, Integer> hitsHere = new HashMap<>();
        PrefixSummary mine = summaries.get(self);
        List<LineChunk> out = new ArrayList<>();
        for (LineChunk c : free) {
            String user = userOf(c);
            share.put(c, running.getOrDefault(user, 0) / weights.getOrDefault(user, 1.0));
            long[] prefix = c.prefix();
            int here = mine == null || prefix.length == 0 ? 0 : mine.leadingHits(prefix);
            int elsewhere = 0;
            if (prefix.length > 0 && nowMillis - c.openedAtMillis() < AFFINITY_GRACE_MILLIS) {
                for (Map.Entry<UUID, PrefixSummary> e : summaries.entrySet()) {
                    if (!e.getKey().equals(self)) {
                        elsewhere = Math.max(elsewhere, e.getValue().leadingHits(prefix));
                    }
                }
            }
            if (elsewhere > here) {
                continue; // its node takes it when it has room, unless the grace runs out first
            }
            hitsHere.put(c, here);
            out.add(c);
        }
        out.sort(Comparator.comparingInt(LineChunk::priority)
                .thenComparingDouble(share::get)
                .thenComparingLong(c -> lastServed.getOrDefault(userOf(c), Long.MIN_VALUE))
                .thenComparing(c -> -hitsHere.get(c))
                .thenComparingLong(LineChunk::openedAtMillis)
                .thenComparing(LineChunk::batchId)
                .thenComparingInt(LineChunk::index));
        return out;
    }

    /** Chunks of unnamed owners share one user's share. */
    public static String userOf(LineChunk c) {
        return c.user() == null ? "" : c.user();
    }
}

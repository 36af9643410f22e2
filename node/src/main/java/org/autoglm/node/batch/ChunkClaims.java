package org.autoglm.node.batch;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.batch.ChunkOrder;
import org.autoglm.gossip.batch.LineChunk;
import org.autoglm.gossip.batch.LineChunks;
import org.autoglm.gossip.placement.PrefixSummary;
import org.autoglm.gossip.registry.NodeView;
import org.autoglm.node.api.JsonBody;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which chunk of batch lines this node takes next, and taking it: the best chunk nobody runs (or whose node is gone)
 * whose {@code required_tags} this node has, in the cluster's order between batches ({@link ChunkOrder}: priority, fair
 * share between users, the prefix this node holds, age).
 */
final class ChunkClaims {

    private static final Logger log = LoggerFactory.getLogger(ChunkClaims.class);

    private final Cluster cluster;
    /** Where {@code request_failed_over} events go (the cluster's event stream). */
    private final BiConsumer<String, ObjectNode> events;
    private final ChunkOrder order = new ChunkOrder();
    /** When (in claims made here) this node last took a chunk of each user: ties of fair share alternate users. */
    private final Map<String, Long> lastServed = new ConcurrentHashMap<>();
    private final AtomicLong claims = new AtomicLong();

    ChunkClaims(Cluster cluster, BiConsumer<String, ObjectNode> events) {
        this.cluster = cluster;
        this.events = events;
    }

    /** Claims the best chunk for this node (one transaction); null when there was none. */
    LineChunk claimNext() {
        LineChunks chunks = cluster.batches().chunks();
        Set<UUID> alive = new HashSet<>(cluster.grid().serverNodeIds());
        Map<String, Integer> runningByUser = new HashMap<>();
        List<LineChunk> free = new ArrayList<>();
        List<String> tags = cluster.registry().self().tags();
        for (LineChunk c : chunks.unfinished()) {
            if (c.owner() != null && alive.contains(c.owner())) {
                runningByUser.merge(ChunkOrder.userOf(c), 1, Integer::sum);
            } else if (tags.containsAll(c.requiredTags())) { // the others wait for a node with their tags
                free.add(c);
            }
        }
        if (free.isEmpty()) {
            return null;
        }
        UUID self = cluster.grid().localId();
        for (LineChunk candidate : order.order(free, runningByUser, self, prefixSummaries(alive), lastServed,
                System.currentTimeMillis())) {
            LineChunk mine = chunks.claim(candidate.key(), self, alive);
            if (mine != null) {
                lastServed.put(ChunkOrder.userOf(mine), claims.incrementAndGet());
                if (candidate.owner() != null) {
                    failedOver(mine, candidate.owner());
                }
                return mine;
            }
        }
        return null;
    }

    /** The prefix summaries the live nodes published; none with {@code --no-cache-aware-placement} (load only). */
    private Map<UUID, PrefixSummary> prefixSummaries(Set<UUID> alive) {
        Map<UUID, PrefixSummary> summaries = new HashMap<>();
        if (cluster.grid().config().cacheAwarePlacement) {
            for (NodeView node : cluster.registry().nodes()) {
                if (alive.contains(node.id()) && node.load() != null && node.load().prefix() != null) {
                    summaries.put(node.id(), node.load().prefix());
                }
            }
        }
        return summaries;
    }

    /** A {@code request_failed_over} event: the chunk's lines move here from a node that died running them. */
    private void failedOver(LineChunk chunk, UUID from) {
        String name = cluster.nameOf(from);
        ObjectNode data = JsonBody.MAPPER.createObjectNode().put("request_id", chunk.key())
                .put("batch_id", chunk.batchId()).put("lines", chunk.size()).put("from", name)
                .put("reason", "node " + name + " left the cluster while running these batch lines");
        try {
            events.accept("request_failed_over", data);
        } catch (RuntimeException e) {
            log.debug("{}: failover event not sent: {}", chunk, e.toString());
        }
    }
}

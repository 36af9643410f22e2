package org.autoglm.gossip.placement;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.gossip.registry.NodeHealth;
import org.autoglm.gossip.registry.NodeLoad;
import org.autoglm.gossip.registry.NodeView;

/**
 * Where a request should run. Only healthy, non-draining nodes serving the request's model with all its required
 * tags and with a free admission slot are candidates. A session's turns go to the node chosen by consistent hashing over the candidates (it holds
 * the session's prefix blocks) unless that node is short of KV memory or its expected wait is far above the best;
 * otherwise the node with the lowest expected wait (queued tokens / recent throughput) among those with KV headroom
 * wins, or, cache-aware, the one holding the longest prefix of the prompt among those whose wait stays within a bound of
 * the best (a node's wait then leaves out the prompt tokens it holds). Plain code over registry snapshots: the leader's loop calls it, tests call it directly.
 */
public final class Placement {

    /**
     * Options, with their defaults.
     *
     * @param unmeasuredTokensPerSecond the generation speed assumed for a node that reports none (new or idle) when
     *                                  no candidate reports one either; otherwise such a node is assumed as fast as the
     *                                  median candidate that does
     */
    public record Options(double maxKvUsage, double affinityOverloadFactor, double affinitySlackSeconds,
                          double unmeasuredTokensPerSecond) {
        /** KV above 90 % is no headroom; affinity holds unless the node waits 2x the best plus 1 s. */
        public static final Options DEFAULT = new Options(0.90, 2.0, 1.0, 100.0);
    }

    /** The outcome: a node, or none, and the reason in words (logged at debug). */
    public record Decision(UUID node, String nodeName, String reason) {
        public boolean placed() {
            return node != null;
        }
    }

    private final Options options;
    private final boolean cacheAware;

    /** @param cacheAware weigh where a prompt's prefix is cached (within the load bound of session affinity) */
    public Placement(Options options, boolean cacheAware) {
        this.options = options;
        this.cacheAware = cacheAware;
    }

    public Placement(Options options) {
        this(options, true);
    }

    public Placement() {
        this(Options.DEFAULT);
    }

    /**
     * @param nodes           the registry as this node sees it
     * @param assignedTokens  tokens assigned to each node since its last heartbeat (not yet in its reported load)
     */
    public Decision place(QueuedRequest request, List<NodeView> nodes, Map<UUID, Long> assignedTokens) {
        return place(request, nodes, assignedTokens, Map.of());
    }

    /**
     * @param nodes            the registry as this node sees it
     * @param assignedTokens   tokens assigned to each node since its last heartbeat (not yet in its reported load)
     * @param assignedRequests requests assigned to each node since its last heartbeat (not yet in its free slots)
     */
    public Decision place(QueuedRequest request, List<NodeView> nodes, Map<UUID, Long> assignedTokens,
                          Map<UUID, Integer> assignedRequests) {
        return place(request, nodes, assignedTokens, assignedRequests, null);
    }

    /**
     * @param nodes            the registry as this node sees it
     * @param assignedTokens   tokens assigned to each node since its last heartbeat (not yet in its reported load)
     * @param assignedRequests requests assigned to each node since its last heartbeat (not yet in its free slots)
     * @param recent           prefixes placed lately, which the nodes' summaries may not show yet; null for none.
     *                         The caller records there what it assigns.
     */
    public Decision place(QueuedRequest request, List<NodeView> nodes, Map<UUID, Long> assignedTokens,
                          Map<UUID, Integer> assignedRequests, RecentPlacements recent) {
        List<NodeView> candidates = new ArrayList<>();
        List<String> refused = new ArrayList<>();
        for (NodeView node : nodes) {
            String why = unfit(request, node, assignedRequests.getOrDefault(node.id(), 0));
            if (why == null) {
                candidates.add(node);
            } else {
                refused.add(node.name() + ": " + why);
            }
        }
        if (candidates.isEmpty()) {
            return new Decision(null, null, "no node can take it (model " + request.model() + ", tags "
                    + request.requiredTags() + "): " + (refused.isEmpty() ? "no nodes" : String.join("; ", refused)));
        }
        List<NodeView> roomy = candidates.stream().filter(n -> n.load().kvUsage() < options.maxKvUsage()).toList();
        List<NodeView> pool = roomy.isEmpty() ? candidates : roomy;
        double assumedSpeed = assumedTokensPerSecond(candidates);
        // Cache-aware, a node's cost for this request leaves out the prompt tokens it probably holds (Dynamo and llm-d
        // score the prefill a node would still have to do): a warm node with a short queue beats an idle cold one.
        boolean byPrefix = cacheAware && request.sessionId() == null && request.prefixHashes().length > 0;
        long now = System.currentTimeMillis();
        Map<UUID, Integer> hits = new java.util.HashMap<>();
        for (NodeView n : byPrefix ? pool : List.<NodeView>of()) {
            hits.put(n.id(), leadingHits(n, request.prefixHashes(), recent, now));
        }
        java.util.function.ToDoubleFunction<NodeView> wait = n -> waitSeconds(n, request, assignedTokens, assumedSpeed,
                cachedPromptTokens(request, hits.getOrDefault(n.id(), 0)));
        NodeView best = pool.stream()
                .min(Comparator.comparingDouble(wait).thenComparing(NodeView::name))
                .orElseThrow();
        double bestWait = wait.applyAsDouble(best);

        if (request.sessionId() != null) {
            UUID owner = RendezvousHash.owner(request.sessionId(), candidates.stream().map(NodeView::id).toList());
            NodeView home = candidates.stream().filter(n -> n.id().equals(owner)).findFirst().orElseThrow();
            double homeWait = waitSeconds(home, request, assignedTokens, assumedSpeed);
            boolean roomyHome = home.load().kvUsage() < options.maxKvUsage();
            if (roomyHome && homeWait <= bestWait * options.affinityOverloadFactor() + options.affinitySlackSeconds()) {
                return new Decision(home.id(), home.name(), "session " + request.sessionId() + " lives on "
                        + home.name() + " (expected wait " + seconds(homeWait) + ", best " + seconds(bestWait) + ")");
            }
            return new Decision(best.id(), best.name(), "session " + request.sessionId() + " moved off "
                    + home.name() + " (" + (roomyHome ? "expected wait " + seconds(homeWait) : "KV "
                    + percent(home.load().kvUsage())) + "); " + describe(best, bestWait));
        }
        if (byPrefix) {
            PrefixAffinity.Choice cached = PrefixAffinity.choose(pool, n -> hits.getOrDefault(n.id(), 0), wait,
                    bestWait * options.affinityOverloadFactor() + options.affinitySlackSeconds());
            if (cached != null) {
                return new Decision(cached.node().id(), cached.node().name(), cached.hits() + " of "
                        + request.prefixHashes().length + " prompt blocks cached on " + cached.node().name()
                        + " (expected wait " + seconds(cached.waitSeconds()) + ", best " + seconds(bestWait) + ")");
            }
        }
        return new Decision(best.id(), best.name(), describe(best, bestWait)
                + (roomy.isEmpty() ? "; no node has KV headroom" : ""));
    }

    /**
     * Why no node could ever take {@code request}, or null when one could, now or once it has room or answers again.
     * {@code nodes} are the registry's nodes still in the grid (a late heartbeat is no reason: a starved machine's
     * heartbeats run late); a node counts unless it is draining, serves another model or lacks a required tag. With no
     * node in view at all nothing can be judged, and the request waits. The client's node fails a request that waited
     * past the placement timeout only for such a reason, never because placement is slow.
     */
    public static String unservable(QueuedRequest request, List<NodeView> nodes) {
        if (nodes.isEmpty()) {
            return null;
        }
        List<String> refused = new ArrayList<>();
        for (NodeView node : nodes) {
            String why = node.draining() ? "draining"
                    : node.info().model() != null && request.model() != null && !request.model().equals(node.info().model())
                    ? "serves " + node.info().model()
                    : !node.info().tags().containsAll(request.requiredTags()) ? "tags " + node.info().tags() : null;
            if (why == null) {
                return null;
            }
            refused.add(node.name() + ": " + why);
        }
        return "no node serves model " + request.model() + " with tags " + request.requiredTags() + " ("
                + String.join("; ", refused) + ")";
    }

    /** Why a node cannot take the request, or null if it can. */
    private static String unfit(QueuedRequest request, NodeView node, int assignedSinceHeartbeat) {
        if (node.health() != NodeHealth.HEALTHY) {
            return node.health().wire();
        }
        if (node.draining()) {
            return "draining";
        }
        if (node.info().model() == null) {
            return "no model loaded yet";
        }
        if (request.model() != null && !request.model().equals(node.info().model())) {
            return "serves " + node.info().model();
        }
        if (!node.info().tags().containsAll(request.requiredTags())) {
            return "tags " + node.info().tags();
        }
        int free = node.load().freeSlots();
        if (free != NodeLoad.UNBOUNDED && free - assignedSinceHeartbeat <= 0) {
            return "full (" + free + " free slots, " + assignedSinceHeartbeat + " just assigned)";
        }
        return null;
    }

    /** The prompt tokens {@code hits} leading blocks of the request's prefix chain stand for. */
    private static double cachedPromptTokens(QueuedRequest request, int hits) {
        return hits == 0 ? 0 : (double) request.promptTokens() * hits / request.prefixHashes().length;
    }

    private static double speed(NodeView node, double assumedSpeed) {
        double speed = node.load().tokensPerSecond();
        return speed > 0 ? speed : assumedSpeed;
    }

    /** Leading blocks of {@code chain} that {@code node}'s summary shows or that were placed on it lately. */
    private static int leadingHits(NodeView node, long[] chain, RecentPlacements recent, long nowMillis) {
        PrefixSummary summary = node.load().prefix();
        int n = 0;
        while (n < chain.length && ((summary != null && summary.mightContain(chain[n]))
                || (recent != null && recent.holds(node.id(), chain[n], nowMillis)))) {
            n++;
        }
        return n;
    }

    /**
     * Queued tokens over generation speed. A node that reports no speed (new, or idle long enough for its recent
     * throughput to fall to 0) is not assumed slow: a floor of 1 tok/s made a few tokens assigned between two
     * heartbeats look like seconds of wait, which moved sessions off idle nodes and kept work off new ones.
     */
    private static double waitSeconds(NodeView node, QueuedRequest request, Map<UUID, Long> assignedTokens,
                                      double assumedSpeed) {
        return waitSeconds(node, request, assignedTokens, assumedSpeed, 0);
    }

    /** @param cachedTokens prompt tokens of the request the node probably holds: work it will not do */
    private static double waitSeconds(NodeView node, QueuedRequest request, Map<UUID, Long> assignedTokens,
                                      double assumedSpeed, double cachedTokens) {
        double queued = node.load().queuedTokens() + assignedTokens.getOrDefault(node.id(), 0L) + request.expectedTokens()
                - cachedTokens;
        double wait = queued / speed(node, assumedSpeed);
        return node.load().anomalous() ? wait * ANOMALY_PENALTY : wait;
    }

    /**
     * An anomalous node (beyond its own 3σ baselines) looks this many times busier: it still takes work when the
     * others are far busier, but an equal peer is preferred.
     */
    static final double ANOMALY_PENALTY = 4.0;

    /** The speed assumed for candidates that report none: the median of those that do, or the configured default. */
    private double assumedTokensPerSecond(List<NodeView> candidates) {
        double[] measured = candidates.stream().mapToDouble(n -> n.load().tokensPerSecond()).filter(t -> t > 0).sorted().toArray();
        return measured.length == 0 ? options.unmeasuredTokensPerSecond() : measured[measured.length / 2];
    }

    private static String describe(NodeView node, double wait) {
        return "least expected wait on " + node.name() + ": " + seconds(wait) + " (" + node.load().queuedTokens()
                + " tokens queued at " + Math.round(node.load().tokensPerSecond()) + " tok/s, KV "
                + percent(node.load().kvUsage()) + ")";
    }

    private static String seconds(double s) {
        return String.format(java.util.Locale.ROOT, "%.2f s", s);
    }

    private static String percent(double fraction) {
        return Math.round(fraction * 100) + " %";
    }
}

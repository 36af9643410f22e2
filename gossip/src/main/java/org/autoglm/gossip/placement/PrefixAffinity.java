package org.autoglm.gossip.placement;

import java.util.List;
import java.util.function.ToDoubleFunction;
import java.util.function.ToIntFunction;
import org.autoglm.gossip.registry.NodeView;

/**
 * Cache-aware placement (as Dynamo, llm-d and SGLang's router do): among the nodes whose expected wait stays within a
 * bound of the best, the one whose prefix summary says it holds the most leading blocks of the prompt. The bound is
 * what keeps SGLang's "death spiral" away: a busy node's cache never draws more work onto it than its load allows.
 */
final class PrefixAffinity {

    /** The node chosen and how many leading blocks it probably holds. */
    record Choice(NodeView node, int hits, double waitSeconds) {}

    private PrefixAffinity() {}

    /**
     * @param pool        nodes that may take the request
     * @param leadingHits leading blocks of the prompt each node probably holds
     * @param wait        expected wait of each node, seconds
     * @param maxWait     nodes waiting longer are not considered, whatever they hold
     * @return the node with the longest cached prefix (least wait among equals), or null when none holds any
     */
    static Choice choose(List<NodeView> pool, ToIntFunction<NodeView> leadingHits, ToDoubleFunction<NodeView> wait,
                         double maxWait) {
        Choice best = null;
        for (NodeView node : pool) {
            double w = wait.applyAsDouble(node);
            if (w > maxWait) {
                continue;
            }
            int hits = leadingHits.applyAsInt(node);
            if (hits > 0 && (best == null || hits > best.hits() || (hits == best.hits() && w < best.waitSeconds()))) {
                best = new Choice(node, hits, w);
            }
        }
        return best;
    }
}

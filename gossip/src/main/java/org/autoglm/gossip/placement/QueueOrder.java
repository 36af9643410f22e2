package org.autoglm.gossip.placement;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.autoglm.gossip.queue.QueuedRequest;

/**
 * The order in which the leader places waiting requests, cluster-wide: interactive before batch, then lower
 * {@code priority} first, then weighted fair share between users: each user's requests are spaced out by how much
 * that user already has placed and running, divided by the user's weight, so one user's flood is interleaved with
 * everyone else's work instead of standing in front of it. Oldest first among equals. Plain code, tested alone.
 */
public final class QueueOrder {

    private final Map<String, Double> weights;

    /** @param weights share of each user (JWT subject); absent users weigh 1 */
    public QueueOrder(Map<String, Double> weights) {
        this.weights = Map.copyOf(weights);
    }

    public QueueOrder() {
        this(Map.of());
    }

    /**
     * @param pending the requests to place
     * @param active  requests placed and not finished, per user (their share already in use)
     * @return {@code pending} in placement order
     */
    public List<QueuedRequest> order(List<QueuedRequest> pending, Map<String, Integer> active) {
        List<QueuedRequest> byAge = new ArrayList<>(pending);
        byAge.sort(Comparator.comparingLong(QueuedRequest::enqueuedAtMillis).thenComparing(QueuedRequest::id));
        // A request's virtual start: the user's work ahead of it (running, then its own earlier requests of the same
        // class and priority) over the user's weight.
        Map<String, Integer> seen = new HashMap<>();
        Map<QueuedRequest, Double> start = new HashMap<>();
        for (QueuedRequest r : byAge) {
            String user = userOf(r);
            String group = r.batch() + "/" + r.priority() + "/" + user;
            int ahead = active.getOrDefault(user, 0) + seen.merge(group, 1, Integer::sum) - 1;
            start.put(r, ahead / weights.getOrDefault(user, 1.0));
        }
        Comparator<QueuedRequest> order = Comparator.comparing(QueuedRequest::batch)
                .thenComparingInt(QueuedRequest::priority)
                .thenComparingDouble(start::get)
                .thenComparingLong(QueuedRequest::enqueuedAtMillis)
                .thenComparing(QueuedRequest::id);
        byAge.sort(order);
        return byAge;
    }

    /** Requests of unnamed senders share one user's share. */
    public static String userOf(QueuedRequest r) {
        return r.user() == null ? "" : r.user();
    }
}

package org.autoglm.node.api;

import java.util.List;
import java.util.Set;

/**
 * The requests this node answers (it received them, wherever they run), for the cluster's {@code cancel} command:
 * each request has exactly one receiving node, so every node cancelling its own matches covers the cluster.
 */
public final class RequestDirectory {

    /** What a cancel command matches on; null fields match anything. */
    public record Filter(String user, String model, Integer priority, Set<String> ids) {
        boolean matches(InFlight.Entry e) {
            return (user == null || user.equals(e.subject())) && (model == null || model.equals(e.model()))
                    && (priority == null || priority == e.priority()) && (ids == null || ids.contains(e.id()));
        }
    }

    private final InFlight inFlight;

    RequestDirectory(InFlight inFlight) {
        this.inFlight = inFlight;
    }

    /** Cancels every matching request; returns their ids. */
    public List<String> cancel(Filter filter) {
        return inFlight.list().stream().filter(filter::matches).filter(e -> inFlight.cancel(e.id()))
                .map(InFlight.Entry::id).toList();
    }

    /** Ids of the matching requests. */
    public List<String> find(Filter filter) {
        return inFlight.list().stream().filter(filter::matches).map(InFlight.Entry::id).toList();
    }
}

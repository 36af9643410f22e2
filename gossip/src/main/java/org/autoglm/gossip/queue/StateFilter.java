package org.autoglm.gossip.queue;

import java.util.UUID;
import javax.cache.event.CacheEntryEvent;
import org.apache.ignite.cache.CacheEntryEventSerializableFilter;
import org.apache.ignite.lang.IgniteBiPredicate;

/** Runs where the data lives: keeps entries in one state, optionally only those of one assignee or origin. */
final class StateFilter implements IgniteBiPredicate<String, QueuedRequest>,
        CacheEntryEventSerializableFilter<String, QueuedRequest> {

    private static final long serialVersionUID = 1L;

    private final RequestState state;
    private final UUID assignee;
    private final UUID origin;

    StateFilter(RequestState state, UUID assignee, UUID origin) {
        this.state = state;
        this.assignee = assignee;
        this.origin = origin;
    }

    @Override
    public boolean apply(String key, QueuedRequest request) {
        return request != null
                && (state == null || request.state() == state)
                && (assignee == null || assignee.equals(request.assignee()))
                && (origin == null || origin.equals(request.origin()));
    }

    @Override
    public boolean evaluate(CacheEntryEvent<? extends String, ? extends QueuedRequest> event) {
        return apply(event.getKey(), event.getValue());
    }
}

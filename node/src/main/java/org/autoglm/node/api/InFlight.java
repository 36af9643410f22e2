package org.autoglm.node.api;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The HTTP requests this node is answering now: the operator's queue view, and cancel by id. */
final class InFlight {

    /** One request being answered. */
    record Entry(String id, String subject, String route, String model, int choices, boolean stream,
            Instant receivedAt, GenerationRun run, int priority) {}

    private final Map<String, Entry> entries = new ConcurrentHashMap<>();

    void add(Entry e) {
        entries.put(e.id(), e);
    }

    void remove(String id) {
        entries.remove(id);
    }

    List<Entry> list() {
        return entries.values().stream().sorted(Comparator.comparing(Entry::receivedAt)).toList();
    }

    /** Cancels every choice of the request; false if it is not running here. */
    boolean cancel(String id) {
        Entry e = entries.get(id);
        if (e == null) {
            return false;
        }
        e.run().cancelAll();
        return true;
    }

    int size() {
        return entries.size();
    }
}

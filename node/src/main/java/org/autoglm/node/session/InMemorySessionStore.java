package org.autoglm.node.session;

import java.time.Clock;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/** Sessions in a map of this process; expired ones are dropped when touched and on every put. */
public final class InMemorySessionStore implements SessionStore {

    private final ConcurrentMap<String, Session> sessions = new ConcurrentHashMap<>();
    private final Clock clock;
    private volatile long nextSweepMillis;

    public InMemorySessionStore(Clock clock) {
        this.clock = clock;
    }

    public InMemorySessionStore() {
        this(Clock.systemUTC());
    }

    @Override
    public Optional<Session> get(String id) {
        Session touched = sessions.computeIfPresent(id, (k, s) -> s.expired(clock.instant()) ? null : s.touched(clock.instant()));
        return Optional.ofNullable(touched);
    }

    @Override
    public void put(Session session) {
        // Sweeping here (at most once a second) keeps the map bounded without a background thread.
        long now = clock.millis();
        if (now >= nextSweepMillis) {
            nextSweepMillis = now + 1000;
            sessions.values().removeIf(s -> s.expired(clock.instant()));
        }
        sessions.put(session.id(), session);
    }

    @Override
    public Optional<Session> update(String id, java.util.function.UnaryOperator<Session> change) {
        return Optional.ofNullable(sessions.computeIfPresent(id,
                (k, s) -> s.expired(clock.instant()) ? null : change.apply(s)));
    }

    @Override
    public boolean remove(String id) {
        return sessions.remove(id) != null;
    }

    @Override
    public int countOwnedBy(String owner) {
        java.time.Instant now = clock.instant();
        return (int) sessions.values().stream().filter(s -> s.owner().equals(owner) && !s.expired(now)).count();
    }

    public int size() {
        return sessions.size();
    }
}

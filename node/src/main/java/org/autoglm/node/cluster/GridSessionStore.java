package org.autoglm.node.cluster;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.Optional;
import org.autoglm.gossip.session.SessionCache;
import org.autoglm.node.session.Session;
import org.autoglm.node.session.SessionStore;

/**
 * Sessions in the grid's session cache, so any node serves any session's next turn and a session outlives the
 * node that created it. Each session expires after its own TTL of idleness (the cache's touched expiry).
 */
public final class GridSessionStore implements SessionStore {

    /** The current grid's session cache (a node that rejoins the cluster after a segmentation has a new one). */
    private final java.util.function.Supplier<SessionCache> caches;
    private final Clock clock;

    public GridSessionStore(java.util.function.Supplier<SessionCache> caches, Clock clock) {
        this.caches = caches;
        this.clock = clock;
    }

    public GridSessionStore(java.util.function.Supplier<SessionCache> caches) {
        this(caches, Clock.systemUTC());
    }

    public GridSessionStore(SessionCache cache) {
        this(() -> cache, Clock.systemUTC());
    }

    public GridSessionStore(SessionCache cache, Clock clock) {
        this(() -> cache, clock);
    }

    @Override
    public Optional<Session> get(String id) {
        // The cache's touched expiry is the idle timer; the record's lastUsedAt is refreshed for the caller only.
        return caches.get().get(id).map(GridSessionStore::decode).map(s -> s.touched(clock.instant()));
    }

    @Override
    public void put(Session session) {
        caches.get().put(session.id(), session.owner(), encode(session), session.ttl());
    }

    /** One grid transaction per update: a turn on another node waits for this one and then sees it. */
    @Override
    public Optional<Session> update(String id, java.util.function.UnaryOperator<Session> change) {
        return caches.get().update(id, data -> encode(change.apply(decode(data)))).map(GridSessionStore::decode);
    }

    @Override
    public boolean remove(String id) {
        return caches.get().remove(id);
    }

    @Override
    public int countOwnedBy(String owner) {
        return caches.get().countOwnedBy(owner);
    }

    /** Reads nothing but sessions, their messages and the JDK types they hold. */
    private static final ObjectInputFilter ONLY_SESSIONS = ObjectInputFilter.Config.createFilter(
            "org.autoglm.node.session.*;java.util.*;java.time.*;java.lang.*;maxdepth=10;!*");

    // Session and Message are Serializable records; Java serialization keeps them exact with no mapping code.
    private static byte[] encode(Session session) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(session);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store session " + session.id(), e);
        }
        return bytes.toByteArray();
    }

    private static Session decode(byte[] data) {
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(data))) {
            in.setObjectInputFilter(ONLY_SESSIONS);
            return (Session) in.readObject();
        } catch (IOException | ClassNotFoundException e) {
            throw new IllegalStateException("a session in the grid cannot be read (written by another version?)", e);
        }
    }
}

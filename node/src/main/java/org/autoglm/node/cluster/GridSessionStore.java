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
import java.util.function.Supplier;
import org.autoglm.gossip.session.SessionCache;
import org.autoglm.node.session.Session;
import org.autoglm.node.session.SessionStore;
import org.autoglm.node.session.StorageFullException;

/**
 * Sessions in the grid's session cache, so any node serves any session's next turn and a session outlives the
 * node that created it. Each session expires after its own TTL of idleness (the cache's touched expiry).
 */
public final class GridSessionStore implements SessionStore {

    /** The current grid's session cache (a node that rejoins the cluster after a segmentation has a new one). */
    private final Supplier<SessionCache> caches;
    private final Clock clock;
    private final Supplier<String> fullReason;

    /** @param fullReason null while the grid has room for a new session, else why not */
    public GridSessionStore(Supplier<SessionCache> caches, Clock clock, Supplier<String> fullReason) {
        this.caches = caches;
        this.clock = clock;
        this.fullReason = fullReason;
    }

    public GridSessionStore(SessionCache cache, Clock clock, Supplier<String> fullReason) {
        this(() -> cache, clock, fullReason);
    }

    public GridSessionStore(SessionCache cache, Clock clock) {
        this(cache, clock, () -> null);
    }

    public GridSessionStore(SessionCache cache) {
        this(cache, Clock.systemUTC());
    }

    @Override
    public Optional<Session> get(String id) {
        // The cache's touched expiry is the idle timer; the record's lastUsedAt is refreshed for the caller only.
        return caches.get().get(id).map(GridSessionStore::decode).map(s -> s.touched(clock.instant()));
    }

    /** A new session is refused while the grid's memory is past its high-water mark (a full region stops the node). */
    @Override
    public void put(Session session) {
        String full = fullReason.get();
        if (full != null) {
            throw new StorageFullException("No room for a new session: " + full + ". Delete sessions you no longer "
                    + "need (DELETE /v1/sessions/{id}) or retry later.");
        }
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

    /** Reads nothing but sessions, their messages (with their tool calls) and the JDK types they hold. */
    private static final ObjectInputFilter ONLY_SESSIONS = ObjectInputFilter.Config.createFilter(
            "org.autoglm.node.session.*;org.autoglm.models.chat.ToolCall;java.util.*;java.time.*;java.lang.*;maxdepth=10;!*");

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

package org.autoglm.node.session;

import java.util.Optional;

/**
 * Where sessions live. The single-node store keeps them in this process; the cluster keeps them in the
 * grid so that any node can serve a session's next turn. Implementations expire a session when it has been
 * idle for its TTL and must be safe for concurrent use.
 */
public interface SessionStore {

    /** The session, refreshing its idle timer; empty if unknown or expired. */
    Optional<Session> get(String id);

    /** Creates or replaces a session. */
    void put(Session session);

    /**
     * Replaces a session with {@code change(current)} atomically: concurrent updates of one session (two turns at
     * once, perhaps on two nodes) each see the other's result, none is lost. {@code change} may run more than once,
     * and may find its own earlier run already applied (a grid transaction reported failed that committed all the same),
     * so it must be idempotent ({@link Session#afterTurn} is, by the turn's request id).
     *
     * @return the new session, or empty (and nothing written) if it is unknown or expired
     */
    Optional<Session> update(String id, java.util.function.UnaryOperator<Session> change);

    /** Removes a session; false if there was none. */
    boolean remove(String id);

    /** Live sessions created by {@code owner} (what the per-user session limit counts). */
    int countOwnedBy(String owner);
}

package org.autoglm.gossip.grid;

import java.util.Set;
import org.apache.ignite.IgniteClientDisconnectedException;
import org.apache.ignite.IgniteIllegalStateException;
import org.apache.ignite.cluster.ClusterTopologyException;

/**
 * Recognises failures that mean "the grid cannot answer here right now", not "this code is wrong": the grid node is
 * stopping or stopped (a segmentation or a critical failure; the node rejoins on a fresh one), a node left the
 * topology under an operation, or the topology lost its majority. Callers answer those with 503 and a retry, not 500.
 */
public final class GridUnavailable {

    /** Ignite's internal exceptions of that kind, by simple name (their packages are not Ignite's public API). */
    private static final Set<String> INTERNAL = Set.of("NodeStoppingException", "CacheStoppedException",
            "ClusterTopologyCheckedException", "ClusterTopologyServerNotFoundException", "CacheInvalidStateException",
            "IgniteInterruptedException", "IgniteClientDisconnectedCheckedException");

    private GridUnavailable() {}

    /**
     * True when a node left under the operation ({@code e} or a cause is a topology exception: a lock's primary node
     * left, say): Ignite asks to retry, and a retry on the new topology usually succeeds.
     */
    public static boolean topologyChanged(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ClusterTopologyException || t.getClass().getSimpleName().equals("ClusterTopologyCheckedException")) {
                return true;
            }
        }
        return false;
    }

    /**
     * True when a transaction failed only because others held its locks or the topology moved under it: its lock wait
     * timed out (a transaction of a node cut off by a partition holds its keys until the partition heals or the node
     * is dropped), or it was rolled back because a node left. A transaction whose body can run again is tried again.
     */
    public static boolean contended(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof org.apache.ignite.transactions.TransactionTimeoutException
                    || t instanceof org.apache.ignite.transactions.TransactionRollbackException
                    || t.getClass().getSimpleName().equals("IgniteTxTimeoutCheckedException")) {
                return true;
            }
        }
        return topologyChanged(e);
    }

    /** The first cause in {@code e}'s chain that is a grid-unavailable failure, or null when there is none. */
    public static Throwable find(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ClusterTopologyException || t instanceof IgniteIllegalStateException
                    || t instanceof IgniteClientDisconnectedException || INTERNAL.contains(t.getClass().getSimpleName())) {
                return t;
            }
        }
        return null;
    }
}

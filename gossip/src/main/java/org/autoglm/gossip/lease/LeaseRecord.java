package org.autoglm.gossip.lease;

import java.io.Serializable;
import java.util.UUID;

/**
 * The one lease record: who leads, in which term. Every change goes through a transaction that reads it first,
 * so terms only grow and each term has at most one holder. A plain class: Ignite cannot marshal records.
 */
public final class LeaseRecord implements Serializable {

    private static final long serialVersionUID = 1L;

    private final long term;
    private final UUID holderId;
    private final String holderName;
    private final long expiresAtMillis;
    private final long renewals;
    private final boolean released;

    public LeaseRecord(long term, UUID holderId, String holderName, long expiresAtMillis, long renewals,
                       boolean released) {
        this.term = term;
        this.holderId = holderId;
        this.holderName = holderName;
        this.expiresAtMillis = expiresAtMillis;
        this.renewals = renewals;
        this.released = released;
    }

    /** Leadership term; grows by one with each new leader. */
    public long term() { return term; }
    public UUID holderId() { return holderId; }
    /** The leader's {@code --node-name}. */
    public String holderName() { return holderName; }
    /** Wall-clock expiry written by the holder, for display; safety uses each node's monotonic clock instead. */
    public long expiresAtMillis() { return expiresAtMillis; }
    /** Renewals in this term: every renewal is a visible change to observers. */
    public long renewals() { return renewals; }
    /** The holder gave the lease up (clean shutdown, lost majority): anyone may take it at once. */
    public boolean released() { return released; }

    LeaseRecord renewed(long expiresAt) {
        return new LeaseRecord(term, holderId, holderName, expiresAt, renewals + 1, false);
    }

    LeaseRecord release() {
        return new LeaseRecord(term, holderId, holderName, System.currentTimeMillis(), renewals + 1, true);
    }

    @Override
    public String toString() {
        return "lease(term " + term + ", " + holderName + (released ? ", released" : "") + ")";
    }
}

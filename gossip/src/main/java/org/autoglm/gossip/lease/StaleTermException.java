package org.autoglm.gossip.lease;

/** An action of a leader whose term is over: refused so a deposed leader can do no harm (fencing). */
public class StaleTermException extends RuntimeException {

    public StaleTermException(long term, long current) {
        super("term " + term + " is stale: the lease is in term " + current);
    }
}

package org.autoglm.gossip.queue;

/** Where a request is in the shared queue. */
public enum RequestState {
    /** Accepted by some node, waiting for the leader to place it (or to be placed again after a failure). */
    PENDING,
    /** Placed by the leader of {@code term} on {@code assignee}; not yet started there. */
    ASSIGNED,
    /** The assignee's engine is running it. */
    RUNNING,
    /** Its client got the whole answer. */
    DONE,
    /** Given up; {@code error} says why. */
    FAILED;

    public boolean finished() {
        return this == DONE || this == FAILED;
    }
}

package org.autoglm.gossip.dispatch;

/**
 * The executing node cannot take a request now (its engine's waiting queue is full), through no fault of the request:
 * it goes back to the queue for another node without using up one of its attempts.
 */
public final class NodeBusyException extends Exception {

    private static final long serialVersionUID = 1L;

    public NodeBusyException(String message, Throwable cause) {
        super(message, cause);
    }
}

package org.autoglm.node.engine;

/** A request that was accepted: its id, and the way to cancel it (client gone, deadline). */
public interface RequestHandle {
    String requestId();

    /** Same as {@link InferenceService#cancel(String)} for this request. */
    boolean cancel();
}

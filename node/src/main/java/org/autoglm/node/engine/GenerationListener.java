package org.autoglm.node.engine;

/**
 * Receives a request's output as it is produced. Called from the engine thread (or the cluster transport
 * thread): implementations must return quickly and must not throw; an exception is logged and cancels
 * only this request.
 */
public interface GenerationListener {

    /**
     * The engine has scheduled the request's first step: queueing is over and its prefill starts now. Called
     * once, before any {@link #onDelta}; not at all for a request that ends before it is scheduled, or where
     * the service cannot tell (then queueing ends, as far as a listener knows, at the first token).
     */
    default void onScheduled() {}

    /** New output: token ids and the text they complete (UTF-8 safe, stop strings held back). */
    void onDelta(TokenDelta delta);

    /** The request ended; no call follows. */
    void onFinish(Completion completion);
}

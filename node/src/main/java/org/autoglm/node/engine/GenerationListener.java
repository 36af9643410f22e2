package org.autoglm.node.engine;

/**
 * Receives a request's output as it is produced. Called from the engine thread (or the cluster transport
 * thread): implementations must return quickly and must not throw; an exception is logged and cancels
 * only this request.
 */
public interface GenerationListener {

    /** New output: token ids and the text they complete (UTF-8 safe, stop strings held back). */
    void onDelta(TokenDelta delta);

    /** The request ended; no call follows. */
    void onFinish(Completion completion);
}

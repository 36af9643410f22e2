package org.autoglm.gossip.dispatch;

/**
 * What the node holding a client connection receives for one request, wherever it runs. Calls for one request
 * never overlap and come in order; exactly one of {@link #onFinish}, {@link #onError} or
 * {@link #onUnavailable} ends the stream.
 */
public interface StreamListener {

    /** The executing node's engine scheduled the request (once per attempt). */
    default void onScheduled() {}

    /** New tokens, and the node's opaque payload for them (text, logprobs). */
    void onTokens(int[] tokenIds, byte[] payload);

    /** The executor finished the request; the payload says how. */
    void onFinish(byte[] payload);

    /** The cluster gave up on the request; the message is for the client. */
    void onError(String message);

    /**
     * The cluster could not finish the request now, through no fault of the request: this node is rejoining its grid,
     * shutting down, or cut off from the majority. The message says so and to send it again; it ends the stream as
     * {@link #onError} does.
     */
    default void onUnavailable(String message) {
        onError(message);
    }
}

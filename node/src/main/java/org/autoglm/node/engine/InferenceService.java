package org.autoglm.node.engine;

/**
 * What the HTTP API talks to: the local {@code Engine}, or on a cluster the coordinator that places the
 * request on a peer. Callers cannot tell which ran their request.
 */
public interface InferenceService {

    /**
     * Accepts a request; tokens and the finish arrive on {@code listener} from another thread.
     *
     * @throws RequestRejectedException at once, without side effects, when the request cannot be
     *     accepted (overloaded, too long for the context, invalid); nothing reaches the listener then
     */
    RequestHandle submit(GenerationRequest request, GenerationListener listener) throws RequestRejectedException;

    /** Cancels a request at any point; its listener gets {@link FinishReason#CANCELLED}. False if unknown or done. */
    boolean cancel(String requestId);
}

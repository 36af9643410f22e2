package org.autoglm.node.engine;

import java.util.concurrent.CompletableFuture;

/**
 * What the HTTP API talks to: the local {@code Engine}, or on a cluster the coordinator that places the
 * request on a peer. Callers cannot tell which ran their request.
 *
 * <p>The control surface (drain, figures, limits, reload) is part of the interface, so that a wrapper passes it
 * on instead of silently turning it off: nothing reaches the engine by {@code instanceof}.
 */
public interface InferenceService {

    /**
     * Accepts a request; tokens and the finish arrive on {@code listener} from another thread.
     *
     * @throws RequestRejectedException at once, without side effects, when the request cannot be
     *     accepted (overloaded, too long for the context, invalid); nothing reaches the listener then
     */
    RequestHandle submit(GenerationRequest request, GenerationListener listener) throws RequestRejectedException;

    /**
     * An interactive request is on its way here (assigned, its claim committing): the engine starts no step of batch
     * lines until it is admitted, or for {@link Engine#INTERACTIVE_HOLD_MILLIS} at most. Returns at once.
     */
    default void expectInteractive() {}

    /** Cancels a request at any point; its listener gets {@link FinishReason#CANCELLED}. False if unknown or done. */
    boolean cancel(String requestId);

    /**
     * Stops taking new requests (refused as unavailable) and lets the accepted ones finish.
     *
     * @return completes when no request is left
     */
    CompletableFuture<Void> drain();

    /** Takes new requests again after {@link #drain}. */
    void undrain();

    boolean isDraining();

    /** Draining, and every accepted request has finished. */
    boolean isDrained();

    /** Live figures: running, waiting, KV use, step times (heartbeats, metrics, diagnostics). */
    EngineStats stats();

    /** The limits and scheduling in force now. */
    EngineOptions options();

    /**
     * Applies new limits and scheduling live ({@code reload-config}). Only the limits and the policy
     * may differ from {@link #options()} (see {@link EngineOptions#requireOnlyReloadableChanges}).
     *
     * @throws IllegalArgumentException naming the field that cannot change without a restart, or a bad value
     */
    void reload(EngineOptions next);

    /**
     * Gives requests still waiting for admission whose id {@code matches} a new priority ({@code reprioritize});
     * running ones keep theirs.
     *
     * @return completes with the ids of the requests changed
     */
    CompletableFuture<java.util.List<String>> reprioritize(java.util.function.Predicate<String> matches, int priority);
}

package org.autoglm.gossip.dispatch;

import org.autoglm.gossip.queue.QueuedRequest;

/** The node's engine as the grid sees it: runs a request placed on this node and reports into a sink. */
public interface RequestExecutor {

    /**
     * Starts running {@code request}, continuing after its {@link QueuedRequest#resumeIds()} if any (a restart after
     * another node died mid-generation). Output goes to {@code sink}, from any thread.
     *
     * @throws NodeBusyException when the node is full now; the request goes back to the queue, not counted as an attempt
     * @throws Exception          when the node cannot run it; the request goes back to the queue as a failed attempt
     */
    void start(QueuedRequest request, ExecutionSink sink) throws Exception;

    /**
     * {@code request} was assigned here and its claim (a grid transaction) is under way: the executor may make room
     * meanwhile, so the request does not wait for work begun after this notice. Called on a grid thread: returns at
     * once.
     */
    default void arriving(QueuedRequest request) {}

    /** Stops a running request (its client is gone or cancelled it); the sink is no longer read. */
    void cancel(String requestId);

    /** Where an executing request's output goes. */
    interface ExecutionSink {
        /** The local engine scheduled the request for the first time. */
        void scheduled();

        void tokens(int[] tokenIds, byte[] payload);

        void finish(byte[] payload);

        /** The request failed here for good (not a node failure: those are retried elsewhere). */
        void fail(String error);
    }
}

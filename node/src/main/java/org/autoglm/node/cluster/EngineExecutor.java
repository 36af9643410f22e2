package org.autoglm.node.cluster;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.autoglm.gossip.dispatch.NodeBusyException;
import org.autoglm.gossip.dispatch.RequestExecutor;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.FinishReason;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TokenDelta;

/**
 * Runs requests the leader placed on this node on the local engine. A restarted request (its first node died
 * mid-generation) continues after the tokens its client already has: they join the prompt and count against
 * max_tokens, so the client sees one continuous answer.
 */
final class EngineExecutor implements RequestExecutor {

    /** Replaced when the node switches engines (restart-engine, load-model); running requests stay on the old one. */
    private volatile InferenceService engine;
    /** Tokens still to compute per running request: the queued work this node reports in its heartbeat. */
    private final Map<String, AtomicLong> remaining = new ConcurrentHashMap<>();

    EngineExecutor(InferenceService engine) {
        this.engine = engine;
    }

    @Override
    public void start(QueuedRequest queued, ExecutionSink sink) throws RequestRejectedException, NodeBusyException {
        GenerationRequest request = WireFormat.request(queued.payload());
        if (request.priority() != queued.priority()) { // reprioritized while it waited in the cluster queue
            request = request.withPriority(queued.priority());
        }
        int[] resume = queued.resumeIds();
        int left = request.params().maxTokens() - resume.length;
        if (left <= 0) { // the client already has every token it asked for
            sink.finish(WireFormat.completion(new Completion(FinishReason.LENGTH, request.promptIds().length,
                    resume.length, null)));
            return;
        }
        if (resume.length > 0) {
            int[] prompt = Arrays.copyOf(request.promptIds(), request.promptIds().length + resume.length);
            System.arraycopy(resume, 0, prompt, request.promptIds().length, resume.length);
            request = request.resumedAfter(prompt, request.params().withMaxTokens(left), resume);
        }
        AtomicLong work = new AtomicLong((long) request.promptIds().length + left);
        remaining.put(request.id(), work);
        int promptTokens = request.promptIds().length;
        java.util.concurrent.atomic.AtomicBoolean prefilled = new java.util.concurrent.atomic.AtomicBoolean();
        String id = request.id();
        try {
            engine.submit(request, new GenerationListener() {
                @Override
                public void onScheduled() {
                    sink.scheduled();
                }

                @Override
                public void onDelta(TokenDelta delta) {
                    // Its first token means its prompt is computed: only its output is left to do (a decoding
                    // request counted as its whole prompt made a node look busy for as long as it decoded).
                    work.addAndGet(-delta.tokenIds().length - (prefilled.compareAndSet(false, true) ? promptTokens : 0));
                    sink.tokens(delta.tokenIds(), WireFormat.delta(delta));
                }

                @Override
                public void onFinish(Completion done) {
                    remaining.remove(id);
                    // Counted as the client sees it: resumed tokens are output, not prompt.
                    sink.finish(WireFormat.completion(new Completion(done.reason(),
                            done.promptTokens() - resume.length, done.completionTokens() + resume.length,
                            done.error())));
                }
            });
        } catch (RequestRejectedException e) {
            remaining.remove(id);
            if (e.kind() == RequestRejectedException.Kind.OVERLOADED) {
                throw new NodeBusyException(e.getMessage(), e); // full for now: placed again, not an attempt used up
            }
            if (e.retryable()) {
                throw e; // overloaded or draining here: the grid places it elsewhere
            }
            sink.fail(e.getMessage());
        }
    }

    /** An interactive request on its way: the engine starts no batch-line step until it is admitted (or briefly). */
    @Override
    public void arriving(QueuedRequest queued) {
        if (!queued.batch()) {
            engine.expectInteractive();
        }
    }

    void swap(InferenceService next) {
        this.engine = next;
    }

    @Override
    public void cancel(String requestId) {
        remaining.remove(requestId);
        engine.cancel(requestId);
    }

    /** Prompt and output tokens still to compute for everything running here. */
    long queuedTokens() {
        return remaining.values().stream().mapToLong(AtomicLong::get).sum();
    }
}

package org.autoglm.node.cluster;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.autoglm.gossip.Cluster;
import org.autoglm.gossip.dispatch.StreamListener;
import org.autoglm.gossip.queue.QueuedRequest;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.FinishReason;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.engine.RequestHandle;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.engine.kv.BlockHash;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The engine as the HTTP API sees it on a cluster: every request goes through the grid's queue, the leader places
 * it on some node (perhaps this one), and its output streams back here. The same interface as the local engine,
 * with the same refusals at submit, so callers cannot tell where a request ran (Jlama's Coordinator idea).
 */
public final class ClusterInferenceService implements InferenceService {

    private static final Logger log = LoggerFactory.getLogger(ClusterInferenceService.class);

    private final Cluster cluster;
    private final InferenceService local;
    /** Draining state of an entry without a local engine. */
    private volatile boolean entryDraining;
    private final String model;
    private final int maxModelLen;
    private final int maxInFlight;
    private final int prefixBlockSize;
    /** Leading blocks of a prompt described to placement: enough for long shared system prompts. */
    private static final int MAX_PREFIX_BLOCKS = 256;
    /** One permit per request accepted here and not ended: a size check let simultaneous submits all slip past. */
    private final Semaphore admission;
    private final Map<String, Relay> relays = new ConcurrentHashMap<>();

    /**
     * @param model       served model name, for requests that name none
     * @param maxModelLen longest prompt + output any node accepts (all nodes serve the same checkpoint)
     * @param maxInFlight requests this node accepts at once before answering "overloaded" (its engine's running
     *                    plus waiting limits: a node never takes more clients than it could hold itself)
     */
    public ClusterInferenceService(Cluster cluster, String model, int maxModelLen, int maxInFlight) {
        this(cluster, model, maxModelLen, maxInFlight, 0, null);
    }

    /**
     * @param prefixBlockSize the engines' KV block size, to describe each prompt's prefix blocks to cache-aware
     *                        placement; 0 when prefix caching is off
     * @param local           this node's engine, which the control surface (drain, figures, limits, reload) is passed
     *                        on to; null for an entry that runs nothing itself (then draining only refuses new
     *                        requests here)
     */
    public ClusterInferenceService(Cluster cluster, String model, int maxModelLen, int maxInFlight, int prefixBlockSize,
                                   InferenceService local) {
        this.local = local;
        this.prefixBlockSize = prefixBlockSize;
        this.cluster = cluster;
        this.model = model;
        this.maxModelLen = maxModelLen;
        this.maxInFlight = maxInFlight;
        this.admission = new Semaphore(maxInFlight);
    }

    @Override
    public RequestHandle submit(GenerationRequest request, GenerationListener listener) throws RequestRejectedException {
        int prompt = request.promptIds().length;
        int maxTokens = request.params().maxTokens();
        if (prompt + (long) maxTokens > maxModelLen) { // refuse here, as the local engine would, not on a peer
            throw new RequestRejectedException(RequestRejectedException.Kind.TOO_LONG, "prompt (" + prompt
                    + " tokens) + max_tokens (" + maxTokens + ") exceeds the model's context of " + maxModelLen
                    + " tokens; shorten the prompt or lower max_tokens");
        }
        List<String> tags = request.requiredTags();
        if (!tags.isEmpty() && cluster.registry().nodes().stream().noneMatch(n -> n.info().tags().containsAll(tags))) {
            // Refused now rather than after the placement timeout: no member could take it.
            throw new RequestRejectedException(RequestRejectedException.Kind.UNAVAILABLE, "no node in the cluster has"
                    + " the required_tags " + tags + " (GET /cluster/nodes lists each node's tags); retry when one joins");
        }
        String full = cluster.grid().storageFullReason();
        if (full != null) { // a full data region would stop the grid node: refuse before it fills
            throw new RequestRejectedException(RequestRejectedException.Kind.OVERLOADED, full + "; retry shortly");
        }
        if (!admission.tryAcquire()) {
            throw new RequestRejectedException(RequestRejectedException.Kind.OVERLOADED, "this node already serves "
                    + maxInFlight + " requests; retry shortly or send to another node");
        }
        boolean accepted = false;
        try {
            String servedModel = request.model() != null ? request.model() : model;
            QueuedRequest queued = QueuedRequest.pending(request.id(), WireFormat.request(request), servedModel,
                    request.sessionId(), request.requiredTags(), prompt, maxTokens, cluster.grid().localId())
                    .ordered(request.batch(), request.priority(), request.user())
                    .withPrefix(prefixBlockSize > 0
                            ? BlockHash.chain(request.promptIds(), prefixBlockSize, MAX_PREFIX_BLOCKS) : null);
            Relay relay = new Relay(request.id(), prompt, listener);
            if (relays.putIfAbsent(request.id(), relay) != null) {
                throw new RequestRejectedException(RequestRejectedException.Kind.INVALID,
                        "request id " + request.id() + " is already running");
            }
            try {
                cluster.dispatcher().submit(queued, relay);
            } catch (IllegalStateException e) {
                relays.remove(request.id());
                throw new RequestRejectedException(RequestRejectedException.Kind.UNAVAILABLE, e.getMessage());
            }
            accepted = true; // from here the relay's end gives the permit back
        } finally {
            if (!accepted) {
                admission.release();
            }
        }
        return new RequestHandle() {
            @Override
            public String requestId() {
                return request.id();
            }

            @Override
            public boolean cancel() {
                return ClusterInferenceService.this.cancel(request.id());
            }
        };
    }

    @Override
    public boolean cancel(String requestId) {
        Relay relay = relays.get(requestId);
        if (relay == null || !cluster.dispatcher().cancel(requestId)) {
            return false;
        }
        relay.end(new Completion(FinishReason.CANCELLED, relay.promptTokens, relay.delivered.get(), null));
        return true;
    }

    /** Requests received here and not finished. */
    public int active() {
        return relays.size();
    }

    /** Turns the grid's stream of one request back into engine callbacks for the HTTP layer. */
    @Override
    public java.util.concurrent.CompletableFuture<Void> drain() {
        if (local == null) {
            entryDraining = true;
            return java.util.concurrent.CompletableFuture.completedFuture(null);
        }
        return local.drain();
    }

    @Override
    public void undrain() {
        entryDraining = false;
        if (local != null) local.undrain();
    }

    @Override
    public boolean isDraining() {
        return local == null ? entryDraining : local.isDraining();
    }

    @Override
    public boolean isDrained() {
        return local == null ? entryDraining : local.isDrained();
    }

    @Override
    public org.autoglm.node.engine.EngineStats stats() {
        return local == null ? new org.autoglm.node.engine.EngineStats() : local.stats();
    }

    @Override
    public org.autoglm.node.engine.EngineOptions options() {
        return local == null ? org.autoglm.node.engine.EngineOptions.defaults() : local.options();
    }

    @Override
    public java.util.concurrent.CompletableFuture<java.util.List<String>> reprioritize(
            java.util.function.Predicate<String> matches, int priority) {
        return local == null ? java.util.concurrent.CompletableFuture.completedFuture(java.util.List.of())
                : local.reprioritize(matches, priority);
    }

    @Override
    public void reload(org.autoglm.node.engine.EngineOptions next) {
        if (local == null) {
            throw new IllegalArgumentException("this node runs no engine of its own; reload the nodes that do");
        }
        local.reload(next);
    }

    private final class Relay implements StreamListener {
        final String id;
        final int promptTokens;
        final GenerationListener listener;
        final AtomicInteger delivered = new AtomicInteger();
        final AtomicBoolean ended = new AtomicBoolean();
        /** The client hears of scheduling once, even when a restart on another node schedules it again. */
        final AtomicBoolean scheduled = new AtomicBoolean();

        Relay(String id, int promptTokens, GenerationListener listener) {
            this.id = id;
            this.promptTokens = promptTokens;
            this.listener = listener;
        }

        @Override
        public void onScheduled() {
            if (!ended.get() && scheduled.compareAndSet(false, true)) {
                try {
                    listener.onScheduled();
                } catch (RuntimeException e) {
                    log.warn("{}: listener failed on scheduling: {}", id, e.toString());
                }
            }
        }

        @Override
        public void onTokens(int[] tokenIds, byte[] payload) {
            if (ended.get()) {
                return;
            }
            TokenDelta delta = WireFormat.delta(payload);
            delivered.addAndGet(tokenIds.length);
            try {
                listener.onDelta(delta);
            } catch (RuntimeException e) { // the listener's failure cancels only its own request
                log.warn("{}: listener failed on a delta, cancelling: {}", id, e.toString());
                cancel(id);
            }
        }

        @Override
        public void onFinish(byte[] payload) {
            end(WireFormat.completion(payload));
        }

        @Override
        public void onError(String message) {
            end(new Completion(FinishReason.ERROR, promptTokens, delivered.get(), message));
        }

        @Override
        public void onUnavailable(String message) {
            end(new Completion(FinishReason.ERROR, promptTokens, delivered.get(), message, true));
        }

        void end(Completion completion) {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            relays.remove(id, this);
            admission.release();
            try {
                listener.onFinish(completion);
            } catch (RuntimeException e) {
                log.warn("{}: listener failed on finish: {}", id, e.toString());
            }
        }
    }
}

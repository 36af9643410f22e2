package org.autoglm.node.api;

import java.util.function.Consumer;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.telemetry.EngineLoad;

/**
 * Whether the node can serve: the HTTP server starts before the model has loaded, so requests arriving
 * early get 503 until {@link #ready} is called (or a clear error if loading failed). Draining also answers
 * 503, so that a balancer moves new work elsewhere while running requests finish.
 *
 * <p>Draining is one state per node: {@code /admin/drain} here and {@code POST /cluster/nodes/{id}/drain} from any
 * node both end in {@link #draining}, which tells the engine and (through {@link #onDrainingChanged}) the cluster
 * registry, so that {@code /ready}, {@code /admin/requests} and {@code /cluster/nodes} always agree.
 */
public final class ServingState {

    /** What a loaded node serves with. */
    public record Loaded(ServedModel model, InferenceService engine, EngineLoad.Source load) {}

    private volatile Loaded loaded;
    private volatile java.util.function.UnaryOperator<Loaded> onReady = java.util.function.UnaryOperator.identity();
    private volatile String failure;
    private volatile boolean draining;
    private volatile java.util.function.Supplier<String> notReadyElsewhere = () -> null;
    private volatile Consumer<Boolean> drainingListener = value -> {};

    public synchronized void ready(Loaded value) {
        Loaded decorated = onReady.apply(value);
        if (draining) decorated.engine().drain();
        this.loaded = decorated;
    }

    /** Swaps the serving engine (restart-engine, load-model); the caller has drained and will close the old one. */
    public synchronized void replace(Loaded value) {
        ready(value);
    }

    /** Tells {@code listener} every change of the drain state (the cluster publishes it in the registry). */
    public void onDrainingChanged(Consumer<Boolean> listener) {
        this.drainingListener = listener;
    }

    /** Lets the cluster put its service in front of the engine the moment the model is loaded. */
    public void decorate(java.util.function.UnaryOperator<Loaded> decorator) {
        this.onReady = decorator;
    }

    /** Lets the cluster add a reason not to be ready (a node cut off from the majority takes no work). */
    public void readinessCheck(java.util.function.Supplier<String> reasonOrNull) {
        this.notReadyElsewhere = reasonOrNull;
    }

    public void failed(String reason) {
        this.failure = reason;
    }

    /** Draining: the API answers new requests with 503 and the engine takes no new work but finishes its own. */
    public void draining(boolean value) {
        drainingListener.accept(value); // the cluster's record first: a late echo of an older change then reads this one
        apply(value);
    }

    /** The cluster's record of this node changed (a drain set from another node): follow it, publish nothing. */
    public void followCluster(boolean value) {
        apply(value);
    }

    private synchronized void apply(boolean value) {
        this.draining = value;
        Loaded l = loaded;
        if (l != null) {
            if (value) {
                l.engine().drain();
            } else {
                l.engine().undrain();
            }
        }
    }

    /** Why the model could not load, or null: a node with a failed model is unhealthy (it never becomes ready). */
    public String loadFailure() {
        return failure;
    }

    public boolean isDraining() {
        return draining;
    }

    /** Draining and the engine has finished every request it had. */
    public boolean isDrained() {
        Loaded l = loaded;
        return draining && (l == null || l.engine().isDrained());
    }

    public boolean isReady() {
        return loaded != null && !draining;
    }

    /** The loaded model and engine, or 503 saying why there are none. */
    public Loaded require() {
        Loaded l = loaded;
        if (l == null) {
            throw ApiError.unavailable(failure != null ? "The model failed to load: " + failure
                    : "The model is still loading; retry shortly.");
        }
        if (draining) {
            throw ApiError.unavailable("This node is draining and takes no new requests; send them to another node.");
        }
        return l;
    }

    /** Loaded model or null; for routes that work while draining (model list, metrics). */
    public Loaded current() {
        return loaded;
    }

    /** The engine's load now (zeros before it is loaded). */
    public EngineLoad load() {
        Loaded l = loaded;
        return l == null ? EngineLoad.EMPTY : l.load().load();
    }

    /** Why the node is not ready, for {@code /ready}. */
    public String notReadyReason() {
        if (failure != null) {
            return "model failed to load: " + failure;
        }
        if (loaded == null) {
            return "model loading";
        }
        return draining ? "draining" : notReadyElsewhere.get();
    }
}

package org.autoglm.node.cluster;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.engine.RequestHandle;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TokenDelta;

/**
 * The real engine with its output handed on at most one delta per {@code stepMillis}, in order: the tiny fixture
 * model generates a whole answer in a blink, and a test must be able to kill a node mid-generation.
 */
final class PacedEngine implements InferenceService {

    private final InferenceService engine;
    private final long stepMillis;
    private final ScheduledExecutorService pace = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "paced-engine");
        t.setDaemon(true);
        return t;
    });
    private long nextAt;

    PacedEngine(InferenceService engine, long stepMillis) {
        this.engine = engine;
        this.stepMillis = stepMillis;
    }

    @Override
    public RequestHandle submit(GenerationRequest request, GenerationListener listener) throws RequestRejectedException {
        return engine.submit(request, new GenerationListener() {
            @Override
            public void onScheduled() {
                later(listener::onScheduled);
            }

            @Override
            public void onDelta(TokenDelta delta) {
                later(() -> listener.onDelta(delta));
            }

            @Override
            public void onFinish(Completion completion) {
                later(() -> listener.onFinish(completion));
            }
        });
    }

    private synchronized void later(Runnable task) {
        long now = System.nanoTime();
        nextAt = Math.max(now, nextAt) + TimeUnit.MILLISECONDS.toNanos(stepMillis);
        pace.schedule(task, nextAt - now, TimeUnit.NANOSECONDS);
    }

    @Override
    public boolean cancel(String requestId) {
        return engine.cancel(requestId);
    }

    @Override
    public java.util.concurrent.CompletableFuture<Void> drain() {
        return engine.drain();
    }

    @Override
    public void undrain() {
        engine.undrain();
    }

    @Override
    public boolean isDraining() {
        return engine.isDraining();
    }

    @Override
    public boolean isDrained() {
        return engine.isDrained();
    }

    @Override
    public java.util.concurrent.CompletableFuture<java.util.List<String>> reprioritize(
            java.util.function.Predicate<String> matches, int priority) {
        return engine.reprioritize(matches, priority);
    }

    @Override
    public org.autoglm.node.engine.EngineStats stats() {
        return engine.stats();
    }

    @Override
    public org.autoglm.node.engine.EngineOptions options() {
        return engine.options();
    }

    @Override
    public void reload(org.autoglm.node.engine.EngineOptions next) {
        engine.reload(next);
    }

    /** The node died: nothing more comes out of it. */
    void crash() {
        pace.shutdownNow();
    }
}

package org.autoglm.node.api;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.FinishReason;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.engine.RequestHandle;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.telemetry.EngineLoad;

/**
 * An {@link InferenceService} for testing the HTTP layer on its own: each request "generates" the chunks a
 * script gives for it, one per step on its own thread, honouring max_tokens and cancellation. An empty
 * script means "generate until cancelled". A rejection can be armed for the next submit.
 */
final class ScriptedEngine implements InferenceService, EngineLoad.Source {

    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "scripted-engine");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, AtomicBoolean> running = new ConcurrentHashMap<>();
    private final AtomicReference<RequestRejectedException> nextRejection = new AtomicReference<>();
    private final AtomicInteger submitted = new AtomicInteger();
    private final AtomicInteger cancelled = new AtomicInteger();
    volatile Function<GenerationRequest, List<String>> script = r -> List.of("Hello", " world", "!");
    volatile GenerationRequest lastRequest;
    /** Time before the first token, as if queued; {@code Long.MAX_VALUE}: until cancelled. */
    volatile long firstTokenDelayMillis;
    final List<GenerationRequest> requests = new java.util.concurrent.CopyOnWriteArrayList<>();

    void rejectNext(RequestRejectedException e) {
        nextRejection.set(e);
    }

    int running() {
        return running.size();
    }

    int submitted() {
        return submitted.get();
    }

    int cancelled() {
        return cancelled.get();
    }

    @Override
    public EngineLoad load() {
        return new EngineLoad(running.size(), 0, running.size() / 100.0, 10, 4);
    }

    @Override
    public RequestHandle submit(GenerationRequest request, GenerationListener listener) throws RequestRejectedException {
        RequestRejectedException reject = nextRejection.getAndSet(null);
        if (reject != null) {
            throw reject;
        }
        submitted.incrementAndGet();
        lastRequest = request;
        requests.add(request);
        AtomicBoolean stop = new AtomicBoolean();
        running.put(request.id(), stop);
        List<String> chunks = script.apply(request);
        threads.execute(() -> generate(request, chunks, stop, listener));
        return new RequestHandle() {
            @Override
            public String requestId() {
                return request.id();
            }

            @Override
            public boolean cancel() {
                return ScriptedEngine.this.cancel(request.id());
            }
        };
    }

    private void generate(GenerationRequest r, List<String> chunks, AtomicBoolean stop, GenerationListener listener) {
        int produced = 0;
        boolean endless = chunks.isEmpty();
        try {
            long waitUntil = firstTokenDelayMillis == Long.MAX_VALUE ? Long.MAX_VALUE
                    : System.currentTimeMillis() + firstTokenDelayMillis;
            while (!stop.get() && System.currentTimeMillis() < waitUntil) {
                Thread.sleep(5); // "queued"
            }
            while (!stop.get()) {
                if (produced == r.params().maxTokens()) {
                    finish(r, listener, FinishReason.LENGTH, produced);
                    return;
                }
                if (!endless && produced == chunks.size()) {
                    finish(r, listener, FinishReason.STOP, produced);
                    return;
                }
                String text = endless ? "x" : chunks.get(produced);
                List<TokenDelta.TokenLogprob> lps = r.params().logprobs() >= 0
                        ? List.of(new TokenDelta.TokenLogprob(produced + 1, -0.5f, new int[] {produced + 1},
                                new float[] {-0.5f}))
                        : List.of();
                listener.onDelta(new TokenDelta(new int[] {produced + 1}, text, lps));
                produced++;
                Thread.sleep(endless ? 5 : 1); // a model step takes time; keeps endless streams from flooding
            }
            finish(r, listener, FinishReason.CANCELLED, produced);
        } catch (InterruptedException e) {
            finish(r, listener, FinishReason.CANCELLED, produced);
        }
    }

    private void finish(GenerationRequest r, GenerationListener listener, FinishReason reason, int produced) {
        running.remove(r.id());
        listener.onFinish(new Completion(reason, r.promptIds().length, produced, null));
    }

    @Override
    public boolean cancel(String requestId) {
        AtomicBoolean stop = running.get(requestId);
        if (stop == null) {
            return false;
        }
        cancelled.incrementAndGet();
        stop.set(true);
        return true;
    }

    private volatile boolean draining;
    private volatile org.autoglm.node.engine.EngineOptions options = org.autoglm.node.engine.EngineOptions.defaults();

    @Override
    public java.util.concurrent.CompletableFuture<Void> drain() {
        draining = true;
        return java.util.concurrent.CompletableFuture.runAsync(() -> {
            while (!running.isEmpty()) {
                Thread.onSpinWait();
            }
        }, threads);
    }

    @Override
    public void undrain() {
        draining = false;
    }

    @Override
    public boolean isDraining() {
        return draining;
    }

    @Override
    public boolean isDrained() {
        return draining && running.isEmpty();
    }

    @Override
    public java.util.concurrent.CompletableFuture<java.util.List<String>> reprioritize(
            java.util.function.Predicate<String> matches, int priority) {
        return java.util.concurrent.CompletableFuture.completedFuture(java.util.List.of()); // nothing ever waits here
    }

    @Override
    public org.autoglm.node.engine.EngineStats stats() {
        return new org.autoglm.node.engine.EngineStats();
    }

    @Override
    public org.autoglm.node.engine.EngineOptions options() {
        return options;
    }

    @Override
    public void reload(org.autoglm.node.engine.EngineOptions next) {
        options.requireOnlyReloadableChanges(next);
        options = next;
    }

    void shutdown() {
        threads.shutdownNow();
    }
}

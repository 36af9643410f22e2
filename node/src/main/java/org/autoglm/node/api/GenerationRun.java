package org.autoglm.node.api;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.autoglm.node.engine.Completion;
import org.autoglm.node.engine.FinishReason;
import org.autoglm.node.engine.GenerationListener;
import org.autoglm.node.engine.GenerationRequest;
import org.autoglm.node.engine.InferenceService;
import org.autoglm.node.engine.RequestHandle;
import org.autoglm.node.engine.RequestRejectedException;
import org.autoglm.node.engine.TokenDelta;
import org.autoglm.node.plugins.ContentRejectedException;
import org.autoglm.node.plugins.RequestHooks;
import org.autoglm.node.telemetry.RequestMetrics;
import org.autoglm.node.telemetry.RequestTracing;

/**
 * The engine requests behind one HTTP request (one per choice: prompts x n), their output merged into one
 * ordered event stream for the HTTP thread. Engine threads only enqueue; plugins, metrics and formatting
 * run on the HTTP thread that calls {@link #next}.
 */
final class GenerationRun {

    /** Output for the client, after plugins. */
    sealed interface Event permits Delta, End {}

    record Delta(int choice, String text, TokenDelta raw) implements Event {}

    /** A choice finished; {@code reason} is {@code stop}, {@code length}, {@code cancelled}, {@code error} or {@code content_filter}. */
    record End(int choice, String reason, int promptTokens, int completionTokens, String error, boolean unavailable)
            implements Event {}

    private record Raw(int choice, long nanos, TokenDelta delta, Completion completion) {}

    private final InferenceService engine;
    private final List<GenerationRequest> requests;
    private final RequestHooks hooks;
    private final RequestMetrics metrics;
    private final RequestTracing.RequestSpan span;
    private final long receivedNanos;
    private final BlockingQueue<Raw> raw = new LinkedBlockingQueue<>();
    private final List<RequestHandle> handles = new CopyOnWriteArrayList<>();
    private final boolean[] ended;
    private final long[] lastTokenNanos;
    private final int[] tokens;
    private final List<Event> ready = new ArrayList<>();
    private int open;

    GenerationRun(InferenceService engine, List<GenerationRequest> requests, RequestHooks hooks, RequestMetrics metrics,
            RequestTracing.RequestSpan span, long receivedNanos) {
        this.engine = engine;
        this.requests = requests;
        this.hooks = hooks;
        this.metrics = metrics;
        this.span = span;
        this.receivedNanos = receivedNanos;
        this.ended = new boolean[requests.size()];
        this.lastTokenNanos = new long[requests.size()];
        this.tokens = new int[requests.size()];
        this.open = requests.size();
    }

    /** Submits every choice; if the engine refuses one, the ones already accepted are cancelled. */
    void start() {
        span.submitted(Instant.now());
        for (int i = 0; i < requests.size(); i++) {
            int choice = i;
            try {
                handles.add(engine.submit(requests.get(i), new GenerationListener() {
                    @Override
                    public void onScheduled() {
                        span.scheduled(Instant.now());
                    }

                    @Override
                    public void onDelta(TokenDelta delta) {
                        raw.add(new Raw(choice, System.nanoTime(), delta, null));
                    }

                    @Override
                    public void onFinish(Completion completion) {
                        raw.add(new Raw(choice, System.nanoTime(), null, completion));
                    }
                }));
            } catch (RequestRejectedException e) {
                cancelAll();
                throw rejected(e);
            } catch (RuntimeException e) {
                cancelAll();
                throw e;
            }
        }
    }

    boolean finished() {
        return open == 0 && ready.isEmpty();
    }

    /** The next event, or null if none arrived within {@code timeout}. */
    Event next(Duration timeout) throws InterruptedException {
        while (ready.isEmpty() && open > 0) {
            Raw r = raw.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (r == null) {
                return null;
            }
            process(r);
        }
        return ready.isEmpty() ? null : ready.remove(0);
    }

    /** Client gone or request abandoned: stop every choice still running. */
    void cancelAll() {
        for (RequestHandle h : handles) {
            h.cancel();
        }
    }

    private void process(Raw r) {
        int c = r.choice();
        if (ended[c]) {
            return; // e.g. the engine's CANCELLED after a plugin stopped this choice
        }
        if (r.delta() != null) {
            recordTiming(c, r.nanos());
            tokens[c] += r.delta().tokenIds().length;
            try {
                String text = hooks.onDelta(c, r.delta().text());
                ready.add(new Delta(c, text, r.delta()));
            } catch (ContentRejectedException e) {
                handles.get(c).cancel();
                end(c, "content_filter", requests.get(c).promptIds().length, tokens[c], null, r.nanos());
            }
            return;
        }
        Completion done = r.completion();
        String tail = hooks.onChoiceEnd(c);
        if (!tail.isEmpty()) {
            ready.add(new Delta(c, tail, null));
        }
        end(c, done.reason().wire(), done.promptTokens(), done.completionTokens(),
                done.reason() == FinishReason.ERROR ? done.error() : null, done.unavailable(), r.nanos());
    }

    private void end(int c, String reason, int prompt, int completion, String error, long nanos) {
        end(c, reason, prompt, completion, error, false, nanos);
    }

    private void end(int c, String reason, int prompt, int completion, String error, boolean unavailable, long nanos) {
        ended[c] = true;
        open--;
        metrics.finished(reason, prompt, completion, Duration.ofNanos(nanos - receivedNanos));
        ready.add(new End(c, reason, prompt, completion, error, unavailable));
    }

    private void recordTiming(int c, long nanos) {
        if (lastTokenNanos[c] == 0) {
            metrics.firstToken(Duration.ofNanos(nanos - receivedNanos));
            span.firstToken(Instant.now().minusNanos(System.nanoTime() - nanos)); // when the engine produced it
        } else {
            metrics.interToken(Duration.ofNanos(nanos - lastTokenNanos[c]));
        }
        lastTokenNanos[c] = nanos;
    }

    static ApiError rejected(RequestRejectedException e) {
        return switch (e.kind()) {
            case OVERLOADED -> ApiError.overloaded(e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("retry")
                    ? e.getMessage() : e.getMessage() + " Retry later.", 1); // the engine's own text already says so
            case TOO_LONG -> ApiError.invalid("max_tokens", e.getMessage());
            case INVALID -> ApiError.invalid(null, e.getMessage());
            case UNAVAILABLE -> ApiError.unavailable(e.getMessage());
        };
    }
}

package org.autoglm.node.engine;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;

/** A listener that keeps everything it hears; {@link #done} completes with the finish. */
final class Collector implements GenerationListener {

    final List<Integer> tokens = new ArrayList<>();
    final StringBuilder text = new StringBuilder();
    final List<TokenDelta.TokenLogprob> logprobs = new ArrayList<>();
    final CompletableFuture<Completion> done = new CompletableFuture<>();
    private final IntConsumer afterToken;

    Collector() {
        this(n -> {});
    }

    /** {@code afterToken} gets the number of tokens received so far, on the engine thread. */
    Collector(IntConsumer afterToken) {
        this.afterToken = afterToken;
    }

    @Override
    public synchronized void onDelta(TokenDelta delta) {
        for (int t : delta.tokenIds()) tokens.add(t);
        text.append(delta.text());
        logprobs.addAll(delta.logprobs());
        afterToken.accept(tokens.size());
    }

    @Override
    public void onFinish(Completion completion) {
        if (!done.complete(completion)) throw new AssertionError("onFinish called twice");
    }

    Completion await() throws Exception {
        return done.get(30, TimeUnit.SECONDS);
    }

    synchronized int[] ids() {
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }
}

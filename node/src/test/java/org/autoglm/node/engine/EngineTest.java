package org.autoglm.node.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.node.engine.RequestRejectedException.Kind;
import org.autoglm.node.engine.runner.SamplerFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The real engine (thread, scheduler, KV cache, runner) on {@link PagedTokenBackend}. */
class EngineTest {

    private final List<Engine> engines = new ArrayList<>();

    @AfterEach
    void close() {
        engines.forEach(Engine::close);
    }

    private Engine engine(PagedTokenBackend backend, Consumer<EngineOptions.Builder> options) {
        Engine e = new Engine(backend, EngineOptions.create(options), TextStream.Factory.NONE, SamplerFactory.DEFAULT);
        engines.add(e);
        return e;
    }

    /** What greedy decoding must produce: the backend's function applied token by token. */
    private static int[] expected(int[] prompt, int n) {
        int[] all = Arrays.copyOf(prompt, prompt.length + n);
        for (int i = 0; i < n; i++) all[prompt.length + i] = PagedTokenBackend.next(all, prompt.length + i);
        return Arrays.copyOfRange(all, prompt.length, all.length);
    }

    private static int[] prompt(int seed, int length) {
        return IntStream.range(0, length).map(i -> (seed * 7 + i * 13) % 90).toArray();
    }

    private static GenerationRequest request(String id, int[] prompt, int maxTokens) {
        return GenerationRequest.of(id, prompt, new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, maxTokens, List.of(), true, -1));
    }

    @Test
    void batchedOutputEqualsUnbatchedWithJoiningLeavingAndPreemption() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(0, 4096);
        // 14 blocks of 4 tokens for 6 sequences of up to 40 tokens: preemption is certain.
        Engine engine = engine(backend, o -> {
            o.numKvBlocks = 14;
            o.blockSize = 4;
            o.maxNumBatchedTokens = 24;
        });
        int[] lengths = {3, 17, 9, 30, 5, 12};
        int[] maxTokens = {30, 8, 25, 10, 35, 20};
        List<Collector> collectors = new ArrayList<>();
        for (int i = 0; i < 6; i++) collectors.add(null);
        // The second half joins from the engine thread when r0 has 4 tokens: mid-flight whatever the load.
        Runnable joinSecondHalf = () -> {
            for (int i = 3; i < 6; i++) {
                collectors.set(i, new Collector());
                try {
                    engine.submit(request("r" + i, prompt(i, lengths[i]), maxTokens[i]), collectors.get(i));
                } catch (RequestRejectedException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
        backend.gate = new CountDownLatch(1);
        for (int i = 0; i < 3; i++) {
            collectors.set(i, i == 0 ? new Collector(n -> { if (n == 4) joinSecondHalf.run(); }) : new Collector());
            engine.submit(request("r" + i, prompt(i, lengths[i]), maxTokens[i]), collectors.get(i));
        }
        backend.gate.countDown(); // r1 and r2 are queued by now: they join r0 at the second step at the latest
        for (int i = 0; i < 6; i++) {
            Completion done = collectors.get(i).await();
            assertThat(done.reason()).isEqualTo(FinishReason.LENGTH);
            assertThat(done.completionTokens()).isEqualTo(maxTokens[i]);
            assertThat(collectors.get(i).ids()).as("r" + i).containsExactly(expected(prompt(i, lengths[i]), maxTokens[i]));
        }
        assertThat(engine.stats().preemptions()).isPositive();
        await().until(() -> engine.stats().kvBlocksUsed() == 0);
        assertThat(engine.stats().generatedTokens()).isEqualTo(Arrays.stream(maxTokens).sum());
    }

    @Test
    void prefixCacheHitsReproduceTheSameTokens() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(64, 4096);
        Engine engine = engine(backend, o -> o.blockSize = 4);
        int[] system = prompt(3, 21);
        int[] turn2 = IntStream.concat(Arrays.stream(system), Arrays.stream(new int[] {5, 6, 7})).toArray();
        Collector first = new Collector();
        engine.submit(request("a", system, 6), first);
        first.await();
        Collector second = new Collector();
        engine.submit(request("b", turn2, 6), second);
        second.await();
        assertThat(engine.stats().prefixHitTokens()).isEqualTo(20); // 5 full blocks of the shared 21 tokens
        assertThat(engine.stats().prefixQueryTokens()).isEqualTo(21 + 24);
        assertThat(second.ids()).containsExactly(expected(turn2, 6));
    }

    @Test
    void cancellationFreesBlocksAndFinishesWithCancelled() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(64, 100_000);
        backend.forwardDelayMillis = 1; // 90,000 steps take minutes: the cancel surely comes first
        Engine engine = engine(backend, o -> {
            o.blockSize = 4;
            o.numKvBlocks = 25_000; // room for the whole stream: it must not end by running out of KV
        });
        CountDownLatch going = new CountDownLatch(1);
        Collector c = new Collector(n -> { if (n == 3) going.countDown(); });
        RequestHandle h = engine.submit(request("long", prompt(1, 10), 90_000), c);
        going.await();
        assertThat(h.cancel()).isTrue();
        Completion done = c.await();
        assertThat(done.reason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(done.completionTokens()).isGreaterThanOrEqualTo(3);
        await().until(() -> engine.stats().kvBlocksUsed() == 0);
        assertThat(engine.cancel("long")).isFalse();
        assertThat(engine.stats().finished(FinishReason.CANCELLED)).isEqualTo(1);
    }

    @Test
    void cancellingAWaitingRequestNeverStartsIt() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(64, 4096);
        backend.gate = new CountDownLatch(1);
        Engine engine = engine(backend, o -> o.maxNumSeqs = 1);
        Collector running = new Collector();
        engine.submit(request("running", prompt(1, 4), 3), running);
        backend.enteredForward.await();
        Collector waiting = new Collector();
        engine.submit(request("waiting", prompt(2, 4), 3), waiting);
        assertThat(engine.cancel("waiting")).isTrue();
        backend.gate.countDown();
        assertThat(waiting.await().reason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(waiting.ids()).isEmpty();
        assertThat(running.await().reason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void deadlineEndsARequest() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(64, 100_000);
        backend.forwardDelayMillis = 2;
        Engine engine = engine(backend, o -> {});
        Collector c = new Collector();
        GenerationRequest r = request("slow", prompt(1, 5), 90_000);
        engine.submit(new GenerationRequest(r.id(), r.promptIds(), r.params(), 0, Instant.now().plusMillis(300),
                null, List.of(), null, null), c);
        Completion done = c.await();
        assertThat(done.reason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(done.completionTokens()).isLessThan(90_000);
    }

    @Test
    void batchLinesHeldForAnAnnouncedRequestGoOnWhenItComesOrNot() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(0, 4096);
        Engine engine = engine(backend, o -> {
            o.numKvBlocks = 64;
            o.blockSize = 4;
        });
        Collector line = new Collector();
        engine.submit(request("line", prompt(1, 5), 40).asBatch(), line);
        engine.expectInteractive(); // never comes: the hold runs out and the line goes on
        Collector chat = new Collector();
        engine.expectInteractive();
        engine.submit(request("chat", prompt(2, 6), 5), chat); // comes: its admission ends the hold
        assertThat(chat.await().reason()).isEqualTo(FinishReason.LENGTH);
        engine.expectInteractive();
        assertThat(line.await().reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(line.ids()).containsExactly(expected(prompt(1, 5), 40));
        assertThat(chat.ids()).containsExactly(expected(prompt(2, 6), 5));
    }

    @Test
    void aFailingRequestDoesNotHarmItsBatchMates() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(64, 4096);
        backend.gate = new CountDownLatch(1);
        Engine engine = engine(backend, o -> {});
        Collector first = new Collector();
        engine.submit(request("ok-1", prompt(1, 6), 12), first);
        backend.enteredForward.await(); // the next three are batched together
        Collector poisoned = new Collector();
        int[] bad = prompt(2, 6);
        bad[3] = PagedTokenBackend.POISON;
        engine.submit(request("bad", bad, 12), poisoned);
        Collector second = new Collector();
        engine.submit(request("ok-2", prompt(3, 9), 12), second);
        backend.gate.countDown();

        Completion failed = poisoned.await();
        assertThat(failed.reason()).isEqualTo(FinishReason.ERROR);
        assertThat(failed.error()).contains("model forward failed").contains("poisoned token");
        assertThat(first.await().reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(second.await().reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(first.ids()).containsExactly(expected(prompt(1, 6), 12));
        assertThat(second.ids()).containsExactly(expected(prompt(3, 9), 12));
    }

    @Test
    void aListenerThatThrowsCancelsOnlyItsOwnRequest() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(64, 4096);
        Engine engine = engine(backend, o -> {});
        Collector rude = new Collector(n -> { if (n == 2) throw new IllegalStateException("client bug"); });
        Collector fine = new Collector();
        engine.submit(request("rude", prompt(1, 6), 10), rude);
        engine.submit(request("fine", prompt(2, 6), 10), fine);
        assertThat(rude.await().reason()).isEqualTo(FinishReason.CANCELLED);
        assertThat(fine.await().reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(fine.ids()).containsExactly(expected(prompt(2, 6), 10));
    }

    @Test
    void stopsAtEndOfSequenceUnlessIgnored() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(64, 4096);
        Engine engine = engine(backend, o -> {});
        // The backend never produces EOS on its own; a sampler that always picks it does.
        Engine eosEngine = new Engine(new PagedTokenBackend(64, 4096), EngineOptions.defaults(), TextStream.Factory.NONE,
                (params, p) -> new org.autoglm.node.engine.runner.TokenSampler() {
                    @Override
                    public int sample(float[] logits) {
                        return PagedTokenBackend.EOS;
                    }

                    @Override
                    public void accept(int tokenId) {}
                });
        engines.add(eosEngine);
        Collector stops = new Collector();
        eosEngine.submit(GenerationRequest.of("eos", prompt(1, 4), SamplingParams.greedy(10)), stops);
        Completion c = stops.await();
        assertThat(c.reason()).isEqualTo(FinishReason.STOP);
        assertThat(c.completionTokens()).isEqualTo(1);
        Collector ignores = new Collector();
        eosEngine.submit(request("ignore", prompt(1, 4), 5), ignores);
        assertThat(ignores.await().reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(ignores.ids()).containsOnly(PagedTokenBackend.EOS).hasSize(5);
        assertThat(engine.stats().finished(FinishReason.STOP)).isZero();
    }

    @Test
    void refusesWhatCanNeverRun() {
        PagedTokenBackend backend = new PagedTokenBackend(8, 100);
        Engine engine = engine(backend, o -> o.blockSize = 4); // 32 KV tokens, context 100
        assertThatThrownBy(() -> engine.submit(request("long", prompt(1, 60), 41), new Collector()))
                .isInstanceOfSatisfying(RequestRejectedException.class, e -> assertThat(e.kind()).isEqualTo(Kind.TOO_LONG))
                .hasMessage("the prompt (60 tokens) plus max_tokens (41) is 101 tokens, more than the model's context "
                        + "of 100; shorten the prompt or lower max_tokens");
        assertThatThrownBy(() -> engine.submit(request("big", prompt(1, 40), 10), new Collector()))
                .isInstanceOfSatisfying(RequestRejectedException.class, e -> assertThat(e.kind()).isEqualTo(Kind.TOO_LONG))
                .hasMessageContaining("the prompt (40 tokens) does not fit in this node's KV cache of 32 tokens (8 blocks of 4)");
        assertThatThrownBy(() -> engine.submit(request("bad", new int[] {1, 500}, 3), new Collector()))
                .isInstanceOfSatisfying(RequestRejectedException.class, e -> assertThat(e.kind()).isEqualTo(Kind.INVALID))
                .hasMessage("prompt token 1 is 500, outside the model's vocabulary of 97 ids");
        assertThatThrownBy(() -> engine.submit(request("empty", new int[0], 3), new Collector()))
                .hasMessage("the prompt is empty");
        assertThatThrownBy(() -> engine.submit(request("zero", new int[] {1}, 0), new Collector()))
                .hasMessage("max_tokens must be at least 1, got 0");
        SamplingParams badTopP = new SamplingParams(0.7, 0, 0, 0, 1, 0, 0, null, 4, List.of(), false, -1);
        assertThatThrownBy(() -> engine.submit(GenerationRequest.of("top-p", new int[] {1}, badTopP), new Collector()))
                .isInstanceOfSatisfying(RequestRejectedException.class, e -> assertThat(e.kind()).isEqualTo(Kind.INVALID))
                .hasMessage("top_p must be in (0, 1], got 0.0");
        SamplingParams stops = new SamplingParams(0, 1, 0, 0, 1, 0, 0, null, 4, List.of("\n"), false, -1);
        assertThatThrownBy(() -> engine.submit(GenerationRequest.of("stop", new int[] {1}, stops), new Collector()))
                .hasMessage("stop strings need the model's tokenizer, and this engine runs without one");
        assertThat(engine.stats().waiting()).isZero();
    }

    @Test
    void aLongGenerationThatOutgrowsTheCacheEndsWithLength() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(4, 1000);
        Engine engine = engine(backend, o -> o.blockSize = 4); // 16 KV tokens
        Collector c = new Collector();
        engine.submit(request("grows", prompt(1, 5), 50), c);
        Completion done = c.await();
        assertThat(done.reason()).isEqualTo(FinishReason.LENGTH);
        assertThat(done.completionTokens()).isEqualTo(16 - 5 + 1); // the last token needs no KV slot of its own
        assertThat(c.ids()).containsExactly(expected(prompt(1, 5), 12));
    }

    @Test
    void refusesAtOnceWhenTheWaitingQueueIsFull() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(64, 4096);
        backend.gate = new CountDownLatch(1);
        Engine engine = engine(backend, o -> o.maxWaiting = 2);
        Collector first = new Collector();
        engine.submit(request("first", prompt(1, 4), 2), first);
        backend.enteredForward.await(); // started: no longer waiting; the engine thread is busy
        engine.submit(request("w1", prompt(2, 4), 2), new Collector());
        engine.submit(request("w2", prompt(3, 4), 2), new Collector());
        assertThatThrownBy(() -> engine.submit(request("w3", prompt(4, 4), 2), new Collector()))
                .isInstanceOfSatisfying(RequestRejectedException.class, e -> {
                    assertThat(e.kind()).isEqualTo(Kind.OVERLOADED);
                    assertThat(e.retryable()).isTrue();
                })
                .hasMessage("2 requests are already waiting on this node; retry later");
        assertThatThrownBy(() -> engine.submit(request("w1", prompt(2, 4), 2), new Collector()))
                .hasMessage("a request with id 'w1' is already running");
        backend.gate.countDown();
        assertThat(first.await().reason()).isEqualTo(FinishReason.LENGTH);
        await().until(() -> engine.stats().finished(FinishReason.LENGTH) == 3);
        Collector later = new Collector();
        engine.submit(request("w3", prompt(4, 4), 2), later);
        assertThat(later.await().reason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void drainingFinishesRunningWorkAndRefusesNewWork() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(64, 4096);
        backend.gate = new CountDownLatch(1);
        Engine engine = engine(backend, o -> {});
        Collector c = new Collector();
        engine.submit(request("running", prompt(1, 4), 5), c);
        backend.enteredForward.await();
        var drained = engine.drain();
        assertThatThrownBy(() -> engine.submit(request("new", prompt(2, 4), 5), new Collector()))
                .isInstanceOfSatisfying(RequestRejectedException.class, e -> assertThat(e.kind()).isEqualTo(Kind.UNAVAILABLE));
        assertThat(drained).isNotDone();
        backend.gate.countDown();
        drained.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(c.done).isCompletedWithValueMatching(done -> done.reason() == FinishReason.LENGTH);
    }

    @Test
    void statsCountTokensAndLatencies() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(64, 4096);
        Engine engine = engine(backend, o -> {});
        List<Long> ttft = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Long> itl = new java.util.concurrent.CopyOnWriteArrayList<>();
        engine.stats().addObserver(new EngineStats.Observer() {
            @Override
            public void timeToFirstToken(long nanos) {
                ttft.add(nanos);
            }

            @Override
            public void interTokenLatency(long nanos) {
                itl.add(nanos);
            }
        });
        Collector a = new Collector();
        Collector b = new Collector();
        engine.submit(request("a", prompt(1, 7), 5), a);
        engine.submit(request("b", prompt(2, 3), 4), b);
        a.await();
        b.await();
        await().until(() -> engine.stats().generatedTokens() == 9);
        assertThat(engine.stats().promptTokens()).isEqualTo(10);
        assertThat(ttft).hasSize(2);
        assertThat(itl).hasSize(4 + 3);
        assertThat(engine.stats().p50StepMillis()).isPositive();
        assertThat(engine.stats().tokensPerSecond()).isPositive();
        assertThat(engine.stats().kvBlocksTotal()).isEqualTo(64);
    }

    @Test
    void everyRequestAcceptedWhileTheEngineClosesIsAnswered() throws Exception {
        for (int round = 0; round < 20; round++) {
            Engine engine = engine(new PagedTokenBackend(0, 4096), o -> o.numKvBlocks = 64);
            List<Collector> accepted = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch submitting = new CountDownLatch(2);
            List<Thread> submitters = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int thread = t;
                Thread submitter = new Thread(() -> {
                    submitting.countDown();
                    for (int i = 0; i < 10_000; i++) {
                        Collector c = new Collector();
                        try {
                            engine.submit(request("t" + thread + "-" + i, prompt(i, 3), 2), c);
                            accepted.add(c);
                        } catch (RequestRejectedException e) {
                            return; // closed: every later submission is refused too
                        }
                    }
                });
                submitter.start();
                submitters.add(submitter);
            }
            submitting.await();
            engine.close();
            for (Thread t : submitters) t.join(30_000);
            // close() has returned and nobody is submitting: whatever was accepted has had its answer.
            assertThat(accepted).allSatisfy(c -> assertThat(c.done).isDone());
        }
    }

    @Test
    void everyRequestAcceptedBeforeADrainFinishes() throws Exception {
        PagedTokenBackend backend = new PagedTokenBackend(0, 4096);
        Engine engine = engine(backend, o -> o.numKvBlocks = 64);
        List<Collector> accepted = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread submitter = new Thread(() -> {
            for (int i = 0; i < 10_000; i++) {
                Collector c = new Collector();
                try {
                    engine.submit(request("d" + i, prompt(i, 3), 2), c);
                    accepted.add(c);
                } catch (RequestRejectedException e) {
                    return;
                }
            }
        });
        submitter.start();
        await().atMost(Duration.ofSeconds(30)).until(() -> !accepted.isEmpty());
        engine.drain().get(30, java.util.concurrent.TimeUnit.SECONDS);
        submitter.join(30_000);
        // drained means no accepted request is left: each has finished, with its tokens
        assertThat(accepted).allSatisfy(c -> assertThat(c.done.getNow(null).reason()).isEqualTo(FinishReason.LENGTH));
        assertThat(engine.isDrained()).isTrue();
        engine.undrain();
        Collector after = new Collector();
        engine.submit(request("after", prompt(1, 3), 2), after);
        assertThat(after.await().reason()).isEqualTo(FinishReason.LENGTH);
    }
}

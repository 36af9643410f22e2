package org.autoglm.node.engine;

import java.time.Instant;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.autoglm.node.engine.RequestRejectedException.Kind;
import org.autoglm.node.engine.grammar.SequenceGrammar;
import org.autoglm.node.engine.grammar.StructuredOutput;
import org.autoglm.node.engine.kv.BlockPool;
import org.autoglm.node.engine.kv.KvCacheManager;
import org.autoglm.node.engine.runner.ModelRunner;
import org.autoglm.node.engine.runner.SamplerFactory;
import org.autoglm.node.engine.scheduler.Scheduler;
import org.autoglm.node.engine.scheduler.Sequence;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's local inference service: continuous batching over one backend, driven by one engine thread.
 *
 * <p>{@link #submit} checks a request at once (refusing it with a reason, or accepting it) and hands it to
 * the engine thread; from then on everything about it happens on that thread, including the calls to its
 * listener. The backend is passed in and stays the caller's to close.
 */
public final class Engine implements InferenceService, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Engine.class);
    private static final long IDLE_POLL_MILLIS = 20;

    /** Replaced whole by {@link #reload}; the scheduler gets the change on the engine thread. */
    private volatile EngineOptions options;
    private final GlmConfig config;
    private final int numKvBlocks;
    private final int maxModelLen;
    private final TextStream.Factory text;
    private final SamplerFactory samplers;
    private final StructuredOutput structured;
    private final EngineStats stats = new EngineStats();
    private final EngineLoop loop;
    private final Scheduler scheduler;
    private final Thread thread;
    private final LinkedBlockingQueue<Runnable> inbox = new LinkedBlockingQueue<>();
    /** Requests accepted and not finished: the ids a cancel can find, and duplicate detection. */
    private final Set<String> active = ConcurrentHashMap.newKeySet();
    /** Accepted requests not yet scheduled: what {@code maxWaiting} limits. */
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong nextSequenceId = new AtomicLong();
    private final long startNanos = System.nanoTime();
    /** Completes when draining and no request is left; a fresh one after {@link #undrain}. */
    private volatile CompletableFuture<Void> drained = new CompletableFuture<>();
    private volatile boolean draining;
    private volatile boolean closed;
    /**
     * Held while a submission is checked and queued, and while closing or draining starts: a request is either
     * refused or in the inbox before the engine thread's last look at it, so every accepted request is answered.
     */
    private final Object admission = new Object();

    /**
     * Starts an engine on {@code backend}, allocating its KV cache.
     *
     * @param text     makes each request's detokenizer + stop-string matcher ({@link TextStream.Factory#NONE}: ids only)
     * @param samplers makes each request's sampler
     */
    public Engine(Backend backend, EngineOptions options, TextStream.Factory text, SamplerFactory samplers) {
        this(backend, options, text, samplers, StructuredOutput.NONE);
    }

    /** @param structured compiles output constraints for this model ({@link StructuredOutput#NONE}: refuse them) */
    public Engine(Backend backend, EngineOptions options, TextStream.Factory text, SamplerFactory samplers,
                  StructuredOutput structured) {
        this.options = options;
        this.structured = structured;
        this.config = backend.config();
        this.text = text;
        this.samplers = samplers;
        this.maxModelLen = options.maxModelLen() > 0 ? options.maxModelLen() : config.maxPositionEmbeddings();
        int blocks = options.numKvBlocks() > 0 ? options.numKvBlocks() : backend.maxKvBlocks(options.blockSize());
        if (blocks < 1) {
            throw new IllegalArgumentException(backend.description() + " has no memory for KV blocks of "
                    + options.blockSize() + " tokens; give it more memory or set the number of KV blocks");
        }
        this.numKvBlocks = blocks;
        backend.allocateKvCache(blocks, options.blockSize());
        KvCacheManager kv = new KvCacheManager(new BlockPool(blocks), options.blockSize(), options.prefixCaching());
        Scheduler scheduler = new Scheduler(options.maxNumSeqs(), options.maxNumBatchedTokens(), kv, options.newPolicy());
        scheduler.limitBatchLineTokens(options.batchLineTokensPerStep());
        this.scheduler = scheduler;
        this.loop = new EngineLoop(scheduler, new ModelRunner(backend, samplers), stats, config.eosTokenIds(),
                maxModelLen, queued::decrementAndGet);
        this.thread = new Thread(this::run, "autoglm-engine");
        thread.setDaemon(true);
        thread.start();
        log.info("engine on {}: {} KV blocks of {} tokens, policy {}, max {} seqs / {} tokens per step",
                backend.description(), blocks, options.blockSize(), options.schedulingPolicy(),
                options.maxNumSeqs(), options.maxNumBatchedTokens());
    }

    /** An engine with the model's tokenizer for text and stop strings, and the models module's sampler. */
    public Engine(Backend backend, EngineOptions options, GlmTokenizer tokenizer) {
        this(backend, options, TextStream.Factory.of(tokenizer), SamplerFactory.DEFAULT);
    }

    /** Also with structured output (JSON schemas, regexes, tool calls) over the model's vocabulary. */
    public Engine(Backend backend, EngineOptions options, GlmTokenizer tokenizer, StructuredOutput structured) {
        this(backend, options, TextStream.Factory.of(tokenizer), SamplerFactory.DEFAULT, structured);
    }

    @Override
    public EngineOptions options() {
        return options;
    }

    @Override
    public void reload(EngineOptions next) {
        options.requireOnlyReloadableChanges(next);
        org.autoglm.node.engine.policy.SchedulingPolicy policy = next.newPolicy();
        this.options = next; // admission (max waiting) sees it at once
        inbox.add(() -> scheduler.reconfigure(next.maxNumSeqs(), next.maxNumBatchedTokens(), policy));
        log.info("engine reconfigured: policy {}, max {} seqs / {} tokens per step, {} waiting", next.schedulingPolicy(),
                next.maxNumSeqs(), next.maxNumBatchedTokens(), next.maxWaiting());
    }

    @Override
    public CompletableFuture<java.util.List<String>> reprioritize(java.util.function.Predicate<String> matches,
                                                                  int priority) {
        CompletableFuture<java.util.List<String>> done = new CompletableFuture<>();
        inbox.add(() -> done.complete(scheduler.reprioritize(matches, priority)));
        return done;
    }

    @Override
    public EngineStats stats() {
        return stats;
    }

    public int numKvBlocks() {
        return numKvBlocks;
    }

    /** Token ids the model knows: prompts must stay below this. */
    public int vocabSize() {
        return config.vocabSize();
    }

    /** Longest prompt + output accepted. */
    public int maxModelLen() {
        return maxModelLen;
    }

    @Override
    public RequestHandle submit(GenerationRequest request, GenerationListener listener) throws RequestRejectedException {
        validate(request);
        synchronized (admission) {
            enqueue(request, listener);
        }
        return new RequestHandle() {
            @Override
            public String requestId() {
                return request.id();
            }

            @Override
            public boolean cancel() {
                return Engine.this.cancel(request.id());
            }
        };
    }

    /** Checks admission and queues the request for the engine thread; under {@link #admission}. */
    private void enqueue(GenerationRequest request, GenerationListener listener) throws RequestRejectedException {
        if (closed || draining) {
            throw new RequestRejectedException(Kind.UNAVAILABLE, "this node is " + (closed ? "shutting down" : "draining")
                    + " and takes no new requests; retry on another node");
        }
        TextStream stream = resumedText(request);
        SequenceGrammar grammar = grammar(request);
        if (!active.add(request.id())) {
            throw new RequestRejectedException(Kind.INVALID, "a request with id '" + request.id() + "' is already running");
        }
        if (queued.incrementAndGet() > options.maxWaiting()) {
            queued.decrementAndGet();
            active.remove(request.id());
            throw new RequestRejectedException(Kind.OVERLOADED, options.maxWaiting()
                    + " requests are already waiting on this node; retry later");
        }
        long now = System.nanoTime();
        Sequence seq = new Sequence(nextSequenceId.getAndIncrement(), request.id(), request.promptIds(), request.params(),
                request.priority(), now - startNanos, grammar, request.batch());
        GenerationListener tracked = new GenerationListener() {
            @Override
            public void onScheduled() {
                listener.onScheduled();
            }

            @Override
            public void onDelta(TokenDelta delta) {
                listener.onDelta(delta);
            }

            @Override
            public void onFinish(Completion completion) {
                active.remove(request.id());
                listener.onFinish(completion);
            }
        };
        RequestState state = new RequestState(request, tracked, seq, stream, now,
                deadlineNanos(request.deadline(), now));
        inbox.add(() -> loop.add(state));
    }

    /**
     * The longest batch lines are held for an interactive request announced by {@link #expectInteractive}: a claim
     * takes ~10-40 ms; one that takes longer (or fails) lets batch work go on.
     */
    public static final long INTERACTIVE_HOLD_MILLIS = 100;

    @Override
    public void expectInteractive() {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(INTERACTIVE_HOLD_MILLIS);
        inbox.add(() -> loop.holdBatchLines(until)); // after the step in progress: no new batch-line step begins
    }

    @Override
    public boolean cancel(String requestId) {
        if (!active.contains(requestId)) return false;
        inbox.add(() -> loop.cancel(requestId));
        return true;
    }

    /**
     * Stops taking new requests and lets the accepted ones finish (for a rolling restart or node removal).
     * New submissions are refused as {@code UNAVAILABLE}.
     *
     * @return completes when no request is left
     */
    @Override
    public CompletableFuture<Void> drain() {
        synchronized (admission) {
            draining = true;
        }
        inbox.add(() -> {}); // wake the loop so an idle engine completes the future now
        return drained;
    }

    @Override
    public void undrain() {
        draining = false;
        if (drained.isDone()) drained = new CompletableFuture<>();
    }

    @Override
    public boolean isDraining() {
        return draining;
    }

    @Override
    public boolean isDrained() {
        return draining && drained.isDone();
    }

    /** Cancels everything still running and stops the engine thread. Does not close the backend. */
    @Override
    public void close() {
        synchronized (admission) {
            if (closed) return;
            closed = true;
        }
        inbox.add(loop::cancelAll);
        // No interrupt: the thread may be inside the backend's forward; it sees `closed` after that step.
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void run() {
        try {
            while (!closed) {
                long held = loop.batchLinesHeldNanos(); // only held batch lines to run: sleep until work comes
                Runnable task = !loop.hasWork() ? inbox.poll(IDLE_POLL_MILLIS, TimeUnit.MILLISECONDS)
                        : held > 0 ? inbox.poll(held, TimeUnit.NANOSECONDS) : inbox.poll();
                while (task != null) {
                    task.run();
                    task = inbox.poll();
                }
                if (loop.hasWork()) {
                    stepSafely();
                } else if (draining && active.isEmpty()) {
                    drained.complete(null);
                }
            }
        } catch (InterruptedException e) {
            // closing
        } finally {
            synchronized (admission) {
                closed = true; // also when the thread ends another way: no submission may land after this
            }
            Runnable task;
            while ((task = inbox.poll()) != null) task.run(); // late submissions and cancels
            loop.cancelAll();
            drained.complete(null);
        }
    }

    /** A bug in one step must not stop the node: log it and go on with the next. */
    private void stepSafely() {
        try {
            loop.step();
        } catch (RuntimeException e) {
            log.error("engine step failed", e);
        }
    }

    private void validate(GenerationRequest r) throws RequestRejectedException {
        if (r.id() == null || r.id().isBlank()) throw new RequestRejectedException(Kind.INVALID, "the request has no id");
        int[] prompt = r.promptIds();
        if (prompt == null || prompt.length == 0) throw new RequestRejectedException(Kind.INVALID, "the prompt is empty");
        if (r.params() == null) throw new RequestRejectedException(Kind.INVALID, "the request has no sampling parameters");
        int maxTokens = r.params().maxTokens();
        if (maxTokens < 1) {
            throw new RequestRejectedException(Kind.INVALID, "max_tokens must be at least 1, got " + maxTokens);
        }
        int vocab = config.vocabSize();
        for (int i = 0; i < prompt.length; i++) {
            if (prompt[i] < 0 || prompt[i] >= vocab) {
                throw new RequestRejectedException(Kind.INVALID, "prompt token " + i + " is " + prompt[i]
                        + ", outside the model's vocabulary of " + vocab + " ids");
            }
        }
        if ((long) prompt.length + maxTokens > maxModelLen) {
            throw new RequestRejectedException(Kind.TOO_LONG, "the prompt (" + prompt.length + " tokens) plus max_tokens ("
                    + maxTokens + ") is " + ((long) prompt.length + maxTokens) + " tokens, more than the model's context of "
                    + maxModelLen + "; shorten the prompt or lower max_tokens");
        }
        long kvTokens = (long) numKvBlocks * options.blockSize();
        if (prompt.length + 1 > kvTokens) {
            throw new RequestRejectedException(Kind.TOO_LONG, "the prompt (" + prompt.length + " tokens) does not fit in "
                    + "this node's KV cache of " + kvTokens + " tokens (" + numKvBlocks + " blocks of "
                    + options.blockSize() + "); shorten the prompt or give the node more KV cache memory");
        }
        if (!r.params().stop().isEmpty() && text == TextStream.Factory.NONE) {
            throw new RequestRejectedException(Kind.INVALID, "stop strings need the model's tokenizer, and this engine runs without one");
        }
        try {
            samplers.create(r.params(), prompt); // the sampler checks its parameters; a throwaway one tells us now
        } catch (IllegalArgumentException e) {
            throw new RequestRejectedException(Kind.INVALID, e.getMessage());
        }
        if (r.deadline() != null && !r.deadline().isAfter(Instant.now())) {
            throw new RequestRejectedException(Kind.INVALID, "the request's deadline " + r.deadline() + " has already passed");
        }
    }

    private static long deadlineNanos(Instant deadline, long nowNanos) {
        if (deadline == null) return Long.MAX_VALUE;
        long millis = deadline.toEpochMilli() - System.currentTimeMillis();
        return nowNanos + TimeUnit.MILLISECONDS.toNanos(Math.max(0, millis));
    }

    /**
     * The request's grammar state, past the output it already delivered elsewhere (failover resumes after the tokens
     * the client has, so the grammar must too), or null when the output is free.
     */
    private SequenceGrammar grammar(GenerationRequest request) throws RequestRejectedException {
        if (request.constraint() == null) return null;
        SequenceGrammar grammar;
        try {
            grammar = structured.start(request.constraint());
        } catch (RuntimeException e) {
            throw new RequestRejectedException(Kind.INVALID, e.getMessage());
        }
        for (int id : request.resumedOutput()) {
            if (!grammar.accept(id)) {
                throw new RequestRejectedException(Kind.INVALID, "the output already sent does not fit the request's "
                        + "output grammar (token " + id + ")");
            }
        }
        return grammar;
    }

    /**
     * The request's text stream, brought to where the node that streamed its {@code resumedOutput} left it: the
     * text that node released is dropped, and what it held back (half a UTF-8 character, a possible stop string)
     * comes out with the next tokens, so the client's text continues seamlessly.
     */
    private TextStream resumedText(GenerationRequest request) {
        TextStream stream = text.create(request.params());
        for (int id : request.resumedOutput()) {
            stream.push(id);
        }
        return stream;
    }
}

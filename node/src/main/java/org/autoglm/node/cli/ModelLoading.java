package org.autoglm.node.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.autoglm.models.chat.ChatTemplate;
import org.autoglm.models.chat.ToolCallFormat;
import org.autoglm.kernels.BackendFactory;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.tokenizer.GlmTokenizer;
import org.autoglm.node.api.CheckpointModel;
import org.autoglm.node.api.ServingState;
import org.autoglm.node.engine.Engine;
import org.autoglm.node.engine.EngineOptions;
import org.autoglm.node.engine.EngineStats;
import org.autoglm.node.engine.grammar.StructuredOutput;
import org.autoglm.node.telemetry.EngineLoad;
import org.autoglm.node.telemetry.RequestMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the checkpoint and starts the engine behind an already running HTTP server, then flips the node to
 * ready (or records why it could not, which {@code /ready} reports).
 */
final class ModelLoading implements AutoCloseable, org.autoglm.node.control.EngineSwitch {

    private static final Logger log = LoggerFactory.getLogger(ModelLoading.class);

    /**
     * What {@code serve} asked for, checked ({@link ModelFlags#plan}).
     *
     * @param demo write the built-in demo checkpoint into {@code dir} first if it is not there
     * @param cuda the CUDA backend's flags ({@code --gpu-memory-utilization}, {@code --quantize}, {@code --cuda-option})
     * @param toolCallParser {@code glm4}, {@code glm45} or {@code auto} (from the chat template)
     */
    record Plan(Path dir, String servedName, boolean demo, BackendFactory.Kind backend,
            java.util.function.Consumer<org.autoglm.kernels.CudaConfig> cuda, EngineOptions engine, String toolCallParser,
            org.autoglm.kernels.cpu.CpuOptions cpu) {}

    private final Plan plan;
    private final ServingState state;
    private final RequestMetrics metrics;
    /** Closed in reverse order: engine before backend before tokenizer. */
    private final List<AutoCloseable> open = new ArrayList<>();
    private volatile boolean closed;
    /** Filled once the backend is open, for the cluster registry. */
    private volatile String backendKind = "none";
    private volatile String device = "none";
    /** The checkpoint serving now (load-model changes it). */
    private volatile Path currentDir;
    private static final long DRAIN_TIMEOUT_SECONDS = 120;

    ModelLoading(Plan plan, ServingState state, RequestMetrics metrics) {
        this.plan = plan;
        this.state = state;
        this.metrics = metrics;
        this.currentDir = plan.dir();
    }

    /** Runs on the loader thread. */
    void load() {
        Plan s = plan;
        try {
            if (s.demo()) {
                DemoModel.ensure(s.dir()); // first run without --model: write the built-in demo checkpoint
            }
            Built built = build(s.dir(), s.engine());
            synchronized (this) {
                if (closed) {
                    built.close();
                    return;
                }
                open.addAll(built.resources());
            }
            state.ready(built.loaded());
            log.info("Model '{}' loaded from {}: ready", s.servedName(), s.dir());
        } catch (Exception | LinkageError e) {
            String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            log.error("Cannot load the model from {}: {}", s.dir(), reason);
            state.failed(reason);
            close();
        }
    }

    /** A loaded checkpoint and what to close when it stops serving (engine last in, first closed). */
    private record Built(ServingState.Loaded loaded, List<AutoCloseable> resources) {
        void close() {
            for (int i = resources.size() - 1; i >= 0; i--) {
                try {
                    resources.get(i).close();
                } catch (Exception e) {
                    log.warn("Closing {}: {}", resources.get(i), e.getMessage());
                }
            }
        }
    }

    private Built build(Path dir, EngineOptions options) throws Exception {
        Plan s = plan;
        List<AutoCloseable> resources = new ArrayList<>();
        try {
            GlmTokenizer tokenizer = GlmTokenizer.load(dir);
            resources.add(tokenizer);
            ChatTemplate template = ChatTemplate.load(dir);
            BackendFactory.Kind kind = BackendFactory.resolve(s.backend());
            Backend backend = BackendFactory.open(kind, dir, cuda -> {
                s.cuda().accept(cuda);
                cuda.maxSeqs = options.maxNumSeqs();
                cuda.maxBatchTokens = options.maxNumBatchedTokens();
                cuda.maxModelLen = options.maxModelLen();
            }, s.cpu());
            resources.add(backend);
            backendKind = kind.name().toLowerCase(java.util.Locale.ROOT);
            device = backend.description();
            StructuredOutput structured = StructuredOutput.forModel(dir, tokenizer,
                    backend.config().eosTokenIds(), backend.config().vocabSize());
            resources.add(structured);
            Engine engine = new Engine(backend, options, tokenizer, structured);
            resources.add(engine);
            engine.stats().addObserver(new EngineStats.Observer() {
                @Override
                public void queueTime(long nanos) {
                    metrics.queued(Duration.ofNanos(nanos));
                }
            });
            CheckpointModel model = new CheckpointModel(s.servedName(), engine.maxModelLen(),
                    backend.config().vocabSize(), tokenizer, template, ToolCallFormat.select(s.toolCallParser(), template));
            return new Built(new ServingState.Loaded(model, engine, () -> load(engine.stats())), resources);
        } catch (Exception | LinkageError e) {
            new Built(null, resources).close();
            throw e;
        }
    }

    /**
     * {@code restart-engine} and {@code load-model}: builds the new engine beside the old one, drains the node (the
     * cluster places nothing here meanwhile), checks the new engine with a one-token generation, switches serving to
     * it and closes the old one. Any failure before the switch leaves the old engine serving: rolled back.
     */
    @Override
    public synchronized String switchTo(Path dir) throws Exception {
        Path target = dir != null ? dir : currentDir;
        if (!java.nio.file.Files.isDirectory(target)) {
            throw new IllegalArgumentException("model_dir " + target + " is not a directory on this node");
        }
        ServingState.Loaded old = state.current();
        if (old == null || closed) {
            throw new IllegalStateException("no engine is serving on this node yet; nothing to switch from");
        }
        Built next;
        try {
            next = build(target, old.engine().options()); // limits reloaded since start carry over
        } catch (Exception | LinkageError e) {
            throw new IllegalStateException("loading " + target + " failed, the old engine keeps serving (rolled back): "
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
        }
        boolean wasDraining = state.isDraining();
        state.draining(true);
        try {
            old.engine().drain().get(DRAIN_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
            smokeTest(next.loaded().engine());
        } catch (Exception e) {
            next.close();
            state.draining(wasDraining);
            throw new IllegalStateException("switching to " + target + " failed, the old engine keeps serving (rolled"
                    + " back): " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
        }
        List<AutoCloseable> retired = new ArrayList<>(open);
        open.clear();
        open.addAll(next.resources());
        currentDir = target;
        state.replace(next.loaded());
        new Built(null, retired).close();
        state.draining(wasDraining);
        log.info("now serving {} from {} on a new engine", plan.servedName(), target);
        return plan.servedName() + " from " + target + " on " + device;
    }

    /** The checkpoint directory serving now: the start's, or the last one load-model switched to. */
    Path currentDir() {
        return currentDir;
    }

    /** One greedy token from token id 0: the new engine runs end to end before it serves anyone. */
    private static void smokeTest(org.autoglm.node.engine.InferenceService engine) throws Exception {
        java.util.concurrent.CompletableFuture<org.autoglm.node.engine.Completion> done = new java.util.concurrent.CompletableFuture<>();
        engine.submit(org.autoglm.node.engine.GenerationRequest.of("engine-check-" + java.util.UUID.randomUUID(),
                new int[] {0}, org.autoglm.models.sampling.SamplingParams.greedy(1)), new org.autoglm.node.engine.GenerationListener() {
            @Override
            public void onDelta(org.autoglm.node.engine.TokenDelta delta) {}

            @Override
            public void onFinish(org.autoglm.node.engine.Completion completion) {
                done.complete(completion);
            }
        });
        org.autoglm.node.engine.Completion c = done.get(DRAIN_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
        if (c.error() != null) {
            throw new IllegalStateException("the new engine's check generation failed: " + c.error());
        }
    }

    /** {@code cuda}, {@code cpu} or {@code djl} once loaded. */
    String backendKind() {
        return backendKind;
    }

    /** The backend's own description (device, precision) once loaded. */
    String device() {
        return device;
    }

    private static EngineLoad load(EngineStats stats) {
        return new EngineLoad(stats.running(), stats.waiting(), stats.kvUsage(), stats.prefixQueryTokens(),
                stats.prefixHitTokens());
    }

    @Override
    public synchronized void close() {
        closed = true;
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Exception e) {
                log.warn("Closing {}: {}", open.get(i), e.getMessage());
            }
        }
        open.clear();
    }
}

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
final class ModelLoading implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ModelLoading.class);

    /**
     * What {@code serve} asked for, checked ({@link ModelFlags#plan}).
     *
     * @param demo write the built-in demo checkpoint into {@code dir} first if it is not there
     * @param toolCallParser {@code glm4}, {@code glm45} or {@code auto} (from the chat template)
     */
    record Plan(Path dir, String servedName, boolean demo, BackendFactory.Kind backend, double gpuMemoryUtilization,
            EngineOptions engine, String toolCallParser,
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

    ModelLoading(Plan plan, ServingState state, RequestMetrics metrics) {
        this.plan = plan;
        this.state = state;
        this.metrics = metrics;
    }

    /** Runs on the loader thread. */
    void load() {
        Plan s = plan;
        try {
            if (s.demo()) {
                DemoModel.ensure(s.dir()); // first run without --model: write the built-in demo checkpoint
            }
            GlmTokenizer tokenizer = keep(GlmTokenizer.load(s.dir()));
            ChatTemplate template = ChatTemplate.load(s.dir());
            BackendFactory.Kind kind = BackendFactory.resolve(s.backend());
            EngineOptions options = s.engine();
            Backend backend = keep(BackendFactory.open(kind, s.dir(), cuda -> {
                cuda.gpuMemoryUtilization = s.gpuMemoryUtilization();
                cuda.maxSeqs = options.maxNumSeqs();
                cuda.maxBatchTokens = options.maxNumBatchedTokens();
                cuda.maxModelLen = options.maxModelLen();
            }, s.cpu()));
            backendKind = kind.name().toLowerCase(java.util.Locale.ROOT);
            device = backend.description();
            StructuredOutput structured = keep(StructuredOutput.forModel(s.dir(), tokenizer,
                    backend.config().eosTokenIds(), backend.config().vocabSize()));
            Engine engine = keep(new Engine(backend, options, tokenizer, structured));
            engine.stats().addObserver(new EngineStats.Observer() {
                @Override
                public void queueTime(long nanos) {
                    metrics.queued(Duration.ofNanos(nanos));
                }
            });
            CheckpointModel model = new CheckpointModel(s.servedName(), engine.maxModelLen(),
                    backend.config().vocabSize(), tokenizer, template, ToolCallFormat.select(s.toolCallParser(), template));
            if (closed) {
                return;
            }
            state.ready(new ServingState.Loaded(model, engine, () -> load(engine.stats())));
            log.info("Model '{}' loaded from {}: ready", s.servedName(), s.dir());
        } catch (Exception | LinkageError e) {
            String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            log.error("Cannot load the model from {}: {}", s.dir(), reason);
            state.failed(reason);
            close();
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

    private synchronized <T extends AutoCloseable> T keep(T resource) {
        open.add(resource);
        return resource;
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

package org.autoglm.node.cli;

import java.nio.file.Path;
import org.autoglm.node.api.ServingState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the checkpoint and starts the engine behind a running HTTP server, then flips the node to ready
 * (or records why it could not).
 */
final class ModelLoading {

    private static final Logger log = LoggerFactory.getLogger(ModelLoading.class);

    /** What {@code serve} asked for. */
    record Settings(Path dir, String servedName, int maxNumSeqs, int maxNumBatchedTokens, String schedulingPolicy,
            int maxWaiting, int blockSize, int numKvBlocks, int maxModelLen, boolean prefixCaching, boolean demo) {}

    private ModelLoading() {}

    /**
     * Where {@code serve} without {@code --model} finds the demo model:
     * {@code $XDG_DATA_HOME/autoglm/demo} or {@code ~/.local/share/autoglm/demo}.
     */
    static Path demoModelDir() {
        String xdg = System.getenv("XDG_DATA_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
        return base.resolve("autoglm").resolve("demo");
    }

    static void load(Settings s, ServingState state) {
        try {
            if (s.demo()) {
                // DEMO MODEL CALL SITE: the lead's DemoModel.ensure(dir) creates the demo checkpoint on first run.
            }
            throw new IllegalStateException("the engine is not part of this build yet");
        } catch (Exception | LinkageError e) {
            String reason = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            log.error("Cannot load the model from {}: {}", s.dir(), reason);
            state.failed(reason);
        }
    }

    static void close(ServingState state) {
        // Engine shutdown goes here once the engine is wired.
    }
}

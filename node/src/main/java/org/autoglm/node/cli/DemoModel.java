package org.autoglm.node.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.tokenizer.ByteLevelTokenizerWriter;
import org.autoglm.models.weights.DType;
import org.autoglm.models.weights.RandomCheckpointWriter;

/**
 * The built-in demo model: a small, randomly initialised glm4 checkpoint written by our own code (config,
 * safetensors, a byte-level BPE tokenizer with the GLM special tokens, the chat template), so that a node
 * runs out of the box with no download. Its output is gibberish by design; its shape, files and behaviour are
 * those of a real checkpoint.
 */
public final class DemoModel {

    /** Fixed seed: every machine writes the same demo model. */
    private static final long SEED = 20261127L;

    private DemoModel() {}

    /**
     * Where {@code serve} without {@code --model} keeps the demo model:
     * {@code $XDG_DATA_HOME/autoglm/demo}, else {@code ~/.local/share/autoglm/demo}.
     */
    public static Path defaultDir() {
        String xdg = System.getenv("XDG_DATA_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
        return base.resolve("autoglm").resolve("demo");
    }

    /** Writes the demo model into {@code dir} unless a complete one is already there; returns {@code dir}. */
    public static Path ensure(Path dir) throws IOException {
        if (Files.isRegularFile(dir.resolve("model.safetensors")) && Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return dir;
        }
        write(dir);
        return dir;
    }

    /** Writes (or overwrites) the demo model into {@code dir}. */
    public static void write(Path dir) throws IOException {
        Files.createDirectories(dir);
        // The tokenizer decides the vocabulary and the special-token ids the config must name.
        ByteLevelTokenizerWriter.Result tokenizer = ByteLevelTokenizerWriter.write(dir);
        // Small enough for a laptop CPU (about 7M parameters), shaped like GLM-4: GQA, half-rotary heads,
        // biased q/k/v, post-attention and post-MLP norms.
        GlmConfig shape = new GlmConfig("glm4", tokenizer.vocabSize(), 256, 768, 4, 8, 2, 32, 0.5, 10000.0, 1e-5,
                4096, true, false, tokenizer.eosTokenIds(), tokenizer.padTokenId(), "float32");
        // Weights last: ensure() treats a directory with model.safetensors as complete.
        RandomCheckpointWriter.write(dir, shape, DType.F32, SEED);
    }
}

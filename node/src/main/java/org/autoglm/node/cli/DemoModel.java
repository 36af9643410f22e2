package org.autoglm.node.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;
import org.autoglm.models.config.GlmConfig;
import org.autoglm.models.tokenizer.ByteLevelTokenizerWriter;
import org.autoglm.models.tokenizer.GlmTokenizer;
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
     * {@code $XDG_DATA_HOME/autoglm/demo}, else {@code $HOME/.local/share/autoglm/demo} ({@code $HOME} as the shell
     * has it, which Java's {@code user.home} need not be), else under {@code user.home}.
     */
    public static Path defaultDir() {
        return defaultDir(System.getenv());
    }

    static Path defaultDir(java.util.Map<String, String> env) {
        String xdg = env.get("XDG_DATA_HOME");
        String home = env.get("HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg)
                : Path.of(home != null && !home.isBlank() ? home : System.getProperty("user.home"), ".local", "share");
        return base.resolve("autoglm").resolve("demo");
    }

    /**
     * Writes the demo model into {@code dir} unless a complete one is already there; returns {@code dir}. Safe when
     * several nodes on one host start at once: each writes into its own temporary directory beside {@code dir} and
     * renames it into place atomically, so nobody ever reads (or overwrites) a half-written model.
     */
    public static Path ensure(Path dir) throws IOException {
        if (complete(dir)) {
            return dir;
        }
        Path parent = dir.toAbsolutePath().normalize().getParent();
        Files.createDirectories(parent);
        Path tmp = Files.createTempDirectory(parent, dir.getFileName() + ".writing-");
        try {
            write(tmp);
            if (!moveInto(tmp, dir) && !complete(dir)) {
                // An incomplete directory from an interrupted first run is in the way: move it aside, then retry.
                Path stale = Files.createTempDirectory(parent, dir.getFileName() + ".stale-");
                Files.delete(stale);
                try {
                    Files.move(dir, stale, StandardCopyOption.ATOMIC_MOVE);
                    deleteTree(stale);
                } catch (NoSuchFileException gone) {
                    // another node moved it aside first
                }
                if (!moveInto(tmp, dir) && !complete(dir)) {
                    throw new IOException("cannot write the demo model into " + dir
                            + ": the directory is in the way; remove it and start again");
                }
            }
            return dir;
        } finally {
            deleteTree(tmp);
        }
    }

    private static boolean complete(Path dir) {
        return Files.isRegularFile(dir.resolve("model.safetensors")) && Files.isRegularFile(dir.resolve("tokenizer.json"));
    }

    /** Renames {@code from} to {@code to}; false when {@code to} already exists (someone else was first). */
    private static boolean moveInto(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
            return true;
        } catch (IOException e) {
            if (Files.exists(to)) { // rename(2) onto a non-empty directory fails with ENOTEMPTY (or EEXIST)
                return false;
            }
            throw e;
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
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

    /**
     * Writes a random demo model whose vocabulary is that of {@code tokenizerJson} (for instance a real 151k one),
     * so that everything that walks the vocabulary per token runs at a real scale. End-of-sequence and padding ids
     * come from the tokenizer's own config; without a chat template there, the demo's GLM-4 template is written.
     */
    public static void writeWithTokenizer(Path dir, Path tokenizerJson) throws IOException {
        if (!Files.isRegularFile(tokenizerJson)) {
            throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(new InitDemoCommand()),
                    "--tokenizer: no file at " + tokenizerJson.toAbsolutePath());
        }
        Files.createDirectories(dir);
        Files.copy(tokenizerJson, dir.resolve("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        Path config = tokenizerJson.toAbsolutePath().getParent().resolve("tokenizer_config.json");
        boolean hasTemplate = false;
        if (Files.isRegularFile(config)) {
            Files.copy(config, dir.resolve("tokenizer_config.json"), StandardCopyOption.REPLACE_EXISTING);
            hasTemplate = Files.readString(config).contains("\"chat_template\"");
        }
        if (!hasTemplate) {
            Files.writeString(dir.resolve("chat_template.jinja"), ByteLevelTokenizerWriter.CHAT_TEMPLATE);
        }
        int vocabSize;
        int[] eos;
        int pad;
        try (GlmTokenizer loaded = GlmTokenizer.load(dir)) {
            vocabSize = (loaded.vocabSize() + 63) / 64 * 64;   // padded like real checkpoints
            eos = loaded.eosTokenIds();
            pad = eos.length > 0 ? eos[0] : 0;
            for (String name : new String[] {"<|endoftext|>", "[PAD]", "<pad>"}) {
                var id = loaded.tokenId(name);
                if (id.isPresent()) {
                    pad = id.getAsInt();
                    break;
                }
            }
        }
        if (eos.length == 0) {
            throw new IOException("the tokenizer at " + tokenizerJson + " names no end-of-sequence token (eos_token"
                    + " in tokenizer_config.json): the model could never stop");
        }
        GlmConfig shape = new GlmConfig("glm4", vocabSize, 256, 768, 4, 8, 2, 32, 0.5, 10000.0, 1e-5,
                4096, true, false, eos, pad, "float32");
        RandomCheckpointWriter.write(dir, shape, DType.F32, SEED);
    }
}

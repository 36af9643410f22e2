package org.autoglm.node.engine.grammar;

import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.autoglm.models.grammar.CompiledGrammar;
import org.autoglm.models.grammar.GrammarCompiler;
import org.autoglm.models.grammar.GrammarException;
import org.autoglm.models.grammar.TokenVocabulary;
import org.autoglm.models.structured.OutputConstraint;
import org.autoglm.models.tokenizer.GlmTokenizer;

/**
 * The engine's side of constrained decoding for one model: compiles each request's {@link OutputConstraint}
 * against the model's vocabulary (compiled grammars are cached by the compiler), gives each sequence its
 * {@link SequenceGrammar}, computes token masks on its own threads while the forward pass runs, and turns
 * forced text into tokens for jump-forward.
 */
public final class StructuredOutput implements AutoCloseable {

    /** An engine without a vocabulary: constrained requests are refused. */
    public static final StructuredOutput NONE = new StructuredOutput(null, null, 0);

    private final GrammarCompiler compiler;
    private final Function<String, int[]> encoder;
    private final int vocabSize;
    private final ExecutorService maskThreads;

    /**
     * @param encoder   text to token ids (the model's tokenizer, no special tokens): forced text for jump-forward
     * @param vocabSize the model's logits length
     */
    public StructuredOutput(GrammarCompiler compiler, Function<String, int[]> encoder, int vocabSize) {
        this.compiler = compiler;
        this.encoder = encoder;
        this.vocabSize = vocabSize;
        AtomicInteger n = new AtomicInteger();
        this.maskThreads = compiler == null ? null : Executors.newFixedThreadPool(
                Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors() - 1)), r -> {
                    Thread t = new Thread(r, "autoglm-grammar-mask-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
    }

    /** For a checkpoint: its {@code tokenizer.json} bytes per token, its stop tokens and its vocabulary size. */
    public static StructuredOutput forModel(Path modelDir, GlmTokenizer tokenizer, int[] stopTokenIds, int vocabSize) {
        TokenVocabulary vocabulary = TokenVocabulary.fromTokenizerJson(modelDir.resolve("tokenizer.json"),
                stopTokenIds, vocabSize);
        return new StructuredOutput(new GrammarCompiler(vocabulary), tokenizer::encode, vocabSize);
    }

    public boolean available() {
        return compiler != null;
    }

    /**
     * A fresh grammar state for a sequence under {@code constraint}.
     *
     * @throws GrammarException when the constraint cannot be enforced (the message names what and where)
     * @throws IllegalStateException when this engine has no vocabulary to constrain with
     */
    public SequenceGrammar start(OutputConstraint constraint) {
        if (compiler == null) {
            throw new IllegalStateException("this engine runs without the model's vocabulary; structured output "
                    + "and tool calls are not available");
        }
        CompiledGrammar compiled = compiler.compile(constraint.grammar());
        return new SequenceGrammar(compiled, vocabSize, maskThreads, encoder);
    }

    @Override
    public void close() {
        if (maskThreads != null) maskThreads.shutdownNow();
    }
}

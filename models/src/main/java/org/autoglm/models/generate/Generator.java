package org.autoglm.models.generate;

import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.autoglm.models.backend.Backend;
import org.autoglm.models.backend.SequenceChunk;
import org.autoglm.models.sampling.Sampler;
import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.sampling.StopChecker;
import org.autoglm.models.tokenizer.GlmTokenizer;

/**
 * Generates one sequence on a {@link Backend}, top to bottom: prefill the prompt, then decode one token at a
 * time through the KV cache, sampling and checking stop conditions after each. The node's engine does the
 * same for many sequences at once; this is the single-sequence path of the {@code generate} command and
 * the reference the engine's tests compare against.
 *
 * <p>The sequence owns every block of a KV pool allocated here, so a backend used by a generator must not be
 * shared with an engine.
 */
public final class Generator {

    /** KV block size; any value works, 16 matches the engine's default. */
    private static final int BLOCK_SIZE = 16;

    private final Backend backend;
    private final GlmTokenizer tokenizer;
    /** Longest sequence (prompt + generated) this generator holds: the KV pool's size. */
    private final int capacity;

    /**
     * Allocates a KV pool for one sequence of up to {@code maxSequenceTokens} tokens (capped at the model's
     * context length): size it to prompt + max_tokens rather than to a 128k context.
     */
    public Generator(Backend backend, GlmTokenizer tokenizer, int maxSequenceTokens) {
        this.backend = backend;
        this.tokenizer = tokenizer;
        this.capacity = Math.min(maxSequenceTokens, backend.config().maxPositionEmbeddings());
        backend.allocateKvCache(blocksFor(capacity), BLOCK_SIZE);
    }

    /**
     * What one generation produced.
     *
     * @param tokenIds     generated ids (including a final end-of-sequence id, as transformers returns them)
     * @param text         the generated text without special tokens or the matched stop string
     * @param finishReason {@code stop} or {@code length}
     * @param lastLogits   logits at the last prompt position (fp32), as the model computed them
     */
    public record Result(int[] tokenIds, String text, String finishReason, float[] lastLogits) {}

    /**
     * Generates a continuation of {@code promptIds}.
     *
     * @param onText receives each piece of final text as it is produced (for streaming to a terminal)
     * @throws IllegalArgumentException when the prompt is empty or does not fit in the context window; generation
     *     that reaches the end of the window finishes with {@code length}
     */
    public Result generate(int[] promptIds, SamplingParams params, Consumer<String> onText) {
        if (promptIds.length == 0) {
            throw new IllegalArgumentException("the prompt is empty: give at least one token");
        }
        int context = backend.config().maxPositionEmbeddings();
        if (promptIds.length >= context) {
            throw new IllegalArgumentException("the prompt has " + promptIds.length
                    + " tokens but the model's context is " + context + "; shorten it");
        }
        if (promptIds.length >= capacity) {
            throw new IllegalArgumentException("the prompt has " + promptIds.length
                    + " tokens but this generator holds " + capacity + "; create it with a larger size");
        }
        int[] blockTable = new int[blocksFor(capacity)];
        Arrays.setAll(blockTable, i -> i);
        Sampler sampler = new Sampler(params, promptIds);
        StopChecker stop = new StopChecker(params, tokenizer.eosTokenIds(), tokenizer.newDetokenizer());
        StringBuilder text = new StringBuilder();
        int[] generated = new int[params.maxTokens()];
        int count = 0;

        float[] lastLogits = forward(promptIds, 0, blockTable);
        float[] logits = lastLogits.clone(); // the sampler may adjust logits in place; keep the model's own
        int position = promptIds.length;
        while (true) {
            int token = sampler.sample(logits);
            sampler.accept(token);
            generated[count++] = token;
            StopChecker.Step step = stop.accept(token);
            if (!step.text().isEmpty()) {
                text.append(step.text());
                onText.accept(step.text());
            }
            if (step.finished()) {
                return new Result(Arrays.copyOf(generated, count), text.toString(), step.reason().finishReason(),
                        lastLogits);
            }
            if (position + 1 >= capacity) { // no room for another token's KV
                StopChecker.Step end = stop.finish(StopChecker.Reason.MAX_TOKENS);
                text.append(end.text());
                onText.accept(end.text());
                return new Result(Arrays.copyOf(generated, count), text.toString(), end.reason().finishReason(),
                        lastLogits);
            }
            logits = forward(new int[] {token}, position, blockTable);
            position++;
        }
    }

    private float[] forward(int[] tokens, int startPosition, int[] blockTable) {
        return backend.forward(List.of(new SequenceChunk(0, tokens, startPosition, blockTable, true)))[0];
    }

    private static int blocksFor(int tokens) {
        return (tokens + BLOCK_SIZE - 1) / BLOCK_SIZE;
    }
}

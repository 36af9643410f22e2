package org.autoglm.models.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.OptionalInt;
import org.autoglm.models.ModelLoadException;

/**
 * The checkpoint's own tokenizer: the Hugging Face {@code tokenizer.json} run by DJL's binding of the Rust
 * {@code tokenizers} library, so ids are exactly what transformers produces.
 *
 * <p>DJL defaults differ from transformers' {@code encode(add_special_tokens=False)}: it adds the
 * post-processor's special tokens and truncates to 512 tokens with padding on. All three are switched off
 * here; the chat template already writes {@code [gMASK]<sop>} into the text.
 *
 * <p>Thread-safe: encode and decode only read the native tokenizer.
 */
public final class GlmTokenizer implements AutoCloseable {

    private final HuggingFaceTokenizer tokenizer;
    private final TokenizerVocabulary vocabulary;
    private final int[] eosTokenIds;

    private GlmTokenizer(HuggingFaceTokenizer tokenizer, TokenizerVocabulary vocabulary, int[] eosTokenIds) {
        this.tokenizer = tokenizer;
        this.vocabulary = vocabulary;
        this.eosTokenIds = eosTokenIds;
    }

    /**
     * On a machine with CUDA, DJL picks a CUDA build of the tokenizers library and tries to download it (no network:
     * "Failed to load Huggingface native library"). Our jars carry the CPU build, which is all tokenizing needs.
     * An explicit RUST_FLAVOR (environment or system property) still wins.
     */
    private static void useBundledCpuTokenizerLibrary() {
        if (System.getenv("RUST_FLAVOR") == null && System.getProperty("RUST_FLAVOR") == null) {
            System.setProperty("RUST_FLAVOR", "cpu");
        }
    }

    /**
     * Loads {@code tokenizer.json} from a checkpoint directory (offline), plus the end-of-sequence ids from
     * {@code generation_config.json}, {@code config.json} and {@code tokenizer_config.json}.
     *
     * @throws ModelLoadException naming the file when it is missing or cannot be parsed
     */
    public static GlmTokenizer load(Path modelDir) {
        Path file = modelDir.resolve("tokenizer.json");
        if (!Files.isRegularFile(file)) {
            throw new ModelLoadException("no tokenizer at " + file.toAbsolutePath()
                    + ": a checkpoint directory needs the Hugging Face tokenizer.json next to config.json");
        }
        TokenizerVocabulary vocabulary = TokenizerVocabulary.read(file);
        useBundledCpuTokenizerLibrary();
        HuggingFaceTokenizer tokenizer;
        try {
            tokenizer = HuggingFaceTokenizer.newInstance(file, Map.of(
                    "addSpecialTokens", "false",
                    "truncation", "false",
                    "padding", "false"));
        } catch (IOException | RuntimeException e) {
            throw new ModelLoadException("cannot load tokenizer " + file.toAbsolutePath() + ": " + e.getMessage()
                    + " (is it a Hugging Face tokenizers file?)", e);
        }
        int[] eos = EosTokens.read(modelDir, vocabulary);
        return new GlmTokenizer(tokenizer, vocabulary, eos);
    }

    /** Token ids of {@code text}, with no special tokens added (special tokens written in the text are kept). */
    public int[] encode(String text) {
        long[] ids = tokenizer.encode(text, false, false).getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }

    /** Characters tokenized at a time by {@link #exceeds}: small enough to bound the native and heap memory of a call. */
    static final int PIECE_CHARS = 16 * 1024;

    /**
     * True if {@code text} has more than {@code maxTokens} tokens. The text is tokenized in pieces and counting
     * stops once past the limit, so a text far beyond any context costs about {@code maxTokens} tokens of work and
     * memory, not the whole text's. Pieces end before a space that starts a word, where byte-level BPE pre-tokenizers
     * split anyway, so the count is exact there; a piece that had to be cut elsewhere (no space in it) is allowed one
     * token of error.
     */
    public boolean exceeds(String text, int maxTokens) {
        long counted = 0;
        int forcedCuts = 0;
        for (int start = 0; start < text.length(); ) {
            int end = Math.min(text.length(), start + PIECE_CHARS);
            if (end < text.length()) {
                int cut = wordStartBefore(text, start, end);
                if (cut > start) {
                    end = cut;
                } else {
                    forcedCuts++;
                    if (Character.isLowSurrogate(text.charAt(end))) {
                        end--; // never split a surrogate pair
                    }
                }
            }
            counted += tokenizer.encode(text.substring(start, end), false, false).getIds().length;
            if (counted > (long) maxTokens + forcedCuts) {
                return true;
            }
            start = end;
        }
        return counted > maxTokens;
    }

    /** The last index in (from, to] that holds a space following a non-space and followed by a non-space; else -1. */
    private static int wordStartBefore(String text, int from, int to) {
        for (int i = to; i > from + 1; i--) {
            if (i < text.length() - 1 && text.charAt(i) == ' ' && !Character.isWhitespace(text.charAt(i - 1))
                    && !Character.isWhitespace(text.charAt(i + 1))) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Text of {@code ids}; bytes that do not form valid UTF-8 come out as U+FFFD, and ids outside the
     * vocabulary (a model's padded rows) are skipped, both as in transformers.
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        return decode(ids, 0, ids.length, skipSpecialTokens);
    }

    /** Text of {@code ids[from, to)}. */
    public String decode(int[] ids, int from, int to, boolean skipSpecialTokens) {
        long[] wide = new long[to - from];
        int n = 0;
        for (int i = from; i < to; i++) {
            if (ids[i] >= 0 && ids[i] < vocabulary.size()) {
                wide[n++] = ids[i];
            }
        }
        return tokenizer.decode(n == wide.length ? wide : Arrays.copyOf(wide, n), skipSpecialTokens);
    }

    /** One past the largest token id the tokenizer knows (regular and added tokens). */
    public int vocabSize() {
        return vocabulary.size();
    }

    /** The id of a token string as it appears in the vocabulary (e.g. {@code <|user|>}), if any. */
    public OptionalInt tokenId(String token) {
        return vocabulary.id(token);
    }

    /** Whether {@code id} is an added token marked special ({@code <|endoftext|>}, {@code [gMASK]}, ...). */
    public boolean isSpecial(int id) {
        return vocabulary.isSpecial(id);
    }

    /** Every id that ends generation, from the checkpoint's configs; never empty for a GLM checkpoint. */
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    /** A fresh streaming detokenizer for one sequence, skipping special tokens in its text. */
    public StreamingDetokenizer newDetokenizer() {
        return new StreamingDetokenizer(this, true);
    }

    @Override
    public void close() {
        tokenizer.close();
    }

    @Override
    public String toString() {
        return "GlmTokenizer[vocab=" + vocabulary.size() + ", eos=" + Arrays.toString(eosTokenIds) + "]";
    }
}

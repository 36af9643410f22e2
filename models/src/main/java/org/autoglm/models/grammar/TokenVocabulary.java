package org.autoglm.models.grammar;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.autoglm.models.tokenizer.TokenizerVocabulary;

/**
 * The token side of constrained decoding: each token id's bytes, and the stop tokens. Built once per model and
 * shared by every grammar compiled for it.
 *
 * <p>Byte-level BPE vocabularies (GPT-2, Qwen, GLM-4) spell bytes with a 256-character alphabet; those are mapped
 * back to bytes. SentencePiece-style entries ({@code ▁} for space, {@code <0xNN>} byte fallback) are read too.
 * Added tokens that are not special are their plain text (so a grammar can produce {@code <tool_call>}); special
 * tokens other than the stop tokens have no text and are never allowed; a stop token is allowed exactly where
 * the grammar may end.
 */
public final class TokenVocabulary {

    private final byte[][] bytes;
    private final boolean[] stop;
    private final int[] stopIds;
    private final TokenTrie trie;

    private TokenVocabulary(byte[][] bytes, int[] stopIds) {
        this.bytes = bytes;
        this.stopIds = stopIds.clone();
        this.stop = new boolean[bytes.length];
        for (int id : stopIds) {
            if (id < 0 || id >= bytes.length) {
                throw new IllegalArgumentException("stop token id " + id + " outside the vocabulary of "
                        + bytes.length);
            }
            stop[id] = true;
            bytes[id] = null;
        }
        this.trie = new TokenTrie(bytes);
    }

    /**
     * Reads {@code tokenizer.json}; {@code vocabSize} is the model's logits length ({@code vocab_size}), which may
     * exceed the tokenizer's ids (padding rows are never allowed).
     */
    public static TokenVocabulary fromTokenizerJson(Path tokenizerJson, int[] stopTokenIds, int vocabSize) {
        TokenizerVocabulary vocabulary = TokenizerVocabulary.read(tokenizerJson);
        if (vocabulary.size() > vocabSize) {
            throw new IllegalArgumentException("tokenizer " + tokenizerJson + " has ids up to "
                    + (vocabulary.size() - 1) + " but the model's vocab_size is " + vocabSize);
        }
        boolean byteLevel = isByteLevel(vocabulary);
        byte[][] bytes = new byte[vocabSize][];
        for (Map.Entry<String, Integer> e : vocabulary.ids().entrySet()) {
            int id = e.getValue();
            if (vocabulary.isAdded(id)) {
                if (!vocabulary.isSpecial(id)) {
                    bytes[id] = e.getKey().getBytes(StandardCharsets.UTF_8);
                }
            } else {
                bytes[id] = byteLevel ? ByteLevelAlphabet.decode(e.getKey()) : sentencePieceBytes(e.getKey());
            }
        }
        return new TokenVocabulary(bytes, stopTokenIds);
    }

    /** A vocabulary given directly as each id's bytes (null: never allowed). */
    static TokenVocabulary of(byte[][] tokenBytes, int[] stopTokenIds) {
        return new TokenVocabulary(tokenBytes.clone(), stopTokenIds);
    }

    private static boolean isByteLevel(TokenizerVocabulary vocabulary) {
        for (Map.Entry<String, Integer> e : vocabulary.ids().entrySet()) {
            if (!vocabulary.isAdded(e.getValue()) && ByteLevelAlphabet.decode(e.getKey()) == null) {
                return false;
            }
        }
        return true;
    }

    private static byte[] sentencePieceBytes(String token) {
        if (token.length() == 6 && token.startsWith("<0x") && token.endsWith(">")) {
            try {
                return new byte[] {(byte) Integer.parseInt(token.substring(3, 5), 16)};
            } catch (NumberFormatException e) {
                // an ordinary token that looks like one
            }
        }
        return token.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
    }

    /** The model's vocab_size: the length of logits and of the bitmask. */
    public int size() {
        return bytes.length;
    }

    /** The token's bytes, or null when it has none (stop, special and padding ids). */
    byte[] bytes(int id) {
        return id >= 0 && id < bytes.length ? bytes[id] : null;
    }

    boolean isStop(int id) {
        return id >= 0 && id < stop.length && stop[id];
    }

    int[] stopIds() {
        return stopIds.clone();
    }

    TokenTrie trie() {
        return trie;
    }

    @Override
    public String toString() {
        return "TokenVocabulary[" + bytes.length + " ids, stop " + Arrays.toString(stopIds) + "]";
    }

    /** GPT-2's byte-to-unicode table, inverted. */
    static final class ByteLevelAlphabet {
        private static final int[] BYTE_OF_CHAR = new int[512];

        static {
            Arrays.fill(BYTE_OF_CHAR, -1);
            int n = 0;
            for (int b = 0; b < 256; b++) {
                boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
                int ch = printable ? b : 256 + n++;
                BYTE_OF_CHAR[ch] = b;
            }
        }

        private ByteLevelAlphabet() { }

        /** The bytes a byte-level token spells, or null when it uses a character outside the alphabet. */
        static byte[] decode(String token) {
            byte[] out = new byte[token.length()];
            for (int i = 0; i < token.length(); i++) {
                char c = token.charAt(i);
                int b = c < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[c] : -1;
                if (b < 0) {
                    return null;
                }
                out[i] = (byte) b;
            }
            return out;
        }
    }
}

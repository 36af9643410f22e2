package org.autoglm.models.tokenizer;

import java.util.Arrays;

/**
 * Turns one sequence's generated ids into text deltas as they arrive, never splitting a UTF-8 character.
 *
 * <p>Byte-level tokens often carry part of a character (a Chinese character is three bytes, frequently
 * spread over two or three tokens). Decoding such a prefix yields U+FFFD at the tail, so text ending in
 * U+FFFD is held back until a later token completes it, or until {@link #flush()} (when the bytes really
 * were invalid; the full decode shows U+FFFD there too). This is vLLM's and TGI's prefix-offset scheme.
 *
 * <p>Each {@link #push} decodes only a short window of recent tokens: once the window grows past
 * {@link #SLIDE_AFTER} tokens it is cut to its last {@link #CONTEXT_TOKENS}, after checking that those
 * decode to exactly the tail of the window's text (so no character straddles the cut). Cost per token is
 * therefore constant, not proportional to the sequence length.
 *
 * <p>Not thread-safe; one per sequence.
 */
public final class StreamingDetokenizer {

    /** Tokens kept as left context when the window slides; more than a 4-byte character can span. */
    static final int CONTEXT_TOKENS = 6;
    /** Window length (tokens) at which it slides. */
    static final int SLIDE_AFTER = 24;

    private static final char REPLACEMENT = '\uFFFD';

    private final GlmTokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private int[] ids = new int[32];
    private int length;
    /** First token of the decode window. */
    private int windowStart;
    /** Characters of the window's decoded text already returned. */
    private int emitted;
    private int pushed;

    public StreamingDetokenizer(GlmTokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /** Adds one generated token; returns the text that became final with it (often empty, never broken). */
    public String push(int tokenId) {
        if (length == ids.length) {
            ids = Arrays.copyOf(ids, length * 2);
        }
        ids[length++] = tokenId;
        pushed++;
        String text = tokenizer.decode(ids, windowStart, length, skipSpecialTokens);
        int stable = withoutTrailingReplacements(text);
        String delta = stable > emitted ? text.substring(emitted, stable) : "";
        emitted = Math.max(emitted, stable);
        if (length - windowStart > SLIDE_AFTER) {
            slideWindow(text);
        }
        return delta;
    }

    /** Returns whatever is still held back (an incomplete character at the very end decodes as U+FFFD). */
    public String flush() {
        String text = tokenizer.decode(ids, windowStart, length, skipSpecialTokens);
        String rest = text.length() > emitted ? text.substring(emitted) : "";
        emitted = text.length();
        return rest;
    }

    /** Number of tokens pushed so far. */
    public int tokenCount() {
        return pushed;
    }

    private void slideWindow(String windowText) {
        int newStart = length - CONTEXT_TOKENS;
        String tail = tokenizer.decode(ids, newStart, length, skipSpecialTokens);
        int dropped = windowText.length() - tail.length();
        // Only cut where the tail decodes on its own to the same characters, and only text already returned.
        if (dropped >= 0 && dropped <= emitted && windowText.endsWith(tail)) {
            emitted -= dropped;
            windowStart = newStart;
            if (windowStart > ids.length / 2) {
                compact();
            }
        }
    }

    /** Drops ids before the window so the buffer stays small on long generations. */
    private void compact() {
        int keep = length - windowStart;
        System.arraycopy(ids, windowStart, ids, 0, keep);
        length = keep;
        windowStart = 0;
    }

    private static int withoutTrailingReplacements(String text) {
        int end = text.length();
        while (end > 0 && text.charAt(end - 1) == REPLACEMENT) {
            end--;
        }
        return end;
    }
}

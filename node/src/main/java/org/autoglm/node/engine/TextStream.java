package org.autoglm.node.engine;

import org.autoglm.models.sampling.SamplingParams;
import org.autoglm.models.sampling.StopStringMatcher;
import org.autoglm.models.tokenizer.GlmTokenizer;

/**
 * Turns one request's output tokens into final text: UTF-8 safe detokenization plus stop strings (text
 * that might be the start of a stop string is held back until it is known not to be one).
 */
public interface TextStream {

    /** Adds a generated token; returns the text that became final (possibly empty). */
    String push(int tokenId);

    /** Whether a stop string has matched; the text before it has been returned, nothing after it will be. */
    boolean stopped();

    /** The output ended: returns any text still held back (empty after a stop string matched). */
    String flush();

    /** Makes the text stream of a new request. */
    @FunctionalInterface
    interface Factory {
        TextStream create(SamplingParams params);

        /** Detokenizes with the model's tokenizer (special tokens skipped) and applies the request's stop strings. */
        static Factory of(GlmTokenizer tokenizer) {
            return params -> new TokenizerTextStream(tokenizer.newDetokenizer(), new StopStringMatcher(params.stop()));
        }

        /** No tokenizer: deltas carry token ids and empty text; stop strings are not applied. */
        Factory NONE = params -> new TextStream() {
            @Override
            public String push(int tokenId) {
                return "";
            }

            @Override
            public boolean stopped() {
                return false;
            }

            @Override
            public String flush() {
                return "";
            }
        };
    }
}

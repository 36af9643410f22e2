package org.autoglm.node.engine;

import org.autoglm.models.sampling.StopStringMatcher;
import org.autoglm.models.tokenizer.StreamingDetokenizer;

/** A request's output text: the model tokenizer's streaming detokenizer, then its stop strings. */
final class TokenizerTextStream implements TextStream {

    private final StreamingDetokenizer detokenizer;
    private final StopStringMatcher stops;

    TokenizerTextStream(StreamingDetokenizer detokenizer, StopStringMatcher stops) {
        this.detokenizer = detokenizer;
        this.stops = stops;
    }

    @Override
    public String push(int tokenId) {
        return stops.feed(detokenizer.push(tokenId)).text();
    }

    @Override
    public boolean stopped() {
        return stops.stopped();
    }

    @Override
    public String flush() {
        // The detokenizer's held-back bytes may still complete a stop string.
        String text = stops.feed(detokenizer.flush()).text();
        return stops.stopped() ? text : text + stops.flush();
    }
}

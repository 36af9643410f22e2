package org.autoglm.models.sampling;

import java.util.List;

/**
 * Finds stop strings in streamed text. Text that could still be the start of a stop string is held back
 * until the next delta decides it; once a stop string appears, the text before it is released and the
 * stop string and everything after it are dropped. A stop string split across deltas still matches.
 *
 * <p>Not thread-safe; one per sequence.
 */
public final class StopStringMatcher {

    /** Text that may be released, and the stop string that ended the stream (null while none has). */
    public record Match(String text, String stop) {
        public boolean stopped() {
            return stop != null;
        }
    }

    private final List<String> stops;
    private String held = "";
    private boolean stopped;

    /** @param stops the stop strings; empty strings are ignored */
    public StopStringMatcher(List<String> stops) {
        this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
    }

    /** Feeds the next piece of text; returns what can be released now. Nothing is released after a stop. */
    public Match feed(String delta) {
        if (stopped) {
            return new Match("", null);
        }
        String buffer = held + delta;
        int earliest = -1;
        String matched = null;
        for (String stop : stops) {
            int at = buffer.indexOf(stop);
            if (at >= 0 && (earliest < 0 || at < earliest)) {
                earliest = at;
                matched = stop;
            }
        }
        if (matched != null) {
            stopped = true;
            held = "";
            return new Match(buffer.substring(0, earliest), matched);
        }
        int hold = longestSuffixStartingAStop(buffer);
        held = buffer.substring(buffer.length() - hold);
        return new Match(buffer.substring(0, buffer.length() - hold), null);
    }

    /** At the end of the stream: releases what was held back (it never became a stop string). */
    public String flush() {
        String rest = stopped ? "" : held;
        held = "";
        return rest;
    }

    public boolean stopped() {
        return stopped;
    }

    /** Length of the longest suffix of {@code text} that is a proper prefix of some stop string. */
    private int longestSuffixStartingAStop(String text) {
        int best = 0;
        for (String stop : stops) {
            for (int k = Math.min(stop.length() - 1, text.length()); k > best; k--) {
                if (text.regionMatches(text.length() - k, stop, 0, k)) {
                    best = k;
                    break;
                }
            }
        }
        return best;
    }
}

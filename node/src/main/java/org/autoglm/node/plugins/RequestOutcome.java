package org.autoglm.node.plugins;

import java.time.Duration;
import java.util.List;

/**
 * How a request ended, for plugins.
 *
 * @param status           HTTP status sent (200 for a stream that started, even if a choice failed later)
 * @param finishReasons    per choice: {@code stop}, {@code length}, {@code cancelled}, {@code error},
 *                         {@code content_filter}; empty if nothing ran
 * @param promptTokens     prompt tokens (summed over choices)
 * @param completionTokens generated tokens (summed over choices)
 * @param latency          from receipt to the last byte
 * @param error            the error message sent, or null
 */
public record RequestOutcome(
        int status,
        List<String> finishReasons,
        int promptTokens,
        int completionTokens,
        Duration latency,
        String error) {

    public RequestOutcome {
        finishReasons = List.copyOf(finishReasons);
    }
}

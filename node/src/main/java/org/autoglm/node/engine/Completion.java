package org.autoglm.node.engine;

/**
 * How a request ended.
 *
 * @param reason           why it stopped
 * @param promptTokens     prompt length in tokens
 * @param completionTokens generated tokens delivered
 * @param error            a message for the client when {@code reason} is {@link FinishReason#ERROR}, else null
 * @param unavailable      the error says only that the cluster could not finish it now (the client's node is
 *                         rejoining its grid, shutting down, or cut off from the majority): sent again, it runs; the
 *                         API answers 503 with {@code Retry-After}, not 500
 */
public record Completion(FinishReason reason, int promptTokens, int completionTokens, String error,
                         boolean unavailable) {

    public Completion(FinishReason reason, int promptTokens, int completionTokens, String error) {
        this(reason, promptTokens, completionTokens, error, false);
    }
}

package org.autoglm.node.engine;

/**
 * How a request ended.
 *
 * @param reason           why it stopped
 * @param promptTokens     prompt length in tokens
 * @param completionTokens generated tokens delivered
 * @param error            a message for the client when {@code reason} is {@link FinishReason#ERROR}, else null
 */
public record Completion(FinishReason reason, int promptTokens, int completionTokens, String error) {}

package org.autoglm.node.engine;

/** Why a request stopped: the OpenAI {@code finish_reason} values plus ours. */
public enum FinishReason {
    /** End-of-sequence token or a stop string. */
    STOP,
    /** max_tokens or the context length reached. */
    LENGTH,
    /** Cancelled by the client, an operator or a deadline. */
    CANCELLED,
    /** Failed; {@link Completion#error()} says why. */
    ERROR;

    /** The wire value: {@code stop}, {@code length}, {@code cancelled}, {@code error}. */
    public String wire() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}

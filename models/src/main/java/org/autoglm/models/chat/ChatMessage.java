package org.autoglm.models.chat;

import java.util.List;
import java.util.Objects;

/**
 * One turn of a conversation, as the OpenAI API and the checkpoint's chat template see it.
 *
 * @param role       {@code system}, {@code user}, {@code assistant}, {@code tool}, {@code observation}, ...
 * @param content    the text of the turn ({@code ""} for an assistant turn that only calls tools)
 * @param toolCalls  the calls an assistant turn made, in order; empty otherwise
 * @param toolCallId for a {@code tool} turn, the id of the call it answers; else null
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public ChatMessage(String role, String content) {
        this(role, content, List.of(), null);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage("system", content);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage("user", content);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage("assistant", content);
    }
}

package org.autoglm.node.session;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import org.autoglm.models.chat.ToolCall;

/**
 * One chat message: {@code system}, {@code user}, {@code assistant}, {@code tool}, ... and its text; an assistant
 * turn may carry the tool calls it made, a tool turn the id of the call it answers.
 */
public record Message(String role, String content, List<ToolCall> toolCalls, String toolCallId) implements Serializable {

    public Message {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public Message(String role, String content) {
        this(role, content, List.of(), null);
    }

    public boolean isSystem() {
        return "system".equals(role);
    }

    /** The same turn with other text. */
    public Message withContent(String text) {
        return new Message(role, text, toolCalls, toolCallId);
    }
}

package org.autoglm.models.chat;

import java.io.Serializable;
import java.util.Objects;

/**
 * One function call of an assistant turn, in OpenAI's shape.
 *
 * @param id        the call's id ({@code call_...}), which the {@code tool} turn answering it names
 * @param name      the function's name
 * @param arguments the arguments as a JSON object text (OpenAI sends them as a string)
 */
public record ToolCall(String id, String name, String arguments) implements Serializable {

    public ToolCall {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(arguments, "arguments");
    }
}

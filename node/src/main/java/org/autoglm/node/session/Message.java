package org.autoglm.node.session;

import java.io.Serializable;
import java.util.Objects;

/** One chat message: {@code system}, {@code user}, {@code assistant}, ... and its text. */
public record Message(String role, String content) implements Serializable {

    public Message {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    public boolean isSystem() {
        return "system".equals(role);
    }
}

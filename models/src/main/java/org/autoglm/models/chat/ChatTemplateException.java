package org.autoglm.models.chat;

/**
 * A conversation the chat template refuses (its {@code raise_exception}, e.g. roles that do not alternate)
 * or cannot render. Caused by the request, so the HTTP layer answers 400 with this message.
 */
public class ChatTemplateException extends IllegalArgumentException {
    public ChatTemplateException(String message) {
        super(message);
    }

    public ChatTemplateException(String message, Throwable cause) {
        super(message, cause);
    }
}

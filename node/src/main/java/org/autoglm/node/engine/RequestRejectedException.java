package org.autoglm.node.engine;

/** A request refused at submission; nothing was started. The HTTP layer maps {@link Kind} to a status. */
public class RequestRejectedException extends Exception {

    /** Why: decides the HTTP status and whether a retry can help. */
    public enum Kind {
        /** Waiting queue full: retry later (429 with Retry-After). */
        OVERLOADED,
        /** Prompt + max_tokens beyond the context, or a prompt that cannot fit in the KV cache (400). */
        TOO_LONG,
        /** Bad parameters (400). */
        INVALID,
        /** The model is still loading or the node is draining (503). */
        UNAVAILABLE
    }

    private final Kind kind;

    public RequestRejectedException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }

    public boolean retryable() {
        return kind == Kind.OVERLOADED || kind == Kind.UNAVAILABLE;
    }
}

package org.autoglm.node.workflow;

/** A template (or run params) that cannot be accepted: the JSON pointer of the offending value and why. */
public final class TemplateException extends RuntimeException {

    private final String pointer;

    TemplateException(String pointer, String message) {
        super(message, null, false, false);
        this.pointer = pointer;
    }

    /** The JSON pointer of what is wrong ({@code ""} for the whole document). */
    public String pointer() {
        return pointer;
    }
}

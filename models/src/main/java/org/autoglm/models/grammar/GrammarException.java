package org.autoglm.models.grammar;

/**
 * A grammar the caller wrote that we cannot compile or cannot enforce exactly. The message says what and where;
 * {@link #keyword()} and {@link #pointer()} let an HTTP layer answer 400 naming the JSON Schema keyword and its
 * JSON pointer.
 */
public final class GrammarException extends RuntimeException {

    private final String keyword;
    private final String pointer;

    public GrammarException(String message, String keyword, String pointer) {
        super(message);
        this.keyword = keyword;
        this.pointer = pointer == null ? "" : pointer;
    }

    public GrammarException(String message) {
        this(message, null, "");
    }

    /** A JSON Schema keyword such as {@code patternProperties}, or null when the failure is not about one. */
    public String keyword() {
        return keyword;
    }

    /** A JSON pointer into the schema ({@code /properties/a}), or "" for regex, EBNF and the schema root. */
    public String pointer() {
        return pointer;
    }

    static GrammarException schema(String keyword, String pointer, String why) {
        return new GrammarException("JSON Schema keyword '" + keyword + "' at '" + pointer + "' " + why,
                keyword, pointer);
    }
}

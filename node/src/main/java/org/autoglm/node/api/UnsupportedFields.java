package org.autoglm.node.api;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Request fields that would change what the client gets back and that this server cannot honour: each is refused
 * with a 400 naming it, never silently ignored. ({@code response_format}, {@code tools} and {@code tool_choice} are
 * honoured, see {@link StructuredRequestParser}; their deprecated forms {@code functions} and {@code function_call}
 * are refused here unless they ask for nothing.)
 */
final class UnsupportedFields {

    private UnsupportedFields() {}

    /** Fields of chat completions only. */
    static void refuseChat(Params p) {
        for (String field : new String[] {"functions"}) { // the legacy form of tools: send 'tools' instead
            JsonNode tools = p.node(field);
            if (tools != null && !(tools.isArray() && tools.isEmpty())) {
                throw ApiError.invalid(field, "'" + field + "' (the deprecated form of 'tools') is not supported;"
                        + " send the functions in 'tools'.");
            }
        }
        for (String field : new String[] {"function_call"}) { // the legacy form of tool_choice
            JsonNode choice = p.node(field);
            if (choice != null && !(choice.isTextual() && choice.textValue().equals("none"))) {
                throw ApiError.invalid(field, "'" + field + "' (the deprecated form of 'tool_choice') is not supported;"
                        + " use 'tool_choice'.");
            }
        }
    }

    /** Fields of text completions only. */
    static void refuseCompletion(Params p) {
        if (p.bool("echo", false)) {
            throw ApiError.invalid("echo", "'echo' is not supported.");
        }
        if (p.has("suffix") && !p.string("suffix", "").isEmpty()) {
            throw ApiError.invalid("suffix", "'suffix' is not supported: these models do not fill in the middle.");
        }
        if (p.has("best_of") && p.integer("best_of", 1, 1, RequestParser.MAX_N) != p.integer("n", 1, 1, RequestParser.MAX_N)) {
            throw ApiError.invalid("best_of", "'best_of' is not supported; use 'n' for several completions.");
        }
    }
}

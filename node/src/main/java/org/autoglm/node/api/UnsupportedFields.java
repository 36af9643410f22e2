package org.autoglm.node.api;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Request fields that would change what the client gets back and that this server cannot honour yet: each is
 * refused with a 400 naming it, never silently ignored. The one place to edit when a capability lands (structured
 * output takes {@code response_format} off this list, tool calls {@code tools} and {@code tool_choice}). A value that
 * asks for nothing ({@code {"type": "text"}}, an empty {@code tools} list, {@code tool_choice: "none"}) is accepted.
 */
final class UnsupportedFields {

    private UnsupportedFields() {}

    /** Fields of both chat and text completions. */
    static void refuseCommon(Params p) {
        JsonNode format = p.node("response_format");
        if (format != null && !(format.isObject() && "text".equals(format.path("type").asText()))) {
            throw ApiError.invalid("response_format", "'response_format' is not supported yet: this server cannot"
                    + " constrain its output to JSON or a schema. Remove it (or send {\"type\": \"text\"}).");
        }
    }

    /** Fields of chat completions only. */
    static void refuseChat(Params p) {
        refuseCommon(p);
        for (String field : new String[] {"tools", "functions"}) {
            JsonNode tools = p.node(field);
            if (tools != null && !(tools.isArray() && tools.isEmpty())) {
                throw ApiError.invalid(field, "'" + field + "' is not supported yet: this server does not make tool"
                        + " calls. Remove it.");
            }
        }
        for (String field : new String[] {"tool_choice", "function_call"}) {
            JsonNode choice = p.node(field);
            if (choice != null && !(choice.isTextual() && choice.textValue().equals("none"))) {
                throw ApiError.invalid(field, "'" + field + "' is not supported yet: this server does not make tool"
                        + " calls. Remove it (or send \"none\").");
            }
        }
    }

    /** Fields of text completions only. */
    static void refuseCompletion(Params p) {
        refuseCommon(p);
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
